"""The knn family: distances between rows, the fused k-nearest-neighbour search, the vote.

Layers: this module -> imgclf._cpu.knn / pairwise_distances / vote (csrc/bindings/cpu/knn.cpp)
-> csrc/cpu/knn_impl.h; imgclf._cuda (csrc/cuda/knn.cu) for CuPy arrays; the spec is
imgclf._reference.knn / pairwise_distances / vote.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _gpu, _reference
from .. import backend as _backend
from .._validation import check_choice, check_int, prepare_pair
from .dispatch import Array, Op, enum

__all__ = ["pairwise_distances", "knn", "vote", "METRICS", "WEIGHTS", "TIE_BREAKS"]

METRICS = ("l1", "l2", "sqeuclidean")
WEIGHTS = ("uniform", "distance")
TIE_BREAKS = ("nearest", "smallest")

PAIRWISE = Op("pairwise_distances")
KNN = Op("knn")
VOTE = Op("vote")


# ---- shared by pairwise_distances and knn -----------------------------------------------------

def _kernel_metric(X, metric):
    """The compiled kernels' metric: uint8 "l2" runs as exact squared L2 (rooted after)."""
    return "sqeuclidean" if X.dtype == np.uint8 and metric == "l2" else metric


def _int32_exact(X, metric):
    """uint8 distances fit the kernels' int32 output (floats always take the kernels)."""
    return X.dtype != np.uint8 or _reference.u8_fits_int32(metric, X.shape[1])


def _finish_l2(sq, metric):
    """Squared L2 from a kernel (uint8's exact integers, CUDA) to "l2": the root, in place
    for floats, in float64 for integers."""
    if metric != "l2":
        return sq
    xp = _reference.get_xp(sq)
    return xp.sqrt(sq, out=sq) if sq.dtype.kind == "f" else xp.sqrt(sq.astype(xp.float64))


def _f64_scale(X, Y, metric):
    """A power of two for float64 data at the edges of the range: below 1 when a squared
    (or summed) distance could overflow, above 1 when every square would underflow; 1.0
    for everything else (and for other dtypes).  Scaling is exact: only exponents change."""
    if X.dtype != np.float64:
        return 1.0
    amax = max(float(X.max()), -float(X.min()), float(Y.max()), -float(Y.min()))
    if amax == 0.0:
        return 1.0
    e = math.frexp(amax)[1]  # amax < 2^e
    log_d = math.log2(X.shape[1])
    # scale down just enough that the largest sum stays below 2^1016; scale tiny data
    # (squares below 2^-800) up to around 1, where no sum can overflow
    top = 1 + e + log_d if metric == "l1" else 2 + 2 * e + log_d  # log2 of the largest sum
    if top >= 1016:
        return math.ldexp(1.0, -math.ceil((top - 1016) / (1 if metric == "l1" else 2)))
    if metric != "l1" and e < -400:
        return math.ldexp(1.0, min(-e, 1000))  # (2^1023 is the largest power of two)
    return 1.0


def _unscale(D, s, metric):
    """Distances of data scaled by s back to the data's units (a squared distance beyond
    float64's range becomes inf).  s*s is never formed: it can overflow by itself."""
    if s == 1.0:
        return D
    with np.errstate(over="ignore", under="ignore"):
        D /= s
        if metric == "sqeuclidean":
            D /= s
    return D


def _pairwise_ranged(run, X, Y, metric):
    """pairwise distances of float64 data at the edges of the range.  Tiny data run scaled
    up (no sum can overflow there).  Data that could overflow run as given, where every
    finite distance is as exact as the kernel makes it (tiny differences keep their bits),
    and only the distances that overflowed come from the scaled-down data."""
    s = _f64_scale(X, Y, metric)
    if s == 1.0:
        return run(X, Y)
    if s > 1.0:
        return _unscale(run(X * s, Y * s), s, metric)
    xp = _reference.get_xp(X)
    with np.errstate(over="ignore"):
        D = run(X, Y)
    over = ~xp.isfinite(D)
    if bool(over.any()):
        D[over] = _unscale(run(X * s, Y * s), s, metric)[over]
    return D


def _knn_ranged(run, X, Y, k, metric):
    """knn of float64 data at the edges of the range (see _pairwise_ranged).  Where a
    query's k nearest include distances that overflowed, all its finite ones are among
    them and come first; the rest are the nearest overflowed rows, ranked by the
    scaled-down data."""
    s = _f64_scale(X, Y, metric)
    if s == 1.0:
        return run(X, Y)
    if s > 1.0:
        dist, idx = run(X * s, Y * s)
        return _unscale(dist, s, metric), idx
    xp = _reference.get_xp(X)
    with np.errstate(over="ignore"):
        dist, idx = run(X, Y)
    finite = xp.isfinite(dist)
    rows = xp.nonzero(~finite.all(axis=1))[0]
    if len(rows) == 0:
        return dist, idx
    d_s, i_s = run(X[rows] * s, Y * s)
    d_s = _unscale(d_s, s, metric)
    host = _gpu.to_host if xp is not np else (lambda a: a)
    rows_h, fin_h, idx_h, i_sh, d_sh = map(host, (rows, finite, idx, i_s, d_s))
    out_i, out_d = idx_h.copy(), host(dist).copy()
    for r, q in enumerate(rows_h.tolist()):
        m = int(fin_h[q].sum())
        keep = set(idx_h[q, :m].tolist())
        pick = [t for t in range(k) if int(i_sh[r, t]) not in keep][: k - m]
        out_i[q, m:] = i_sh[r, pick]
        out_d[q, m:] = d_sh[r, pick]
    return xp.asarray(out_d), xp.asarray(out_i)


