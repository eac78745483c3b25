"""One training epoch of the 3-layer network (784-256-128-10, Fashion-MNIST, batch 256,
Adam) against its FMA floor: the epoch's multiply-adds divided by the FMA rate this machine
measures (bench/micro/fma_rate.cpp, 256-bit and, where the CPU has AVX-512, 512-bit FMAs:
the higher of the two rates), both on one thread, in CPU time, interleaved round by
round so both see the same machine.

    python bench/nets_epoch.py [--rounds 5] [--activation relu] [--threads 1]
    python bench/nets_epoch.py --compare "OTHER_PYTHON" [--rounds 5]

--compare times the same epoch under another interpreter (another build of imgclf, e.g. a
virtual environment with an older wheel) beside this one: each epoch in its own process,
the two alternating, medians and their ratio, and whether the losses agree bit for bit.

FLOPs counted (2 per multiply-add), per sample: forward x W1, h1 W2, h2 W3; backward the
three weight gradients (the same sizes) and the two hidden-layer input gradients (dh2 =
ds W3^T, dh1 = dh2 W2^T; none for the input).  Everything else (bias + activation, the
loss, Adam, the minibatch gather) is counted as overhead, not as floor.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def epoch_flops(n, d=784, widths=(256, 128), C=10):
    dims = (d,) + tuple(widths) + (C,)
    mults = sum(a * b for a, b in zip(dims[:-1], dims[1:]))
    back_inputs = sum(a * b for a, b in zip(dims[1:-1], dims[2:]))
    return 2 * n * (2 * mults + back_inputs)


def fma_rate(binaries):
    """The highest of the FMA micro-benchmark's median rates over its builds (256- and 512-bit)."""
    rates = []
    for binary in binaries:
        out = subprocess.run([binary], check=True, capture_output=True, text=True).stdout
        rates.append(float(out.split("median")[1].split("GFLOP")[0]))
    return max(rates)


def build_fma_rate():
    """fma_rate.cpp built for 256-bit FMAs and, where this CPU has AVX-512, for 512-bit ones
    (on Zen 4 the 512-bit build measures a few per cent more, and the GEMM reaches it)."""
    src = os.path.join(HERE, "micro", "fma_rate.cpp")
    builds = [("/tmp/imgclf_fma_rate", ["-mavx2", "-mfma"])]
    with open("/proc/cpuinfo") as f:
        if " avx512f" in f.read():
            builds.append(("/tmp/imgclf_fma_rate512", ["-mavx2", "-mfma", "-mavx512f"]))
    for binary, flags in builds:
        subprocess.run(["g++", "-O2", *flags, src, "-o", binary], check=True)
    return [b for b, _ in builds]


def load_data(threads, data_dir):
    """Fashion-MNIST's training set and its preprocessing, on this many threads"""
    import imgclf
    import numpy as np
    from imgclf import datasets
    from imgclf._trained import Preprocess

    imgclf.set_num_threads(threads)
    ds = datasets.load("fashion-mnist", data_dir)
    X = ds.X_train.reshape(len(ds.X_train), -1)
    return X, ds.y_train.astype(np.int64), Preprocess(X, np.float32)


def epoch(X, y, pre, seed, activation):
    """one training epoch of the 3-layer net: (CPU seconds, wall seconds, its Trainer)"""
    import imgclf
    from imgclf.network import NetModel

    m = NetModel(784, (256, 128), 10, reg=1e-4, rng=seed, preprocess=pre, activation=activation)
    t = imgclf.Trainer(m, optimizer="adam", lr=1e-3, batch_size=256, epochs=1, train_acc_samples=1,
                       random_state=seed, progress=False)
    c0, w0 = time.process_time(), time.perf_counter()
    t.fit(X, y)
    return time.process_time() - c0, time.perf_counter() - w0, t


def one_epoch(activation, threads, data_dir):
    """(child process) a warm-up epoch, then one timed: JSON with its CPU time and loss sum"""
    import imgclf
    import numpy as np

    X, y, pre = load_data(threads, data_dir)
    for r in range(2):
        cpu, _, t = epoch(X, y, pre, r, activation)
    print(json.dumps({"cpu": cpu, "loss_sum": float(np.sum(t.history["loss"])), "imgclf": imgclf.__file__}))


def compare(a):
    """this interpreter's epoch against --compare's, alternating processes"""
    this, other = [sys.executable], shlex.split(a.compare)
    runs = {"this": [], "other": []}
    for r in range(a.rounds):
        for name in ("other", "this") if r % 2 == 0 else ("this", "other"):
            cmd = (this if name == "this" else other) + [
                os.path.abspath(__file__), "--one", "--activation", a.activation, "--threads", str(a.threads),
                "--data-dir", a.data_dir]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0 or not proc.stdout.strip():
                sys.exit(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{proc.stderr}")
            runs[name].append(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(f"round {r} {name} ({runs[name][-1]['imgclf']}): {runs[name][-1]['cpu']:.3f} s CPU, "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
    med = {n: statistics.median(x["cpu"] for x in runs[n]) for n in runs}
    same = {x["loss_sum"] for n in runs for x in runs[n]}
    print(f"\n3-layer net ({a.activation}) epoch, median of {a.rounds}: other {med['other']:.3f} s, "
          f"this {med['this']:.3f} s ({med['this'] / med['other']:.2f}x); losses "
          f"{'identical' if len(same) == 1 else 'DIFFER: ' + str(sorted(same))}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--activation", default="relu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data-dir", default=os.environ.get("IMGCLF_DATA", "/usr/share/datasets/fashion-mnist"))
    ap.add_argument("--compare", help="another interpreter (command) to time the same epoch under, alternating")
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # one child epoch
    a = ap.parse_args(argv)
    if a.one:
        return one_epoch(a.activation, a.threads, a.data_dir)
    if a.compare:
        return compare(a)

    binaries = build_fma_rate()
    X, y, pre = load_data(a.threads, a.data_dir)
    flops = epoch_flops(len(X))
    epochs, rates = [], []
    for r in range(a.rounds + 1):  # round 0 warms up (page faults, scratch buffers)
        c, w, _ = epoch(X, y, pre, r, a.activation)
        rate = fma_rate(binaries)
        if r:
            epochs.append((c, w))
            rates.append(rate)
        print(f"round {r}: epoch {c:.3f} s CPU ({w:.3f} s wall), FMA rate {rate:.1f} GFLOP/s per thread, "
              f"load {os.getloadavg()[0]:.1f}", flush=True)
    cpu = statistics.median(e[0] for e in epochs)
    rate = statistics.median(rates)
    floor = flops / (rate * 1e9 * a.threads)
    # each round's epoch against the FMA rate measured right after it: the machine's speed
    # drifts from minute to minute, and a pair measured together drifts together
    paired = statistics.median(e[0] * r * 1e9 / flops for e, r in zip(epochs, rates))
    print(f"\n3-layer net ({a.activation}) epoch: {flops / 1e9:.1f} GFLOP; FMA rate {rate:.1f} GFLOP/s x "
          f"{a.threads} thread(s) -> floor {floor:.3f} s; measured {cpu:.3f} s CPU (median of {a.rounds}) "
          f"= {cpu / (floor * a.threads):.2f}x the floor "
          f"({flops / 1e9 / cpu:.1f} GFLOP/s per CPU second); round by round (epoch x the rate measured "
          f"after it): median {paired:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
