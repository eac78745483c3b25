"""The regularize family: constraints and noise for training a network.

Layers: this module -> imgclf._cpu.max_norm / dropout (csrc/bindings/cpu/regularize.cpp) ->
csrc/cpu/regularize_impl.h; imgclf._cuda.max_norm / dropout (csrc/cuda/regularize.cu) for
CuPy arrays; the spec is imgclf._reference.max_norm / dropout.
"""
from __future__ import annotations

import numpy as np

from .. import _gpu, _reference
from .. import backend as _backend
from .._validation import FLOATS, array_module, check_int, check_real
from .dispatch import Array, Op

__all__ = ["max_norm", "dropout"]

MAX_NORM = Op("max_norm")
DROPOUT = Op("dropout")


@MAX_NORM.register("cpu", usable=lambda W, c: W.flags.c_contiguous)
def _max_norm_cpu(W, c):
    return int(_backend.cpu_module().max_norm(W, c))


@MAX_NORM.register("cuda", usable=lambda W, c: W.flags.c_contiguous)
def _max_norm_cuda(W, c):
    return _gpu.max_norm(W, c)


@MAX_NORM.register("numpy")
def _max_norm_reference(W, c):
    return _reference.max_norm(W, c)


@_gpu.accepts_torch
def max_norm(W: Array, c: float, *, backend: str = "auto") -> int:
    """The max-norm constraint, in place: every column of W (d, H) -- the incoming weights
    of one unit of a dense layer ``x @ W`` -- whose L2 norm exceeds ``c`` is scaled down to
    norm ``c``; the others are left exactly as they are.  Returns how many columns were
    scaled (on CuPy arrays, a 0-d device array, so nothing synchronizes)."""
    c = check_real(c, "c")
    if not c > 0:
        raise ValueError(f"c must be > 0, got {c}")
    xp = array_module(W)
    if not isinstance(W, xp.ndarray) or W.ndim != 2 or W.dtype not in FLOATS:
        raise TypeError("W must be a 2-D float32 or float64 array (updated in place)")
    if xp is np and not W.flags.writeable:
        raise ValueError("W is read-only (it is updated in place)")
    return MAX_NORM.run(backend, W, W, c)


@DROPOUT.register("cpu", usable=lambda h, p, seed: h.flags.c_contiguous)
def _dropout_cpu(h, p, seed):
    return int(_backend.cpu_module().dropout(h, p, seed))


@DROPOUT.register("cuda", usable=lambda h, p, seed: h.flags.c_contiguous)
def _dropout_cuda(h, p, seed):
    _gpu.dropout(h, p, seed)
    return None


@DROPOUT.register("numpy")
def _dropout_reference(h, p, seed):
    return _reference.dropout(h, p, seed)


@_gpu.accepts_torch
def dropout(h: Array, p: float, seed: int, *, backend: str = "auto") -> int | None:
    """Inverted dropout, in place: each element of h is kept with probability 1 - p (and
    scaled by 1 / (1 - p), so expectations are unchanged) or zeroed.  The mask is a
    counter-based hash of ``seed`` (a non-negative int below 2^64) and the element's index:
    the same seed drops the same elements on every backend and thread count, and calling
    dropout on the gradient with the forward pass's seed is the backward pass.  Returns how
    many elements were kept (None on CuPy arrays, so nothing synchronizes)."""
    p = check_real(p, "p")
    if not 0.0 <= p < 1.0:
        raise ValueError(f"p must be in [0, 1), got {p}")
    seed = check_int(seed, "seed", low=0, high=2**64 - 1)
    xp = array_module(h)
    if not isinstance(h, xp.ndarray) or h.dtype not in FLOATS:
        raise TypeError("h must be a float32 or float64 array (updated in place)")
    if xp is np and not h.flags.writeable:
        raise ValueError("h is read-only (it is updated in place)")
    if p == 0.0:
        return h.size
    return DROPOUT.run(backend, h, h, p, seed)
