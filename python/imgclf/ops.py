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

GPU.  CuPy arrays run on the GPU, on CuPy's current stream, with results allocated by
CuPy: knn, pairwise_distances and vote (float32 and uint8; float64 by the reference with
xp=cupy), the losses and the optimizer steps have CUDA kernels.  torch tensors are
accepted too (CUDA tensors through DLPack, CPU tensors as NumPy views, no copies) and
array results come back as torch tensors.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

import numpy as np
from numpy.typing import DTypeLike

from . import _gpu, _reference, backend as _backend

# Arrays the ops take and give: NumPy arrays, or CuPy arrays / torch tensors where a
# docstring says so (they stay on their device).
Array = Any
# one array, or a list of them (the multi-tensor form of the optimizer steps)
Params = Union[Array, Sequence[Array]]

__all__ = ["pairwise_distances", "knn", "vote", "softmax_loss", "svm_loss", "penalty", "linear_loss",
           "sgd_step", "momentum_step", "nesterov_step", "adagrad_step", "rmsprop_step", "adam_step",
           "gemm", "bias_relu", "relu_backward", "affine_rows", "METRICS", "LOSSES",
           "PENALTIES"]

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
    xp = _reference.get_xp(sq)
    return xp.sqrt(sq, out=sq) if sq.dtype.kind == "f" else xp.sqrt(sq.astype(xp.float64))


def _cuda_distances(X, op):
    """The CUDA kernels take float32 and uint8 (up to 33025 uint8 features, where int32
    stays exact); float64 runs the reference with xp=cupy."""
    return (_cuda_has(op) and X.dtype in (np.dtype(np.float32), np.dtype(np.uint8))
            and not (X.dtype == np.uint8 and X.shape[1] > 33025))


@_gpu.accepts_torch
def pairwise_distances(X: Array, Y: Array | None = None, metric: str = "l2", *, backend: str = "auto") -> Array:
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
    if be == "cuda" and _cuda_distances(X, "pairwise"):
        return _finish_l2(_gpu.pairwise(X, Y, _METRIC_CODE[metric]), metric)
    return _reference.pairwise_distances(X, Y, metric)


@_gpu.accepts_torch
def knn(queries: Array, train: Array, k: int, metric: str = "l2", *, backend: str = "auto") -> tuple[Array, Array]:
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
    if be == "cuda" and _cuda_distances(X, "knn"):
        dist, idx = _gpu.knn(X, Y, k, _METRIC_CODE[metric])
        return _finish_l2(dist, metric), idx
    return _reference.knn(X, Y, k, metric)


_WEIGHTS = ("uniform", "distance")
_TIES = ("nearest", "smallest")


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
    if be == "cuda" and _cuda_has("vote"):
        return _gpu.vote(L, D if weights == "distance" else None, n_classes, _WEIGHTS.index(weights),
                         _TIES.index(tie_break))
    return _reference.vote(L, n_classes, D, weights, tie_break)


# ---- losses and penalties ---------------------------------------------------------------

LOSSES = ("softmax", "svm", "squared_svm")
PENALTIES = ("l2", "l1", "elasticnet")
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _scores_and_labels(scores, y):
    xp = _reference.get_xp(scores) if hasattr(scores, "shape") else np
    S = xp.asarray(scores)
    if S.ndim != 2 or S.shape[0] == 0 or S.shape[1] == 0:
        raise ValueError(f"scores must be a non-empty 2-D array (n_samples, n_classes), got shape {S.shape}")
    if S.dtype not in _FLOATS:
        if S.dtype.kind not in "biuf":
            raise TypeError(f"scores must hold real numbers, got dtype {S.dtype}")
        S = S.astype(np.float64)
    S = xp.ascontiguousarray(S)
    if xp is np and not bool(np.isfinite(S).all()):  # (on a GPU this check would synchronize)
        raise ValueError("scores contains NaN or infinity (a diverged model? lower the learning rate)")
    Y = _labels(y, S.shape[0], S.shape[1], xp)
    return S, Y, xp


def _cuda_has(name):
    return _backend._cuda is not None and hasattr(_backend._cuda, name)


