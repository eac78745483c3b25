"""The loss family: softmax and multiclass SVM losses over class scores, weight penalties,
and the fused minibatch of a linear classifier.

Layers: this module -> imgclf._cpu.class_loss / penalty / linear_loss
(csrc/bindings/cpu/loss.cpp) -> csrc/cpu/loss_impl.h; imgclf._cuda.class_loss
(csrc/cuda/loss.cu) for CuPy scores; the spec is imgclf._reference.softmax_loss / svm_loss /
penalty / linear_loss.
"""
from __future__ import annotations

import numpy as np

from .. import _gpu, _reference
from .. import backend as _backend
from .._validation import (
    FLOATS,
    KERNEL_DTYPES,
    apart,
    array_module,
    as_matrix,
    check_choice,
    check_real,
    class_labels,
    int_rows,
    kernel_form,
)
from .dispatch import Array, Op, enum

__all__ = ["softmax_loss", "svm_loss", "penalty", "linear_loss", "check_penalty", "LOSSES", "PENALTIES"]

LOSSES = ("softmax", "svm", "squared_svm")
PENALTIES = ("l2", "l1", "elasticnet")

CLASS_LOSS = Op("class_loss")
PENALTY = Op("penalty")
LINEAR_LOSS = Op("linear_loss")


def check_penalty(penalty: str, reg: float, beta: float) -> tuple[float, float]:
    """(reg, beta) as floats after checking a penalty's arguments (shared by the estimators)."""
    check_choice(penalty, "penalty", PENALTIES)
    reg = check_real(reg, "reg", low=0.0)
    beta = check_real(beta, "beta", low=0.0)
    return reg, beta


# ---- softmax / SVM over class scores --------------------------------------------------------------

class NonFiniteScores(ValueError):
    """The class scores given to a loss hold NaN or infinity (a diverged model)."""


def _scores_and_labels(scores, y):
    xp = _reference.get_xp(scores) if hasattr(scores, "shape") else np
    S = xp.asarray(scores)
    if S.ndim != 2 or S.shape[0] == 0 or S.shape[1] == 0:
        raise ValueError(f"scores must be a non-empty 2-D array (n_samples, n_classes), got shape {S.shape}")
    if S.dtype not in FLOATS:
        if S.dtype.kind not in "biuf":
            raise TypeError(f"scores must hold real numbers, got dtype {S.dtype}")
        S = S.astype(np.float64)
    S = xp.ascontiguousarray(S)
    if xp is np and not bool(np.isfinite(S).all()):  # (on a GPU this check would synchronize)
        raise NonFiniteScores("scores contains NaN or infinity (a diverged model? lower the learning rate)")
    Y = class_labels(y, S.shape[0], S.shape[1], xp)
    return S, Y


@CLASS_LOSS.register("cpu")
def _class_loss_cpu(S, Y, kind, margin):
    cpu = _backend.cpu_module()
    dS = np.empty_like(S)
    return cpu.class_loss(S, Y, enum(cpu, "LossKind", kind), margin, dS), dS


@CLASS_LOSS.register("cuda")
def _class_loss_cuda(S, Y, kind, margin):
    return _gpu.class_loss(S, Y, kind, margin)


@CLASS_LOSS.register("numpy")
def _class_loss_reference(S, Y, kind, margin):
    if kind == "softmax":
        return _reference.softmax_loss(S, Y)
    return _reference.svm_loss(S, Y, margin, kind == "squared_svm")


@_gpu.accepts_torch
def softmax_loss(scores: Array, y: Array, *, backend: str = "auto") -> tuple[float, Array]:
    """Softmax (cross-entropy) loss of class scores, averaged over the batch.

    scores: (n, C) float array; y: (n,) integer labels in [0, C).
    L_i = log(sum_j exp(s_ij)) - s_i,y_i, computed stably in one pass (the row maximum is
    subtracted first).  Returns ``(loss, dscores)``: a Python float (a 0-d device array for
    CuPy scores, so nothing synchronizes) and dL/dscores, the same shape and dtype as
    scores, already divided by n.
    """
    S, Y = _scores_and_labels(scores, y)
    return CLASS_LOSS.run(backend, S, S, Y, "softmax", 0.0)


@_gpu.accepts_torch
def svm_loss(scores: Array, y: Array, margin: float = 1.0, squared: bool = False, *,
             backend: str = "auto") -> tuple[float, Array]:
    """Multiclass SVM (hinge) loss, averaged over the batch.

    L_i = sum_{j != y_i} max(0, s_ij - s_i,y_i + margin): summed over the wrong classes and
    NOT divided by the number of classes (torch's multi_margin_loss divides by C).
    ``squared=True`` squares each term (the squared hinge).  The subgradient at a term of
    exactly 0 is 0.  Returns ``(loss, dscores)`` like :func:`softmax_loss`.
    """
    S, Y = _scores_and_labels(scores, y)
    margin = check_real(margin, "margin")
    return CLASS_LOSS.run(backend, S, S, Y, "squared_svm" if squared else "svm", margin)


# ---- penalties --------------------------------------------------------------------------------------

@PENALTY.register("cpu", usable=lambda W, reg, kind, beta, grad: W.flags.c_contiguous and (
    grad is None or grad.flags.c_contiguous))
def _penalty_cpu(W, reg, kind, beta, grad):
    cpu = _backend.cpu_module()
    out = grad if grad is not None else np.zeros_like(W)
    return cpu.penalty(W, enum(cpu, "PenaltyKind", kind), beta, reg, out), out


