"""imgclf.ops: the array-level API, a drop-in fast backend for your own code.

Every function takes NumPy arrays (or CuPy arrays), checks them, and dispatches to the
compiled kernel for that array type, or to the NumPy reference (:mod:`imgclf._reference`),
which defines the results.

Dtypes.  float32, float64 and uint8 are computed in their own type.  Images stay uint8:
for uint8 inputs "l1" and "sqeuclidean" distances are exact integers, returned as int32
(exact for up to 33025 features: 255^2 * 33025 < 2^31), and "l2" is the float64 square
root of that exact integer.  Other real dtypes (bool, integers, float16) are converted to
float64 once; mixed pairs are promoted (uint8 with float32 gives float32).  Complex and
non-numeric arrays are refused.  Arrays with more than two dimensions (N x H x W x C
images) are flattened per sample.
"""
from __future__ import annotations

import numpy as np

from . import _reference, backend as _backend

__all__ = ["pairwise_distances", "knn", "vote", "METRICS"]

METRICS = ("l1", "l2", "sqeuclidean")
_METRIC_CODE = {"l1": 0, "l2": 1, "sqeuclidean": 1}
_KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.uint8))


def _as_2d(a, name, xp):
    if not hasattr(a, "shape") or not hasattr(a, "dtype"):
        a = np.asarray(a)
        xp = np
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
    if a.ndim == 1:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features) or N x H x W [x C] images; "
                         f"got a 1-D array of shape {a.shape} (reshape(1, -1) for one sample)")
    if a.ndim == 0:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got a scalar")
    if a.ndim > 2:
        a = a.reshape(a.shape[0], -1)
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {a.shape}); it needs at least one sample and one feature")
    return a


def _common_dtype(a, b):
    da, db = np.dtype(a.dtype), np.dtype(b.dtype)
    da = da if da in _KERNEL_DTYPES else np.dtype(np.float64)
    db = db if db in _KERNEL_DTYPES else np.dtype(np.float64)
    return da if da == db else np.result_type(da, db, np.float32)


def _prepare(X, name, dtype, xp, check_finite=True):
    X = _as_2d(X, name, xp)
    if X.dtype != dtype or not X.dtype.isnative:
        X = X.astype(dtype)
    X = xp.ascontiguousarray(X)
    if check_finite and dtype.kind == "f" and not bool(xp.isfinite(X).all()):
        bad = "NaN" if bool(xp.isnan(X).any()) else "infinity"
        raise ValueError(f"{name} contains {bad}; distances to it are undefined "
                         "(remove or impute those samples first)")
    return X


def _pair(X, Y, xname, yname):
    xp = _reference.get_xp(X) if hasattr(X, "shape") else np
    X0 = _as_2d(X, xname, xp)
    Y0 = _as_2d(Y, yname, xp)
    if X0.shape[1] != Y0.shape[1]:
        raise ValueError(f"{xname} has {X0.shape[1]} features but {yname} has {Y0.shape[1]}")
    dtype = _common_dtype(X0, Y0)
    return _prepare(X0, xname, dtype, xp), _prepare(Y0, yname, dtype, xp), xp


def _check_metric(metric):
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")


def _check_int(v, name):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(v).__name__}")
    return int(v)


def _finish_l2(sq, metric):
    """The kernels return squared L2; "l2" takes the root (in place for floats, float64
    for the exact int32 distances of uint8 inputs)."""
    if metric != "l2":
        return sq
    return np.sqrt(sq, out=sq) if sq.dtype.kind == "f" else np.sqrt(sq.astype(np.float64))


def pairwise_distances(X, Y=None, metric="l2", *, backend="auto"):
    """Distance matrix between the rows of X and the rows of Y (Y defaults to X).

    metric: "l1" (sum of absolute differences), "l2" (Euclidean) or "sqeuclidean".
    Returns an (n_X, n_Y) array (dtype: see the module docstring).  This is the one op that
    materializes every distance; use :func:`knn` when only the nearest ones matter.
    The compiled kernel computes each distance directly (no norms identity), so float32
    results carry only float32 rounding of the summed differences.
    """
    _check_metric(metric)
    X, Y, xp = _pair(X, X if Y is None else Y, "X", "Y")
    be = _backend.resolve(backend, X)
    udist = X.dtype == np.uint8 and X.shape[1] > 33025
    if be == "cpu" and not udist:
        out = np.empty((X.shape[0], Y.shape[0]), dtype=np.int32 if X.dtype == np.uint8 else X.dtype)
        _backend._cpu.pairwise(X, Y, _METRIC_CODE[metric], out)
        return _finish_l2(out, metric)
    return _reference.pairwise_distances(X, Y, metric)


