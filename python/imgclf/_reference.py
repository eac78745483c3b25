"""NumPy reference of every imgclf op: the specification the compiled kernels must meet.

Written against an array module ``xp`` (NumPy, or CuPy when given CuPy arrays), so the
same code also runs on a GPU when the CUDA module is missing.  Favoured: clarity and
exactness over speed.  Inputs arrive already validated by :mod:`imgclf.ops`.
"""
from __future__ import annotations

import numpy as np

__all__ = ["get_xp", "pairwise_distances", "knn", "vote", "distance_dtype"]


def get_xp(a):
    """The array module (numpy or cupy) that owns ``a``."""
    mod = type(a).__module__
    if mod.startswith("cupy"):
        import cupy

        return cupy
    return np


def distance_dtype(dtype, metric):
    """Result dtype of a distance: float32 -> float32, float64 -> float64; uint8 gives exact
    int32 for "l1" and "sqeuclidean" and float64 for "l2" (the square root of an exact
    integer, correctly rounded)."""
    dtype = np.dtype(dtype)
    if dtype == np.uint8:
        return np.dtype(np.float64) if metric == "l2" else np.dtype(np.int32)
    return dtype


def _chunk_rows(n_train, d, budget=1 << 26):
    return max(1, budget // max(1, 8 * n_train * max(1, d)))


def _exact_block(Xc, Y, metric, xp):
    """float64 distances of a block of queries to all of Y (sqeuclidean or l1)."""
    if metric == "sqeuclidean" and Xc.dtype == np.uint8:
        # the norms identity is exact on integers below 2^53, and fast (one GEMM)
        Xf, Yf = Xc.astype(xp.float64), Y.astype(xp.float64)
        D = (Xf * Xf).sum(axis=1)[:, None] + (Yf * Yf).sum(axis=1)[None, :] - 2.0 * (Xf @ Yf.T)
        return xp.maximum(D, 0.0)
    # floats: differences first, so no cancellation between large norms
    Yf = Y.astype(xp.float64)
    out = xp.empty((Xc.shape[0], Y.shape[0]), dtype=xp.float64)
    for i in range(Xc.shape[0]):
        diff = Yf - Xc[i].astype(xp.float64)
        out[i] = xp.abs(diff).sum(axis=1) if metric == "l1" else (diff * diff).sum(axis=1)
    return out


def _finish(D, dtype, metric, xp):
    if np.dtype(dtype) == np.uint8:
        D = xp.rint(D)  # exact integers
        if metric == "l2":
            return xp.sqrt(D)
        return D.astype(xp.int32)
    if metric == "l2":
        D = xp.sqrt(D)
    return D.astype(dtype)


def pairwise_distances(X, Y, metric="l2"):
    """Full (n_X, n_Y) distance matrix.  metric: "l1", "l2" or "sqeuclidean"."""
    xp = get_xp(X)
    base = "l1" if metric == "l1" else "sqeuclidean"
    out = xp.empty((X.shape[0], Y.shape[0]), dtype=distance_dtype(X.dtype, metric))
    step = _chunk_rows(Y.shape[0], X.shape[1])
    for s in range(0, X.shape[0], step):
        D = _exact_block(X[s : s + step], Y, base, xp)
        out[s : s + step] = _finish(D, X.dtype, metric, xp)
    return out


def knn(queries, train, k, metric="l2"):
    """k nearest training rows of each query: (distances, indices), each (n_queries, k),
    every row ordered by (distance, training index)."""
    xp = get_xp(queries)
    base = "l1" if metric == "l1" else "sqeuclidean"
    nq = queries.shape[0]
    dist = xp.empty((nq, k), dtype=distance_dtype(queries.dtype, metric))
    idx = xp.empty((nq, k), dtype=xp.int64)
    step = _chunk_rows(train.shape[0], queries.shape[1])
    for s in range(0, nq, step):
        D = _exact_block(queries[s : s + step], train, base, xp)
        if queries.dtype == np.uint8:
            D = xp.rint(D)
        # a stable sort keeps equal distances in training-index order
        order = xp.argsort(D, axis=1, kind="stable")[:, :k]
        dist[s : s + step] = _finish(xp.take_along_axis(D, order, axis=1), queries.dtype, metric, xp)
        idx[s : s + step] = order
    return dist, idx


def vote(neighbor_labels, n_classes, distances=None, weights="uniform", tie_break="nearest"):
    """Vote over each query's neighbour labels (columns ordered nearest first).

    Returns (labels, scores): int64 (n,) and float64 (n, n_classes).  weights "uniform"
    gives each neighbour 1; "distance" gives 1/d, except that when any neighbour is at
    distance 0 only those exact matches vote.  Ties: "nearest" picks the tied class met
    first in distance order, "smallest" the smallest tied label.
    """
    xp = get_xp(neighbor_labels)
    n, k = neighbor_labels.shape
    w = xp.ones((n, k), dtype=xp.float64)
    if weights == "distance":
        d = distances.astype(xp.float64)
        exact = (d == 0).any(axis=1, keepdims=True)
        with np.errstate(divide="ignore"):
            inv = 1.0 / d
        w = xp.where(exact, (d == 0).astype(xp.float64), inv)
    scores = xp.zeros((n, n_classes), dtype=xp.float64)
    rows = xp.arange(n)
    for t in range(k):  # column by column: the same summation order as the kernels
        scores[rows, neighbor_labels[:, t]] += w[:, t]
    best = scores.max(axis=1, keepdims=True)
    tied = scores == best
    if tie_break == "nearest":
        hit = xp.take_along_axis(tied, neighbor_labels, axis=1)  # (n, k): neighbour in a tied class
        first = xp.argmax(hit, axis=1)
        labels = xp.where(hit.any(axis=1), neighbor_labels[rows, first], xp.argmax(tied, axis=1))
    else:
        labels = xp.argmax(tied, axis=1)
    return labels.astype(xp.int64), scores