@PENALTY.register("numpy")
def _penalty_reference(W, reg, kind, beta, grad):
    value, g = _reference.penalty(W, reg, kind, beta)
    if grad is not None:
        grad += g
        g = grad
    return value, g


@_gpu.accepts_torch
def penalty(W: Array, reg: float, penalty: str = "l2", *, beta: float = 0.5, grad: Array | None = None,
            backend: str = "auto") -> tuple[float, Array]:
    """Weight penalty ``reg * R(W)`` and its gradient.

    R(W) = sum W^2 ("l2", gradient 2W), sum |W| ("l1", gradient sign(W), 0 at 0) or
    sum beta W^2 + |W| ("elasticnet").  Apply it to weights only, never to biases.
    Returns ``(value, grad)``; when ``grad`` is given, reg * R'(W) is added to it in place
    (fused into the data gradient) and it is returned.  On CuPy arrays the reference runs
    with CuPy and the value is a 0-d device array (nothing synchronizes).
    """
    reg, beta = check_penalty(penalty, reg, beta)
    xp = array_module(W)
    W = xp.asarray(W)
    if W.dtype not in FLOATS:
        raise TypeError(f"W must be float32 or float64, got dtype {W.dtype}")
    if grad is not None and (not isinstance(grad, xp.ndarray) or grad.shape != W.shape or grad.dtype != W.dtype):
        raise ValueError("grad must be an array with W's shape and dtype (and on W's device)")
    if grad is not None and grad is not W and xp is np:
        if not grad.flags.writeable:
            raise ValueError("grad is read-only (the penalty's gradient is added to it in place)")
        (W,) = apart(grad, W)
    return PENALTY.run(backend, W, W, reg, penalty, beta, grad)


# ---- the linear classifier's minibatch ----------------------------------------------------------------

_I64 = (np.dtype(np.int64),)


def _kernel_ready(X, y, W, b, rows, shift):
    """Every argument is already what the kernel takes (no copies, no casts; the binding
    checks shapes and index ranges).  Float X still goes the checked way (its NaN check)."""
    return (kernel_form(W, 2, FLOATS) and kernel_form(b, 1, (W.dtype,))
            and kernel_form(X, 2, (np.dtype(np.uint8),)) and kernel_form(y, 1, _I64)
            and (rows is None or kernel_form(rows, 1, _I64))
            and (shift is None or kernel_form(shift, 1, (W.dtype,))))


@LINEAR_LOSS.register("cpu")
def _linear_loss_cpu(X, y, W, b, loss, rows, scale, shift, margin, reg, penalty, beta):
    cpu = _backend.cpu_module()
    dW, db = np.empty_like(W), np.empty_like(b)
    value = cpu.linear_loss(X, rows, scale, shift, W, b, y, enum(cpu, "LossKind", loss), margin, reg,
                            enum(cpu, "PenaltyKind", penalty), beta, dW, db)
    return value, dW, db


@LINEAR_LOSS.register("numpy")
def _linear_loss_reference(X, y, W, b, loss, rows, scale, shift, margin, reg, penalty, beta):
    value, dW, db = _reference.linear_loss(X, rows, scale, shift, W, b, y, loss, margin)
    if reg:
        rv, _ = _penalty_reference(W, reg, penalty, beta, dW)
        value += rv
    return value, dW, db


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
    check_choice(loss, "loss", LOSSES)
    reg, beta = check_penalty(penalty, reg, beta)
    margin, scale = check_real(margin, "margin"), check_real(scale, "scale")
    args = (loss, rows, scale, shift, margin, reg, penalty, beta)
    if _kernel_ready(X, y, W, b, rows, shift):  # the training loop's calls: no copies, no checks twice
        return LINEAR_LOSS.run(backend, W, X, y, W, b, *args)
    W = np.asarray(W)
    b = np.asarray(b)
    if W.dtype not in FLOATS or W.ndim != 2:
        raise TypeError(f"W must be a 2-D float32 or float64 array, got {W.dtype} with shape {W.shape}")
    if b.shape != (W.shape[1],) or b.dtype != W.dtype:
        raise ValueError(f"b must have shape ({W.shape[1]},) and W's dtype, got {b.shape} {b.dtype}")
    X = as_matrix(X, "X")
    if X.shape[1] != W.shape[0]:
        raise ValueError(f"X has {X.shape[1]} features but W has {W.shape[0]} rows")
    if X.dtype not in KERNEL_DTYPES:
        X = X.astype(W.dtype)
    X = np.ascontiguousarray(X)
    if rows is not None:
        rows = int_rows(rows, X.shape[0])
        if rows.size == 0:
            raise ValueError("rows is empty: a minibatch needs at least one row")
    if X.dtype.kind == "f" and not np.isfinite(X if rows is None else X[rows]).all():
        raise ValueError("X contains NaN or infinity")
    n = X.shape[0] if rows is None else rows.shape[0]
    Y = class_labels(y, n, W.shape[1])
    if shift is not None:
        shift = np.ascontiguousarray(shift, dtype=W.dtype).reshape(-1)
        if shift.shape[0] != W.shape[0]:
            raise ValueError(f"shift must have {W.shape[0]} values (one per feature)")
    W = np.ascontiguousarray(W)
    b = np.ascontiguousarray(b)
    return LINEAR_LOSS.run(backend, W, X, Y, W, b, loss, rows, scale, shift, margin, reg, penalty, beta)