def _cuda_takes(X, metric, *args):
    """The CUDA kernels take float32 and uint8 (while int32 stays exact); float64 runs the
    reference with xp=cupy."""
    return X.dtype in (np.dtype(np.float32), np.dtype(np.uint8)) and _int32_exact(X, metric)


def _any_dask(*arrays):
    """Whether any input is a dask array (the "dask" backend takes the op whole)."""
    return any(a is not None and _backend.array_kind(a) == "dask" for a in arrays)


def _out_dtype(X):
    return np.int32 if X.dtype == np.uint8 else X.dtype


# ---- pairwise_distances ---------------------------------------------------------------------------

@PAIRWISE.register("cpu", usable=lambda X, Y, metric: _int32_exact(X, metric))
def _pairwise_cpu(X, Y, metric):
    cpu = _backend.cpu_module()
    out = np.empty((X.shape[0], Y.shape[0]), dtype=_out_dtype(X))
    cpu.pairwise_distances(X, Y, enum(cpu, "Metric", _kernel_metric(X, metric)), out)
    return _finish_l2(out, metric) if X.dtype == np.uint8 else out


@PAIRWISE.register("cuda", usable=lambda X, Y, metric: _cuda_takes(X, metric))
def _pairwise_cuda(X, Y, metric):
    base = "l1" if metric == "l1" else "sqeuclidean"
    return _finish_l2(_gpu.pairwise_distances(X, Y, base), metric)


@PAIRWISE.register("numpy")
def _pairwise_reference(X, Y, metric):
    return _reference.pairwise_distances(X, Y, metric)


@_gpu.accepts_torch
def pairwise_distances(X: Array, Y: Array | None = None, metric: str = "l2", *, backend: str = "auto") -> Array:
    """Distance matrix between the rows of X and the rows of Y (Y defaults to X).

    metric: "l1" (sum of absolute differences), "l2" (Euclidean) or "sqeuclidean".
    Returns an (n_X, n_Y) array (dtype: see :mod:`imgclf.ops`).  This is the one op that
    materializes every distance; use :func:`knn` when only the nearest ones matter.
    Dask arrays give a lazy dask array, block by block (:func:`imgclf.dask.pairwise_distances`).
    The compiled kernel computes each distance directly (no norms identity), so float32
    results carry only float32 rounding of the summed differences (summed in float64 where
    float32 squares could overflow or underflow).
    """
    check_choice(metric, "metric", METRICS)
    if _any_dask(X, Y):
        from .. import dask as _dask  # registers the "dask" backend (ImportError names the extra)

        X, Y = _dask.prepare_pair(X, X if Y is None else Y, "X", "Y")
        return PAIRWISE.run(backend, Y, X, Y, metric, block_backend=backend)
    X, Y = prepare_pair(X, X if Y is None else Y, "X", "Y")
    return _pairwise_ranged(lambda A, B: PAIRWISE.run(backend, A, A, B, metric), X, Y, metric)


# ---- knn --------------------------------------------------------------------------------------------

@KNN.register("cpu", usable=lambda X, Y, k, metric: _int32_exact(X, metric))
def _knn_cpu(X, Y, k, metric):
    cpu = _backend.cpu_module()
    dist = np.empty((X.shape[0], k), dtype=_out_dtype(X))
    idx = np.empty((X.shape[0], k), dtype=np.int64)
    cpu.knn(X, Y, k, enum(cpu, "Metric", _kernel_metric(X, metric)), dist, idx)
    return (_finish_l2(dist, metric) if X.dtype == np.uint8 else dist), idx


@KNN.register("cuda", usable=lambda X, Y, k, metric: _cuda_takes(X, metric) and _gpu.knn_fits(X, Y, k))
def _knn_cuda(X, Y, k, metric):
    dist, idx = _gpu.knn(X, Y, k, "l1" if metric == "l1" else "sqeuclidean")
    return _finish_l2(dist, metric), idx


@KNN.register("numpy")
def _knn_reference(X, Y, k, metric):
    return _reference.knn(X, Y, k, metric)


