"""Run the Fashion-MNIST kNN benchmark: every (peer, metric, dtype) in its own process,
several repeats each, then print one table of medians and ratios.

    python bench/report.py [--repeat 3] [--quick] [--json out.json]

Fashion-MNIST: 10k queries x 60k train x 784 features, k=5.  The slow L1 peers (torch
cdist p=1, scikit-learn manhattan) run on the first 1000 queries, and imgclf is timed on
the same 1000 for their ratios.  faiss runs twice, with and without
OPENBLAS_CORETYPE=SkylakeX, and its faster setting counts (peers at their best).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run(peer, metric, dtype, queries, repeat, env_extra=None):
    env = dict(os.environ)
    env.update(env_extra or {})
    cmd = [sys.executable, os.path.join(HERE, "peers.py"), peer, metric, dtype,
           "--queries", str(queries), "--repeat", str(repeat)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        print(f"  {peer} {metric} {dtype}: failed: {out.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    r = json.loads(out.stdout.strip().splitlines()[-1])
    r["env"] = env_extra or {}
    print(f"  {peer:8} {metric} {dtype:8} q={queries:5} median {r['median']:8.3f}s  acc {r['accuracy']:.4f}"
          f"  {r['env'] or ''}", file=sys.stderr, flush=True)
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="1000 queries everywhere, 1 repeat")
    ap.add_argument("--json")
    a = ap.parse_args()
    full = 1000 if a.quick else 10000
    rep = 1 if a.quick else a.repeat
    res = {}
    skx = {"OPENBLAS_CORETYPE": "SkylakeX"}
    for metric, dtype in [("l2", "float32"), ("l2", "uint8"), ("l1", "float32"), ("l1", "uint8")]:
        res[("imgclf", metric, dtype, full)] = run("imgclf", metric, dtype, full, rep)
        res[("imgclf", metric, dtype, 1000)] = (res[("imgclf", metric, dtype, full)] if full == 1000
                                               else run("imgclf", metric, dtype, 1000, rep))
    for metric in ("l2", "l1"):
        a1 = run("faiss", metric, "float32", full, rep)
        a2 = run("faiss", metric, "float32", full, rep, skx)
        cands = [r for r in (a1, a2) if r]
        res[("faiss", metric, "float32", full)] = min(cands, key=lambda r: r["median"]) if cands else None
    res[("torch", "l2", "float32", full)] = run("torch", "l2", "float32", full, rep)
    res[("numpy", "l2", "float32", full)] = run("numpy", "l2", "float32", full, rep)
    res[("sklearn", "l2", "float32", full)] = run("sklearn", "l2", "float32", full, rep)
    res[("torch", "l1", "float32", 1000)] = run("torch", "l1", "float32", 1000, 1)
    res[("sklearn", "l1", "float32", 1000)] = run("sklearn", "l1", "float32", 1000, 1)

    def t(*key):
        r = res.get(key)
        return r["median"] if r else float("nan")

    rows = []
    for metric, dtype in [("l2", "float32"), ("l2", "uint8"), ("l1", "float32"), ("l1", "uint8")]:
        mine_full, mine_1k = t("imgclf", metric, dtype, full), t("imgclf", metric, dtype, 1000)
        for peer in ("faiss", "torch", "numpy", "sklearn"):
            if (peer, metric, "float32", full) in res:
                q, theirs, mine = full, t(peer, metric, "float32", full), mine_full
            elif (peer, metric, "float32", 1000) in res:
                q, theirs, mine = 1000, t(peer, metric, "float32", 1000), mine_1k
            else:
                continue
            env = (res.get((peer, metric, "float32", q)) or {}).get("env") or ""
            rows.append((f"{metric} {dtype}", peer + (" (OPENBLAS_CORETYPE=SkylakeX)" if env else ""),
                         q, mine, theirs, theirs / mine))
    print("| imgclf kernel | peer (float32) | queries | imgclf s | peer s | speedup |")
    print("|---|---|---:|---:|---:|---:|")
    for name, peer, q, mine, theirs, ratio in rows:
        print(f"| {name} | {peer} | {q} | {mine:.2f} | {theirs:.2f} | {ratio:.1f}x |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump([dict(zip(("peer", "metric", "dtype", "queries"), k), **(v or {})) for k, v in res.items()],
                      f, indent=1)


if __name__ == "__main__":
    main()
