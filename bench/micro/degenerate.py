"""The float32 kNN on degenerate data against random data of the same shape: 100000
identical training rows (every distance tied, so no candidate list can be proven from the
float32 pass and every query takes the exact float64 pass) and 100000 random rows.
Median of 3 wall times per case, one process, same thread count.

    python bench/micro/degenerate.py [--queries 200] [--train 100000] [--dim 64]
"""
import argparse
import time

import numpy as np
from imgclf import backend, ops


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--train", type=int, default=100000)
    p.add_argument("--dim", type=int, default=64)
    a = p.parse_args()
    rng = np.random.default_rng(0)
    Q = rng.standard_normal((a.queries, a.dim)).astype(np.float32)
    cases = {
        "random rows": rng.standard_normal((a.train, a.dim)).astype(np.float32),
        "identical rows": np.repeat(rng.standard_normal((1, a.dim)).astype(np.float32), a.train, axis=0),
    }
    print(f"imgclf ops.knn float32 l2, k=5, {a.queries} queries x {a.train} train x {a.dim} features, "
          f"SIMD {backend.simd_level()}, {backend.get_num_threads()} threads")
    res = {}
    for name, Y in cases.items():
        ts = []
        for _ in range(3):
            t = time.perf_counter()
            _, idx = ops.knn(Q, Y, 5, "l2")
            ts.append(time.perf_counter() - t)
        res[name] = float(np.median(ts))
        if name == "identical rows":  # every distance ties: the smallest indices win
            assert (idx == np.arange(5)).all()
        print(f"  {name:15s} {res[name] * 1e3:8.1f} ms")
    print(f"  identical / random: {res['identical rows'] / res['random rows']:.2f}x")


if __name__ == "__main__":
    main()
