"""One training epoch of the 3-layer network (784-256-128-10, Fashion-MNIST, batch 256,
Adam) against its FMA floor: the epoch's multiply-adds divided by the FMA rate this machine
measures (bench/micro/fma_rate.cpp), both on one thread, in CPU time, interleaved round by
round so both see the same machine.

    python bench/nets_epoch.py [--rounds 5] [--activation relu] [--threads 1]

FLOPs counted (2 per multiply-add), per sample: forward x W1, h1 W2, h2 W3; backward the
three weight gradients (the same sizes) and the two hidden-layer input gradients (dh2 =
ds W3^T, dh1 = dh2 W2^T; none for the input).  Everything else (bias + activation, the
loss, Adam, the minibatch gather) is counted as overhead, not as floor.
"""
from __future__ import annotations

import argparse
import os
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


def fma_rate(binary):
    out = subprocess.run([binary], check=True, capture_output=True, text=True).stdout
    return float(out.split("median")[1].split("GFLOP")[0])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--activation", default="relu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data-dir", default=os.environ.get("IMGCLF_DATA", "/usr/share/datasets/fashion-mnist"))
    a = ap.parse_args(argv)

    binary = "/tmp/imgclf_fma_rate"
    subprocess.run(["g++", "-O2", "-mavx2", "-mfma", os.path.join(HERE, "micro", "fma_rate.cpp"), "-o", binary],
                   check=True)

    import imgclf
    import numpy as np
    from imgclf import datasets
    from imgclf._trained import Preprocess
    from imgclf.network import NetModel

    imgclf.set_num_threads(a.threads)
    ds = datasets.load("fashion-mnist", a.data_dir)
    X = ds.X_train.reshape(len(ds.X_train), -1)
    y = ds.y_train.astype(np.int64)
    flops = epoch_flops(len(X))
    pre = Preprocess(X, np.float32)
    epochs, rates = [], []
    for r in range(a.rounds + 1):  # round 0 warms up (page faults, scratch buffers)
        m = NetModel(784, (256, 128), 10, reg=1e-4, rng=r, preprocess=pre, activation=a.activation)
        t = imgclf.Trainer(m, optimizer="adam", lr=1e-3, batch_size=256, epochs=1, train_acc_samples=1,
                           random_state=r, progress=False)
        c0, w0 = time.process_time(), time.perf_counter()
        t.fit(X, y)
        c, w = time.process_time() - c0, time.perf_counter() - w0
        rate = fma_rate(binary)
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
