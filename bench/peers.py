"""Time one kNN implementation on Fashion-MNIST in this process and print one JSON line.

    python bench/peers.py PEER METRIC DTYPE [--queries N] [--repeat R] [--k K]

PEER: imgclf | faiss | torch | numpy | sklearn.  METRIC: l2 | l1.  DTYPE: float32 | uint8
(peers other than imgclf take float32).  report.py runs every peer in its own process, so
that two libraries' BLAS and OpenMP runtimes never share one process.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))


def load(nq):
    from imgclf.datasets import load as load_ds

    ds = load_ds("fashion-mnist")
    return ds.X_test.reshape(len(ds.X_test), -1)[:nq], ds.X_train.reshape(len(ds.X_train), -1), ds


def run_imgclf(Q, T, k, metric, dtype):
    from imgclf import ops

    Q, T = Q.astype(dtype), T.astype(dtype)
    return lambda: ops.knn(Q, T, k, "sqeuclidean" if metric == "l2" else "l1")[1]


def run_faiss(Q, T, k, metric, dtype):
    import faiss

    Q, T = Q.astype(np.float32), T.astype(np.float32)
    d = T.shape[1]
    index = faiss.IndexFlatL2(d) if metric == "l2" else faiss.IndexFlat(d, faiss.METRIC_L1)
    index.add(T)
    return lambda: index.search(Q, k)[1]


def run_torch(Q, T, k, metric, dtype):
    import torch

    Qt, Tt = torch.from_numpy(Q.astype(np.float32)), torch.from_numpy(T.astype(np.float32))
    p = 2.0 if metric == "l2" else 1.0

    def f():
        out = []
        with torch.no_grad():
            for s in range(0, len(Qt), 1000):  # chunked so the matrix stays bounded
                D = torch.cdist(Qt[s:s + 1000], Tt, p=p)
                out.append(torch.topk(D, k, largest=False, sorted=True).indices)
        return torch.cat(out).numpy()

    return f


def run_numpy(Q, T, k, metric, dtype):
    Q, T = Q.astype(np.float32), T.astype(np.float32)
    if metric != "l2":
        raise SystemExit("numpy peer: only the no-loop L2 version")
    tn = (T * T).sum(1)

    def f():
        out = []
        for s in range(0, len(Q), 1000):
            q = Q[s:s + 1000]
            D = (q * q).sum(1)[:, None] + tn[None, :] - 2 * q @ T.T
            part = np.argpartition(D, k, axis=1)[:, :k]
            out.append(np.take_along_axis(part, np.argsort(np.take_along_axis(D, part, 1), 1), 1))
        return np.concatenate(out)

    return f


def run_sklearn(Q, T, k, metric, dtype):
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=k, algorithm="brute",
                          metric="euclidean" if metric == "l2" else "manhattan").fit(T.astype(np.float32))
    return lambda: nn.kneighbors(Q.astype(np.float32), return_distance=False)


PEERS = {"imgclf": run_imgclf, "faiss": run_faiss, "torch": run_torch, "numpy": run_numpy,
         "sklearn": run_sklearn}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("peer", choices=sorted(PEERS))
    ap.add_argument("metric", choices=["l2", "l1"])
    ap.add_argument("dtype", choices=["float32", "uint8"])
    ap.add_argument("--queries", type=int, default=10000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--k", type=int, default=5)
    a = ap.parse_args()
    Q, T, ds = load(a.queries)
    f = PEERS[a.peer](Q, T, a.k, a.metric, a.dtype)
    times = []
    for _ in range(a.repeat):
        t = time.perf_counter()
        idx = f()
        times.append(time.perf_counter() - t)
    # accuracy of a plain majority vote, as a sanity check that every peer did the same work
    votes = ds.y_train[np.asarray(idx)]
    pred = np.array([np.bincount(v, minlength=10).argmax() for v in votes])
    acc = float((pred == ds.y_test[: len(Q)]).mean())
    print(json.dumps({"peer": a.peer, "metric": a.metric, "dtype": a.dtype, "queries": len(Q),
                      "k": a.k, "times": times, "median": statistics.median(times), "accuracy": acc}))


if __name__ == "__main__":
    main()
