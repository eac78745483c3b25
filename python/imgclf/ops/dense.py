"""The dense family: what a network layer runs -- matrix products, bias + activation and
its backward pass, and the gather of scaled input rows.

Layers: this module -> imgclf._cpu.gemm / bias_act / act_backward / affine_rows
(csrc/bindings/cpu/dense.cpp) -> csrc/cpu/dense_impl.h; on CuPy arrays bias_act and
act_backward -> imgclf._cuda (csrc/bindings/cuda/dense.cpp) -> csrc/cuda/dense.cu, and the
other ops run the reference with xp=cupy (CuPy's cuBLAS for the products); the spec is
imgclf._reference.gemm / bias_act / act_backward / affine_rows.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

from .. import _gpu, _reference
from .. import backend as _backend
from .._validation import FLOATS, KERNEL_DTYPES, apart, array_module, as_matrix, check_choice, check_real, int_rows
from .dispatch import Array, Op, enum

__all__ = ["gemm", "bias_act", "act_backward", "bias_relu", "relu_backward", "affine_rows", "ACTIVATIONS"]

ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid", "identity")

GEMM = Op("gemm")
BIAS_ACT = Op("bias_act")
ACT_BACKWARD = Op("act_backward")
AFFINE_ROWS = Op("affine_rows")


def _writable_c(a):
    return a.flags.c_contiguous and a.flags.writeable


# ---- gemm ---------------------------------------------------------------------------------------------

@GEMM.register("cpu", usable=lambda A, B, out, ta, tb, alpha, beta: _writable_c(out))
def _gemm_cpu(A, B, out, ta, tb, alpha, beta):
    _backend.cpu_module().gemm(np.ascontiguousarray(A), np.ascontiguousarray(B), out, ta, tb, alpha, beta)
    return out


@GEMM.register("numpy")
def _gemm_reference(A, B, out, ta, tb, alpha, beta):
    return _reference.gemm(A, B, out, ta, tb, alpha, beta)


@_gpu.accepts_torch
def gemm(A: Array, B: Array, out: Array | None = None, *, trans_a: bool = False, trans_b: bool = False,
         alpha: float = 1.0, beta: float = 0.0, backend: str = "auto") -> Array:
    """``out = alpha * op(A) @ op(B) + beta * out`` (op = transpose when trans_a/trans_b).

    float32 or float64, 2-D.  The network layers use it so their matrix products run in
    imgclf's own OpenMP thread pool, next to its other kernels (a BLAS with a second pool of
    spinning threads takes cores away from them).  ``out`` may alias A or B (they are then
    read from a copy).  Returns ``out`` (allocated if None).
    """
    xp = array_module(A)
    A = xp.asarray(A)
    B = xp.asarray(B)
    if A.ndim != 2 or B.ndim != 2:
        raise ValueError(f"A and B must be 2-D, got shapes {A.shape} and {B.shape}")
    if A.dtype not in FLOATS or B.dtype != A.dtype:
        raise TypeError(f"A and B must both be float32 or both float64, got {A.dtype} and {B.dtype}")
    M, K = (A.shape[1], A.shape[0]) if trans_a else A.shape
    K2, N = (B.shape[1], B.shape[0]) if trans_b else B.shape
    if K != K2:
        raise ValueError(f"op(A) is {M}x{K} but op(B) is {K2}x{N}: inner dimensions differ")
    alpha, beta = check_real(alpha, "alpha"), check_real(beta, "beta")
    if out is None:
        if beta != 0:
            raise ValueError("beta != 0 needs out")
        out = xp.empty((M, N), dtype=A.dtype)
    elif not isinstance(out, xp.ndarray) or out.shape != (M, N) or out.dtype != A.dtype:
        raise ValueError(f"out must be a ({M}, {N}) {A.dtype} array")
    elif xp is np and not out.flags.writeable:
        raise ValueError("out is read-only")
    if xp is np:
        A, B = apart(out, A, B)  # out = A @ A.T into A: read a copy
    return GEMM.run(backend, A, A, B, out, bool(trans_a), bool(trans_b), alpha, beta)


# ---- bias + activation, and its backward pass ------------------------------------------------------------

def _act(activation, slope):
    check_choice(activation, "activation", ACTIVATIONS)
    slope = check_real(slope, "slope")
    return activation, slope


@BIAS_ACT.register("cpu", usable=lambda h, b, act, slope: _writable_c(h))
def _bias_act_cpu(h, b, act, slope):
    cpu = _backend.cpu_module()
    cpu.bias_act(h, np.ascontiguousarray(b), enum(cpu, "Activation", act), slope)
    return h


@BIAS_ACT.register("cuda", usable=lambda h, b, act, slope: h.flags.c_contiguous and b.flags.c_contiguous)
def _bias_act_cuda(h, b, act, slope):
    cuda = _backend.cuda_module()
    with _gpu.on_device(h):
        cuda.bias_act(h.data.ptr, b.data.ptr, h.shape[0], h.shape[1], enum(cuda, "Activation", act), slope,
                      h.dtype.itemsize, _gpu.stream(), _gpu.device_of(h))
    return h


@BIAS_ACT.register("numpy")
def _bias_act_reference(h, b, act, slope):
    return _reference.bias_act(h, b, act, slope)


@_gpu.accepts_torch
def bias_act(h: Array, b: Array, activation: str = "relu", *, slope: float = 0.01, backend: str = "auto") -> Array:
    """In place ``h = act(h + b)``; h (n, H), b (H,).  activation: "relu", "leaky_relu"
    (x for x > 0, ``slope * x`` otherwise), "tanh", "sigmoid" or "identity".  Returns h."""
    activation, slope = _act(activation, slope)
    xp = array_module(h)
    if not isinstance(h, xp.ndarray) or h.ndim != 2 or h.dtype not in FLOATS:
        raise TypeError("h must be a 2-D float32 or float64 array (updated in place)")
    b = xp.asarray(b)
    if b.shape != (h.shape[1],) or b.dtype != h.dtype:
        raise ValueError(f"b must have shape ({h.shape[1]},) and h's dtype")
    if xp is np:
        if not h.flags.writeable:
            raise ValueError("h is read-only (it is updated in place)")
        (b,) = apart(h, b)
    return BIAS_ACT.run(backend, h, h, b, activation, slope)


@ACT_BACKWARD.register("cpu", usable=lambda dh, h, act, slope: dh.flags.c_contiguous and h.flags.c_contiguous)
def _act_backward_cpu(dh, h, act, slope):
    cpu = _backend.cpu_module()
    db = np.empty(dh.shape[1], dh.dtype)
    cpu.act_backward(dh, h, enum(cpu, "Activation", act), slope, db)
    return db


@ACT_BACKWARD.register("cuda", usable=lambda dh, h, act, slope: dh.flags.c_contiguous and h.flags.c_contiguous)
def _act_backward_cuda(dh, h, act, slope):
    cuda = _backend.cuda_module()
    with _gpu.on_device(dh):
        db = _gpu.empty((dh.shape[1],), dh.dtype, "act_backward bias gradient")
        cuda.act_backward(dh.data.ptr, h.data.ptr, dh.shape[0], dh.shape[1], enum(cuda, "Activation", act), slope,
                          db.data.ptr, dh.dtype.itemsize, _gpu.stream(), _gpu.device_of(dh))
    return db


@ACT_BACKWARD.register("numpy")
def _act_backward_reference(dh, h, act, slope):
    return _reference.act_backward(dh, h, act, slope)


@_gpu.accepts_torch
def act_backward(dh: Array, h: Array, activation: str = "relu", *, slope: float = 0.01,
                 backend: str = "auto") -> Array:
    """The backward pass through ``h = act(x + b)``, in place: ``dh *= act'(x)`` computed
    from the layer's output h (relu: h > 0; leaky_relu: 1 or slope; tanh: 1 - h^2; sigmoid:
    h (1 - h)).  Returns the column sums of the new dh, the gradient of the layer's bias."""
    activation, slope = _act(activation, slope)
    xp = array_module(dh)
    if not isinstance(dh, xp.ndarray) or dh.ndim != 2 or dh.dtype not in FLOATS:
        raise TypeError("dh must be a 2-D float32 or float64 array (updated in place)")
    h = xp.asarray(h)
    if h.shape != dh.shape or h.dtype != dh.dtype:
        raise ValueError("h must have dh's shape and dtype")
    if xp is np:
        if not dh.flags.writeable:
            raise ValueError("dh is read-only (it is updated in place)")
        if h is not dh:
            (h,) = apart(dh, h)
    return ACT_BACKWARD.run(backend, dh, dh, h, activation, slope)