@_gpu.accepts_torch
def knn(queries: Array, train: Array, k: int, metric: str = "l2", *, backend: str = "auto") -> tuple[Array, Array]:
    """The k nearest training rows of every query.

    Returns ``(distances, indices)``, each (n_queries, k); each row is ordered by
    (distance, training index), so equal distances resolve to the smaller training index on
    every backend and thread count.  Dask arrays (queries, train or both) give dask arrays,
    computed shard by shard on the cluster (:func:`imgclf.dask.knn`).  The search is
    fused: tiles of distances stream through a per-query top-k and the full distance
    matrix is never stored.

    float32 candidates from a fast float32 pass are re-ranked with float64 distances, and
    any query whose candidate set cannot be proven complete from the float32 rounding bound
    (near-ties, duplicated rows, extreme magnitudes) is searched again with float64 sums, so
    the ranking matches a float64 computation over the whole finite float32 range.  uint8
    distances are exact integers.
    """
    check_choice(metric, "metric", METRICS)
    if _any_dask(queries, train):
        from .. import dask as _dask  # registers the "dask" backend (ImportError names the extra)

        X, Y = _dask.prepare_pair(queries, train, "queries", "train", keep_numpy=True)
        return KNN.run(backend, Y, X, Y, k, metric, block_backend=backend)
    X, Y = prepare_pair(queries, train, "queries", "train")
    k = check_int(k, "k")
    if not 1 <= k <= Y.shape[0]:
        raise ValueError(f"k must be between 1 and the number of training samples ({Y.shape[0]}), got {k}")
    return _knn_ranged(lambda A, B: KNN.run(backend, A, A, B, k, metric), X, Y, k, metric)


# ---- vote -------------------------------------------------------------------------------------------

@VOTE.register("cpu")
def _vote_cpu(L, n_classes, D, weights, tie_break):
    cpu = _backend.cpu_module()
    labels = np.empty(L.shape[0], dtype=np.int64)
    scores = np.empty((L.shape[0], n_classes), dtype=np.float64)
    cpu.vote(L, D if weights == "distance" else None, n_classes, enum(cpu, "Weights", weights),
             enum(cpu, "TieBreak", tie_break), labels, scores)
    return labels, scores


@VOTE.register("cuda")
def _vote_cuda(L, n_classes, D, weights, tie_break):
    return _gpu.vote(L, D if weights == "distance" else None, n_classes, weights, tie_break)


@VOTE.register("numpy")
def _vote_reference(L, n_classes, D, weights, tie_break):
    return _reference.vote(L, n_classes, D, weights, tie_break)


@_gpu.accepts_torch
def vote(neighbor_labels: Array, n_classes: int, distances: Array | None = None, weights: str = "uniform", *,
         tie_break: str = "nearest", backend: str = "auto") -> tuple[Array, Array]:
    """Vote over each query's neighbour labels (columns ordered nearest first, as
    :func:`knn` returns them).

    neighbor_labels: integer array (n_queries, k) with values in [0, n_classes).
    weights: "uniform" (one vote each) or "distance" (1/d; when a query has neighbours at
    distance 0, only those exact matches vote).
    tie_break: "nearest" (default) picks, among classes tied on score, the one whose
    nearest neighbour comes first; "smallest" picks the smallest label, as scikit-learn's
    KNeighborsClassifier and the CS231n reference do.
    Returns ``(labels, scores)``: int64 (n_queries,) and float64 (n_queries, n_classes).
    """
    check_choice(weights, "weights", WEIGHTS)
    check_choice(tie_break, "tie_break", TIE_BREAKS)
    n_classes = check_int(n_classes, "n_classes", low=1)
    xp = _reference.get_xp(neighbor_labels) if hasattr(neighbor_labels, "shape") else np
    L = xp.asarray(neighbor_labels)
    if L.ndim != 2 or L.shape[0] == 0 or L.shape[1] == 0:
        raise ValueError(f"neighbor_labels must be a non-empty 2-D array (n_queries, k), got shape {L.shape}")
    if L.dtype.kind not in "iu":
        raise TypeError(f"neighbor_labels must be integers, got dtype {L.dtype}")
    if int(L.min()) < 0 or int(L.max()) >= n_classes:  # (reductions: no temporaries)
        raise ValueError(f"neighbor_labels must lie in [0, n_classes={n_classes})")
    L = xp.ascontiguousarray(L, dtype=xp.int64)
    D = None
    if distances is not None:
        D = xp.asarray(distances)
        if D.dtype.kind not in "biuf":
            raise TypeError(f"distances must hold real numbers, got dtype {D.dtype}")
        if D.shape != L.shape:
            raise ValueError(f"distances has shape {D.shape} but neighbor_labels has {L.shape}")
        D = xp.ascontiguousarray(D, dtype=xp.float64)
        low = float(D.min())  # NaN propagates through min: one pass checks both
        if not low >= 0:
            raise ValueError("distances must be non-negative numbers (no NaN)")
    if weights == "distance" and D is None:
        raise ValueError("weights='distance' needs distances")
    return VOTE.run(backend, L, L, n_classes, D, weights, tie_break)