def _cuda_class_loss(S, Y, kind, margin):
    """The CUDA loss on CuPy arrays: returns (0-d CuPy float64 loss, dscores), no sync."""
    import cupy

    dS = cupy.empty_like(S)
    rows = cupy.empty(S.shape[0], dtype=cupy.float64)
    out = cupy.empty((), dtype=cupy.float64)
    _backend._cuda.class_loss(S.data.ptr, S.shape[0], S.shape[1], Y.data.ptr, kind, float(margin),
                              dS.data.ptr, rows.data.ptr, out.data.ptr, S.dtype.itemsize,
                              cupy.cuda.get_current_stream().ptr)
    return out, dS


def _labels(y, n, n_classes, xp=np):
    Y = xp.asarray(y)
    if Y.ndim != 1 or Y.shape[0] != n:
        raise ValueError(f"y must be a 1-D array of {n} labels, got shape {Y.shape}")
    if Y.dtype.kind not in "iu":
        raise TypeError(f"y must hold integer class indices, got dtype {Y.dtype}")
    if n and (bool((Y < 0).any()) or bool((Y >= n_classes).any())):
        raise ValueError(f"y must lie in [0, n_classes={n_classes})")
    return xp.ascontiguousarray(Y, dtype=xp.int64)


@_gpu.accepts_torch
def softmax_loss(scores: Array, y: Array, *, backend: str = "auto") -> tuple[float, Array]:
    """Softmax (cross-entropy) loss of class scores, averaged over the batch.

    scores: (n, C) float array; y: (n,) integer labels in [0, C).
    L_i = log(sum_j exp(s_ij)) - s_i,y_i, computed stably in one pass (the row maximum is
    subtracted first).  Returns ``(loss, dscores)``: a Python float and dL/dscores, the
    same shape and dtype as scores, already divided by n.
    """
    S, Y, xp = _scores_and_labels(scores, y)
    be = _backend.resolve(backend, S)
    if be == "cpu":
        dS = np.empty_like(S)
        return _backend._cpu.class_loss(S, Y, 0, 0.0, dS), dS
    if be.startswith("cuda") and _cuda_has("class_loss"):
        return _cuda_class_loss(S, Y, 0, 0.0)
    return _reference.softmax_loss(S, Y)


@_gpu.accepts_torch
def svm_loss(scores: Array, y: Array, margin: float = 1.0, squared: bool = False, *,
             backend: str = "auto") -> tuple[float, Array]:
    """Multiclass SVM (hinge) loss, averaged over the batch.

    L_i = sum_{j != y_i} max(0, s_ij - s_i,y_i + margin): summed over the wrong classes and
    NOT divided by the number of classes (torch's multi_margin_loss divides by C).
    ``squared=True`` squares each term (the squared hinge).  The subgradient at a term of
    exactly 0 is 0.  Returns ``(loss, dscores)`` like :func:`softmax_loss`.
    """
    S, Y, xp = _scores_and_labels(scores, y)
    margin = float(margin)
    if not np.isfinite(margin):
        raise ValueError(f"margin must be finite, got {margin}")
    be = _backend.resolve(backend, S)
    if be == "cpu":
        dS = np.empty_like(S)
        return _backend._cpu.class_loss(S, Y, 2 if squared else 1, margin, dS), dS
    if be.startswith("cuda") and _cuda_has("class_loss"):
        return _cuda_class_loss(S, Y, 2 if squared else 1, margin)
    return _reference.svm_loss(S, Y, margin, bool(squared))


def _check_penalty(penalty, reg, beta):
    if penalty not in PENALTIES:
        raise ValueError(f"penalty must be one of {PENALTIES}, got {penalty!r}")
    reg, beta = float(reg), float(beta)
    if not (np.isfinite(reg) and reg >= 0):
        raise ValueError(f"reg must be a finite number >= 0, got {reg}")
    if not (np.isfinite(beta) and beta >= 0):
        raise ValueError(f"beta must be a finite number >= 0, got {beta}")
    return reg, beta


