"""Run the training benchmarks: every (task, peer) in its own process, then one table of
medians and ratios.

    python bench/train_report.py [--repeat 5] [--rounds 3]

Each (task, peer) process times --repeat runs after a warm-up and reports the median; the
whole set runs --rounds times, interleaved, and the table shows the median over rounds
(the machine is shared and noisy).  Tasks: one epoch of softmax / SVM training on
Fashion-MNIST (60k x 784, batch 256), one epoch of the 784-256-10 network, one optimizer
step over 10M float32 parameters.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PLAN = [
    ("softmax-epoch", ["imgclf", "numpy", "torch", "sklearn"], [("numpy", 3.0), ("torch", 5.0)]),
    ("svm-epoch", ["imgclf", "numpy", "torch"], [("numpy", 3.0), ("torch", 5.0)]),
    ("net-epoch", ["imgclf", "torch"], [("torch", 1.5)]),
    ("adam", ["imgclf", "torch-fused", "torch-foreach", "numpy"], [("torch-fused", 1.0), ("torch-foreach", 5.0)]),
    ("sgd", ["imgclf", "torch-fused", "numpy"], [("torch-fused", 1.0)]),
    ("momentum", ["imgclf", "torch-fused", "numpy"], [("torch-fused", 1.0)]),
    ("rmsprop", ["imgclf", "torch-foreach", "numpy"], [("torch-foreach", 1.0)]),
]


def run(task, peer, repeat):
    out = subprocess.run([sys.executable, os.path.join(HERE, "train_peers.py"), task, peer, "--repeat",
                          str(repeat)], capture_output=True, text=True)
    if out.returncode != 0:
        print(f"  {task} {peer}: failed: {out.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    r = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"  {task:14} {peer:14} {r['median'] * 1e3:9.2f} ms", file=sys.stderr, flush=True)
    return r["median"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", default=None)
    ap.add_argument("--tasks", default=None, help="comma-separated subset of the tasks")
    a = ap.parse_args()
    plan = [p for p in PLAN if a.tasks is None or p[0] in a.tasks.split(",")]
    times = {}
    for _ in range(a.rounds):
        for task, peers, _ in plan:
            for p in peers:
                t = run(task, p, a.repeat)
                if t is not None:
                    times.setdefault((task, p), []).append(t)
    med = {k: statistics.median(v) for k, v in times.items()}
    print("\n| task | imgclf ms | peer | peer ms | ratio | target |")
    print("|---|---:|---|---:|---:|---|")
    for task, peers, targets in plan:
        mine = med.get((task, "imgclf"))
        for p in peers[1:]:
            other = med.get((task, p))
            if mine is None or other is None:
                continue
            tgt = dict(targets).get(p)
            ok = "" if tgt is None else (f">= {tgt}x: {'met' if other / mine >= tgt else 'missed'}")
            print(f"| {task} | {mine * 1e3:.2f} | {p} | {other * 1e3:.2f} | {other / mine:.2f}x | {ok} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({f"{t}/{p}": v for (t, p), v in times.items()}, f, indent=1)


if __name__ == "__main__":
    main()