def knn(queries, train, k, metric="l2", *, backend="auto"):
    """The k nearest training rows of every query.

    Returns ``(distances, indices)``, each (n_queries, k); each row is ordered by
    (distance, training index), so equal distances resolve to the smaller training index on
    every backend and thread count.  The search is fused: tiles of distances stream through
    a per-query top-k and the full distance matrix is never stored.

    float32 "l2"/"sqeuclidean" candidates from a fast float32 pass are re-ranked with
    float64 distances, and any query whose candidate set cannot be proven complete from
    the float32 rounding bound is searched again exactly, so the ranking matches a float64
    computation.  uint8 distances are exact integers.
    """
    _check_metric(metric)
    X, Y, xp = _pair(queries, train, "queries", "train")
    k = _check_int(k, "k")
    if not 1 <= k <= Y.shape[0]:
        raise ValueError(f"k must be between 1 and the number of training samples ({Y.shape[0]}), got {k}")
    be = _backend.resolve(backend, X)
    if be == "cpu" and not (X.dtype == np.uint8 and X.shape[1] > 33025):
        kdtype = np.int32 if X.dtype == np.uint8 else X.dtype
        dist = np.empty((X.shape[0], k), dtype=kdtype)
        idx = np.empty((X.shape[0], k), dtype=np.int64)
        _backend._cpu.knn(X, Y, k, _METRIC_CODE[metric], dist, idx)
        return _finish_l2(dist, metric), idx
    return _reference.knn(X, Y, k, metric)


_WEIGHTS = ("uniform", "distance")
_TIES = ("nearest", "smallest")


def vote(neighbor_labels, n_classes, distances=None, weights="uniform", *, tie_break="nearest",
         backend="auto"):
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
    if weights not in _WEIGHTS:
        raise ValueError(f"weights must be one of {_WEIGHTS}, got {weights!r}")
    if tie_break not in _TIES:
        raise ValueError(f"tie_break must be one of {_TIES}, got {tie_break!r}")
    n_classes = _check_int(n_classes, "n_classes")
    if n_classes < 1:
        raise ValueError(f"n_classes must be >= 1, got {n_classes}")
    xp = _reference.get_xp(neighbor_labels) if hasattr(neighbor_labels, "shape") else np
    L = xp.asarray(neighbor_labels)
    if L.ndim != 2 or L.shape[0] == 0 or L.shape[1] == 0:
        raise ValueError(f"neighbor_labels must be a non-empty 2-D array (n_queries, k), got shape {L.shape}")
    if L.dtype.kind not in "iu":
        raise TypeError(f"neighbor_labels must be integers, got dtype {L.dtype}")
    if bool((L < 0).any()) or bool((L >= n_classes).any()):
        raise ValueError(f"neighbor_labels must lie in [0, n_classes={n_classes})")
    L = xp.ascontiguousarray(L, dtype=xp.int64)
    D = None
    if distances is not None:
        D = xp.asarray(distances)
        if D.shape != L.shape:
            raise ValueError(f"distances has shape {D.shape} but neighbor_labels has {L.shape}")
        D = xp.ascontiguousarray(D, dtype=xp.float64)
        if bool(xp.isnan(D).any()) or bool((D < 0).any()):
            raise ValueError("distances must be non-negative numbers (no NaN)")
    if weights == "distance" and D is None:
        raise ValueError("weights='distance' needs distances")
    be = _backend.resolve(backend, L)
    if be == "cpu":
        labels = np.empty(L.shape[0], dtype=np.int64)
        scores = np.empty((L.shape[0], n_classes), dtype=np.float64)
        _backend._cpu.vote(L, D if weights == "distance" else None, n_classes,
                           _WEIGHTS.index(weights), _TIES.index(tie_break), labels, scores)
        return labels, scores
    return _reference.vote(L, n_classes, D, weights, tie_break)