@_gpu.accepts_torch
def penalty(W: Array, reg: float, penalty: str = "l2", *, beta: float = 0.5, grad: Array | None = None,
            backend: str = "auto") -> tuple[float, Array]:
    """Weight penalty ``reg * R(W)`` and its gradient.

    R(W) = sum W^2 ("l2", gradient 2W), sum |W| ("l1", gradient sign(W), 0 at 0) or
    sum beta W^2 + |W| ("elasticnet").  Apply it to weights only, never to biases.
    Returns ``(value, grad)``; when ``grad`` is given, reg * R'(W) is added to it in place
    (fused into the data gradient) and it is returned.
    """
    reg, beta = _check_penalty(penalty, reg, beta)
    W = np.asarray(W)
    if W.dtype not in _FLOATS:
        raise TypeError(f"W must be float32 or float64, got dtype {W.dtype}")
    if grad is not None and (not isinstance(grad, np.ndarray) or grad.shape != W.shape or grad.dtype != W.dtype):
        raise ValueError("grad must be an array with W's shape and dtype")
    kind = PENALTIES.index(penalty)
    if _backend.resolve(backend, W) == "cpu" and W.flags.c_contiguous and (grad is None or grad.flags.c_contiguous):
        out = grad if grad is not None else np.zeros_like(W)
        return _backend._cpu.penalty(W, kind, beta, reg, out), out
    value, g = _reference.penalty(W, reg, penalty, beta)
    if grad is not None:
        grad += g
        g = grad
    return value, g