def bias_relu(h: Array, b: Array, relu: bool = True, *, backend: str = "auto") -> Array:
    """In place ``h = max(h + b, 0)`` (``relu=False``: ``h += b``): :func:`bias_act` with
    "relu" or "identity".  Returns h."""
    return bias_act(h, b, "relu" if relu else "identity", backend=backend)


def relu_backward(dh: Array, h: Array, *, backend: str = "auto") -> Array:
    """In place ``dh = 0 where h <= 0`` (the ReLU's backward pass, h its output): returns
    the column sums of dh.  :func:`act_backward` with "relu"."""
    return act_backward(dh, h, "relu", backend=backend)


# ---- the gather of scaled input rows ----------------------------------------------------------------------

@AFFINE_ROWS.register("cpu", usable=lambda X, rows, scale, shift, out: _writable_c(out))
def _affine_rows_cpu(X, rows, scale, shift, out):
    _backend.cpu_module().affine_rows(X, rows, scale, shift, out)
    return out


@AFFINE_ROWS.register("numpy")
def _affine_rows_reference(X, rows, scale, shift, out):
    out[...] = _reference.affine_rows(X, rows, scale, shift, out.dtype)
    return out


@_gpu.accepts_torch
def affine_rows(X: Array, rows: Array | None = None, scale: float = 1.0, shift: Array | None = None, *,
                dtype: DTypeLike = np.float32, out: Array | None = None, backend: str = "auto") -> Array:
    """``scale * X[rows] - shift`` as ``dtype`` (float32/float64): the input of a dense layer,
    converted as the minibatch is drawn, so uint8 images stay uint8 in memory."""
    dtype = np.dtype(dtype)
    if dtype not in FLOATS:
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    X = as_matrix(X, "X")
    xp = array_module(X)
    if X.dtype not in KERNEL_DTYPES:
        X = X.astype(np.float64)
    X = xp.ascontiguousarray(X)
    if rows is not None:
        rows = int_rows(rows, X.shape[0]) if xp is np else xp.asarray(int_rows(_gpu.to_host(rows), X.shape[0]))
    scale = check_real(scale, "scale")
    n = X.shape[0] if rows is None else rows.shape[0]
    if shift is not None:
        shift = xp.ascontiguousarray(xp.asarray(shift), dtype=dtype).reshape(-1)
        if shift.shape[0] != X.shape[1]:
            raise ValueError(f"shift must have {X.shape[1]} values (one per feature)")
    if out is None:
        out = xp.empty((n, X.shape[1]), dtype)
    elif not isinstance(out, xp.ndarray) or out.shape != (n, X.shape[1]) or out.dtype != dtype:
        raise ValueError(f"out must be a ({n}, {X.shape[1]}) {dtype} array")
    if xp is np:
        X, shift = apart(out, X, shift)
    return AFFINE_ROWS.run(backend, X, X, rows, scale, shift, out)