@_gpu.accepts_torch
def linear_loss(X: Array, y: Array, W: Array, b: Array, loss: str = "softmax", *, rows: Array | None = None,
                scale: float = 1.0, shift: Array | None = None, margin: float = 1.0, reg: float = 0.0,
                penalty: str = "l2", beta: float = 0.5, backend: str = "auto") -> tuple[float, Array, Array]:
    """Loss and gradients of a linear classifier on a minibatch, fused in one call.

    x = scale * X[rows] - shift (rows: optional int indices drawn from X, so uint8 images
    stay uint8 until a minibatch is drawn), scores = x @ W + b, then the softmax or
    (squared) SVM loss and reg * R(W) (see :func:`penalty`; biases are not penalized).
    X: (n, d) uint8/float32/float64; W: (d, C) and b: (C,) float32 or float64.
    Returns ``(loss, dW, db)``.
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    reg, beta = _check_penalty(penalty, reg, beta)
    if _linear_fast(X, y, W, b, rows, shift) and _backend.resolve(backend, W) == "cpu":
        # arrays already in kernel form: the binding checks shapes and index ranges
        return _cpu_linear_loss(X, rows, scale, shift, W, b, y, loss, margin, reg, penalty, beta)
    W = np.asarray(W)
    b = np.asarray(b)
    if W.dtype not in _FLOATS or W.ndim != 2:
        raise TypeError(f"W must be a 2-D float32 or float64 array, got {W.dtype} with shape {W.shape}")
    if b.shape != (W.shape[1],) or b.dtype != W.dtype:
        raise ValueError(f"b must have shape ({W.shape[1]},) and W's dtype, got {b.shape} {b.dtype}")
    X = _as_2d(X, "X", np)
    if X.shape[1] != W.shape[0]:
        raise ValueError(f"X has {X.shape[1]} features but W has {W.shape[0]} rows")
    if X.dtype not in _KERNEL_DTYPES:
        X = X.astype(W.dtype)
    X = np.ascontiguousarray(X)
    if X.dtype.kind == "f" and not np.isfinite(X if rows is None else X[rows]).all():
        raise ValueError("X contains NaN or infinity")
    if rows is not None:
        rows = np.ascontiguousarray(rows)
        if rows.ndim != 1 or rows.size == 0 or rows.dtype.kind not in "iu":
            raise ValueError("rows must be a non-empty 1-D array of integer row indices")
        if rows.min() < 0 or rows.max() >= X.shape[0]:
            raise ValueError(f"rows must index rows of X (0..{X.shape[0] - 1})")
        rows = rows.astype(np.int64, copy=False)
    n = X.shape[0] if rows is None else rows.shape[0]
    Y = _labels(y, n, W.shape[1])
    if shift is not None:
        shift = np.ascontiguousarray(shift, dtype=W.dtype).reshape(-1)
        if shift.shape[0] != W.shape[0]:
            raise ValueError(f"shift must have {W.shape[0]} values (one per feature)")
    W = np.ascontiguousarray(W)
    b = np.ascontiguousarray(b)
    if _backend.resolve(backend, W) == "cpu":
        return _cpu_linear_loss(X, rows, scale, shift, W, b, Y, loss, margin, reg, penalty, beta)
    value, dW, db = _reference.linear_grad(X, rows, scale, shift, W, b, Y, loss, float(margin))
    if reg:
        rv, _ = globals()["penalty"](W, reg, penalty, beta=beta, grad=dW, backend=backend)
        value += rv
    return value, dW, db


def _cpu_linear_loss(X, rows, scale, shift, W, b, y, loss, margin, reg, penalty, beta):
    dW, db = np.empty_like(W), np.empty_like(b)
    value = _backend._cpu.linear_grad(X, rows, float(scale), shift, W, b, y, LOSSES.index(loss), float(margin),
                                      reg, PENALTIES.index(penalty), beta, dW, db)
    return value, dW, db


def _kernel_array(a, ndim, dtypes):
    return type(a) is np.ndarray and a.ndim == ndim and a.dtype in dtypes and a.flags.c_contiguous


_I64 = (np.dtype(np.int64),)


def _linear_fast(X, y, W, b, rows, shift):
    """True when every argument is already what the kernel takes (no copies, no casts).
    Float X still goes the checked way (its NaN check)."""
    return (_kernel_array(W, 2, _FLOATS) and _kernel_array(b, 1, (W.dtype,))
            and _kernel_array(X, 2, (np.dtype(np.uint8),)) and _kernel_array(y, 1, _I64)
            and (rows is None or _kernel_array(rows, 1, _I64))
            and (shift is None or _kernel_array(shift, 1, (W.dtype,))))


# ---- optimizer steps ---------------------------------------------------------------------

_OPTIM = {"sgd": 0, "momentum": 1, "nesterov": 2, "adagrad": 3, "rmsprop": 4, "adam": 5}


def _as_list(a):
    return (list(a), True) if isinstance(a, (list, tuple)) else ([a], False)


def _optim(kind, param, grad, states, backend, **h):
    """Validate (param, grad, state...) arrays or lists of them and run one update."""
    params, multi = _as_list(param)
    grads, _ = _as_list(grad)
    sts = [_as_list(s)[0] for s in states]
    if not (np.isfinite(h["lr"]) and h["lr"] >= 0):
        raise ValueError(f"lr must be a finite number >= 0, got {h['lr']}")
    if params and type(params[0]).__module__.startswith("cupy"):
        return _optim_cupy(kind, params, grads, sts, backend, h)
    if params and type(params[0]) is np.ndarray and _backend.resolve(backend, params[0]) == "cpu":
        # fast path: the binding checks every array (dtype, size, contiguity) before it
        # updates any, and refuses anything not in kernel form; then the checked path runs
        try:
            _backend._cpu.optim_step(_OPTIM[kind], params, grads, sts[0] if sts else None,
                                     sts[1] if len(sts) > 1 else None, h["lr"], h.get("a", 0.0),
                                     h.get("b", 0.0), h.get("eps", 0.0), h.get("wd", 0.0),
                                     h.get("bc1", 1.0), h.get("bc2", 1.0))
            return
        except (TypeError, ValueError):
            pass
    if len(grads) != len(params) or any(len(s) != len(params) for s in sts):
        raise ValueError("param, grad and every state must hold the same number of arrays")
    for i, p in enumerate(params):
        where = f"[{i}]" if multi else ""
        if not isinstance(p, np.ndarray):
            raise TypeError(f"param{where} must be a NumPy array (updated in place), got {type(p).__name__}")
        if p.dtype not in _FLOATS:
            raise TypeError(f"param{where} must be float32 or float64, got {p.dtype}")
        if not p.flags.writeable:
            raise ValueError(f"param{where} is read-only")
        for name, a in [("grad", grads[i])] + [(f"state {j}", s[i]) for j, s in enumerate(sts)]:
            if not isinstance(a, np.ndarray) or a.shape != p.shape or a.dtype != p.dtype:
                raise ValueError(f"{name}{where} must be an array with param{where}'s shape {p.shape} "
                                 f"and dtype {p.dtype}")
    fast = _backend.resolve(backend, params[0] if params else None) == "cpu"
    groups = {}
    for i, p in enumerate(params):
        ok = fast and all(a.flags.c_contiguous for a in [p, grads[i]] + [s[i] for s in sts])
        groups.setdefault((p.dtype, ok), []).append(i)
    for (dtype, ok), idx in groups.items():
        if ok:
            s1 = [sts[0][i] for i in idx] if sts else None
            s2 = [sts[1][i] for i in idx] if len(sts) > 1 else None
            _backend._cpu.optim_step(_OPTIM[kind], [params[i] for i in idx], [grads[i] for i in idx],
                                     s1, s2, h["lr"], h.get("a", 0.0), h.get("b", 0.0), h.get("eps", 0.0),
                                     h.get("wd", 0.0), h.get("bc1", 1.0), h.get("bc2", 1.0))
        else:
            for i in idx:
                _reference_step(kind, params[i], grads[i], [s[i] for s in sts], h)


def _optim_cupy(kind, params, grads, sts, backend, h):
    """CuPy arrays: one multi-tensor CUDA launch per dtype (or the reference with xp=cupy)."""
    import cupy

    _backend.resolve(backend, params[0])
    for i, p in enumerate(params):
        for name, a in [("grad", grads[i])] + [(f"state {j}", s[i]) for j, s in enumerate(sts)]:
            if not isinstance(a, cupy.ndarray) or a.shape != p.shape or a.dtype != p.dtype:
                raise ValueError(f"{name}[{i}] must be a CuPy array with param[{i}]'s shape and dtype")
        if p.dtype not in _FLOATS:
            raise TypeError(f"param[{i}] must be float32 or float64, got {p.dtype}")
    fast = _cuda_has("optim_step")
    groups = {}
    for i, p in enumerate(params):
        ok = fast and all(a.flags.c_contiguous for a in [p, grads[i]] + [s[i] for s in sts])
        groups.setdefault((p.dtype, ok), []).append(i)
    stream = cupy.cuda.get_current_stream().ptr
    for (dtype, ok), idx in groups.items():
        if ok:
            ts = [(params[i].data.ptr, grads[i].data.ptr, sts[0][i].data.ptr if sts else 0,
                   sts[1][i].data.ptr if len(sts) > 1 else 0, int(params[i].size)) for i in idx]
            _backend._cuda.optim_step(_OPTIM[kind], dtype.itemsize, ts, h["lr"], h.get("a", 0.0), h.get("b", 0.0),
                                      h.get("eps", 0.0), h.get("wd", 0.0), h.get("bc1", 1.0), h.get("bc2", 1.0),
                                      stream)
        else:
            for i in idx:
                _reference_step(kind, params[i], grads[i], [s[i] for s in sts], h)


def _reference_step(kind, p, g, st, h):
    if kind == "sgd":
        _reference.sgd_step(p, g, h["lr"])
    elif kind == "momentum":
        _reference.momentum_step(p, g, st[0], h["lr"], h["a"])
    elif kind == "nesterov":
        _reference.nesterov_step(p, g, st[0], h["lr"], h["a"])
    elif kind == "adagrad":
        _reference.adagrad_step(p, g, st[0], h["lr"], h["eps"])
    elif kind == "rmsprop":
        _reference.rmsprop_step(p, g, st[0], h["lr"], h["a"], h["eps"])
    else:
        _reference.adam_step(p, g, st[0], st[1], h["step"], h["lr"], h["a"], h["b"], h["eps"], h["wd"])


def _unit(x, name, lo=0.0, hi=1.0):
    x = float(x)
    if not (lo <= x < hi):
        raise ValueError(f"{name} must be in [{lo}, {hi}), got {x}")
    return x


@_gpu.accepts_torch
def sgd_step(param: Params, grad: Params, *, lr: float, backend: str = "auto") -> None:
    """In place: param -= lr * grad.  Every argument may be one array or a list of arrays
    (the multi-tensor form: one call updates every parameter of a model)."""
    _optim("sgd", param, grad, [], backend, lr=float(lr))


@_gpu.accepts_torch
def momentum_step(param: Params, grad: Params, velocity: Params, *, lr: float, rho: float = 0.9,
                  backend: str = "auto") -> None:
    """In place: velocity = rho * velocity - lr * grad; param += velocity."""
    _optim("momentum", param, grad, [velocity], backend, lr=float(lr), a=_unit(rho, "rho"))


@_gpu.accepts_torch
def nesterov_step(param: Params, grad: Params, velocity: Params, *, lr: float, rho: float = 0.9,
                  backend: str = "auto") -> None:
    """In place, Nesterov momentum in its change-of-variables form:
    v_old = velocity; velocity = rho * velocity - lr * grad;
    param += -rho * v_old + (1 + rho) * velocity."""
    _optim("nesterov", param, grad, [velocity], backend, lr=float(lr), a=_unit(rho, "rho"))


@_gpu.accepts_torch
def adagrad_step(param: Params, grad: Params, cache: Params, *, lr: float, eps: float = 1e-8,
                 backend: str = "auto") -> None:
    """In place: cache += grad**2; param -= lr * grad / (sqrt(cache) + eps)."""
    _optim("adagrad", param, grad, [cache], backend, lr=float(lr), eps=float(eps))


@_gpu.accepts_torch
def rmsprop_step(param: Params, grad: Params, cache: Params, *, lr: float, decay: float = 0.99, eps: float = 1e-8,
                 backend: str = "auto") -> None:
    """In place: cache = decay * cache + (1 - decay) * grad**2;
    param -= lr * grad / (sqrt(cache) + eps)."""
    _optim("rmsprop", param, grad, [cache], backend, lr=float(lr), a=_unit(decay, "decay"), eps=float(eps))


@_gpu.accepts_torch
def adam_step(param: Params, grad: Params, m: Params, v: Params, *, step: int, lr: float = 1e-3,
              beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0,
              backend: str = "auto") -> None:
    """In place Adam with bias correction and decoupled weight decay (AdamW):
    param *= 1 - lr * weight_decay; m = beta1 m + (1 - beta1) grad;
    v = beta2 v + (1 - beta2) grad**2;
    param -= lr * (m / (1 - beta1**step)) / (sqrt(v / (1 - beta2**step)) + eps).
    ``step`` counts updates from 1 (the first call passes step=1)."""
    step = _check_int(step, "step")
    if step < 1:
        raise ValueError(f"step counts from 1, got {step}")
    b1, b2 = _unit(beta1, "beta1"), _unit(beta2, "beta2")
    wd = float(weight_decay)
    if not (np.isfinite(wd) and wd >= 0):
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
    _optim("adam", param, grad, [m, v], backend, lr=float(lr), a=b1, b=b2, eps=float(eps), wd=wd,
           step=step, bc1=1.0 - b1 ** step, bc2=1.0 - b2 ** step)


# ---- dense products ----------------------------------------------------------------------

@_gpu.accepts_torch
def gemm(A: Array, B: Array, out: Array | None = None, *, trans_a: bool = False, trans_b: bool = False,
         alpha: float = 1.0, beta: float = 0.0, backend: str = "auto") -> Array:
    """``out = alpha * op(A) @ op(B) + beta * out`` (op = transpose when trans_a/trans_b).

    float32 or float64, 2-D.  The network layers use it so their matrix products run in
    imgclf's own OpenMP thread pool, next to its other kernels (a BLAS with a second pool of
    spinning threads takes cores away from them).  Returns ``out`` (allocated if None).
    """
    A = np.asarray(A)
    B = np.asarray(B)
    if A.ndim != 2 or B.ndim != 2:
        raise ValueError(f"A and B must be 2-D, got shapes {A.shape} and {B.shape}")
    if A.dtype not in _FLOATS or B.dtype != A.dtype:
        raise TypeError(f"A and B must both be float32 or both float64, got {A.dtype} and {B.dtype}")
    M, K = (A.shape[1], A.shape[0]) if trans_a else A.shape
    K2, N = (B.shape[1], B.shape[0]) if trans_b else B.shape
    if K != K2:
        raise ValueError(f"op(A) is {M}x{K} but op(B) is {K2}x{N}: inner dimensions differ")
    if out is None:
        if beta != 0:
            raise ValueError("beta != 0 needs out")
        out = np.empty((M, N), dtype=A.dtype)
    elif not isinstance(out, np.ndarray) or out.shape != (M, N) or out.dtype != A.dtype:
        raise ValueError(f"out must be a ({M}, {N}) {A.dtype} array")
    if (_backend.resolve(backend, A) == "cpu" and out.flags.c_contiguous and out.flags.writeable):
        _backend._cpu.gemm(np.ascontiguousarray(A), np.ascontiguousarray(B), out, bool(trans_a),
                           bool(trans_b), float(alpha), float(beta))
        return out
    r = alpha * ((A.T if trans_a else A) @ (B.T if trans_b else B))
    if beta:
        r += beta * out
    out[...] = r
    return out


@_gpu.accepts_torch
def bias_relu(h: Array, b: Array, relu: bool = True, *, backend: str = "auto") -> Array:
    """In place ``h = max(h + b, 0)`` (``relu=False``: ``h += b``); h (n, H), b (H,).
    Returns h."""
    if not isinstance(h, np.ndarray) or h.ndim != 2 or h.dtype not in _FLOATS:
        raise TypeError("h must be a 2-D float32 or float64 NumPy array (updated in place)")
    b = np.asarray(b)
    if b.shape != (h.shape[1],) or b.dtype != h.dtype:
        raise ValueError(f"b must have shape ({h.shape[1]},) and h's dtype")
    if _backend.resolve(backend, h) == "cpu" and h.flags.c_contiguous and h.flags.writeable:
        _backend._cpu.bias_act(h, np.ascontiguousarray(b), bool(relu))
        return h
    return _reference.bias_relu(h, b, relu)


@_gpu.accepts_torch
def relu_backward(dh: Array, h: Array, *, backend: str = "auto") -> Array:
    """In place ``dh = 0 where h <= 0`` (the ReLU's backward pass, h its output); returns
    the column sums of dh, the gradient of the layer's bias."""
    if not isinstance(dh, np.ndarray) or dh.ndim != 2 or dh.dtype not in _FLOATS:
        raise TypeError("dh must be a 2-D float32 or float64 NumPy array (updated in place)")
    h = np.asarray(h)
    if h.shape != dh.shape or h.dtype != dh.dtype:
        raise ValueError("h must have dh's shape and dtype")
    if _backend.resolve(backend, dh) == "cpu" and dh.flags.c_contiguous and h.flags.c_contiguous:
        db = np.empty(dh.shape[1], dh.dtype)
        _backend._cpu.act_backward(dh, h, db)
        return db
    return _reference.relu_backward(dh, h)


@_gpu.accepts_torch
def affine_rows(X: Array, rows: Array | None = None, scale: float = 1.0, shift: Array | None = None, *,
                dtype: DTypeLike = np.float32, out: Array | None = None, backend: str = "auto") -> Array:
    """``scale * X[rows] - shift`` as ``dtype`` (float32/float64): the input of a dense layer,
    converted as the minibatch is drawn, so uint8 images stay uint8 in memory."""
    dtype = np.dtype(dtype)
    if dtype not in _FLOATS:
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    X = _as_2d(X, "X", np)
    if X.dtype not in _KERNEL_DTYPES:
        X = X.astype(np.float64)
    X = np.ascontiguousarray(X)
    if rows is not None:
        rows = np.ascontiguousarray(rows, dtype=np.int64)
        if rows.ndim != 1 or (rows.size and (rows.min() < 0 or rows.max() >= X.shape[0])):
            raise ValueError(f"rows must be a 1-D array of indices into X (0..{X.shape[0] - 1})")
    n = X.shape[0] if rows is None else rows.shape[0]
    if shift is not None:
        shift = np.ascontiguousarray(shift, dtype=dtype).reshape(-1)
        if shift.shape[0] != X.shape[1]:
            raise ValueError(f"shift must have {X.shape[1]} values (one per feature)")
    if out is None:
        out = np.empty((n, X.shape[1]), dtype)
    elif not isinstance(out, np.ndarray) or out.shape != (n, X.shape[1]) or out.dtype != dtype:
        raise ValueError(f"out must be a ({n}, {X.shape[1]}) {dtype} array")
    if _backend.resolve(backend, X) == "cpu" and out.flags.c_contiguous and out.flags.writeable:
        _backend._cpu.gather_affine(X, rows, float(scale), shift, out)
        return out
    out[...] = _reference.affine_rows(X, rows, scale, shift, dtype)
    return out
