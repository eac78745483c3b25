"""Gradient checking: compare an analytic gradient with centred finite differences.

Use float64 parameters: in float32 the rounding error of f swamps the differences.
Typical use::

    loss, grads = model.loss(X, y)
    num = numerical_gradient(lambda: model.loss(X, y)[0], model.params["W"])
    relative_error(grads["W"], num)      # ~1e-9 for a correct gradient
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["numerical_gradient", "grad_check_sparse", "relative_error"]


def _check_param(x):
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        raise TypeError("x must be a floating-point NumPy array (it is perturbed in place)")
    if not x.flags.writeable:
        raise ValueError("x must be writeable (it is perturbed in place and restored)")


def _central(f, x, i, h):
    old = x[i]
    x[i] = old + h
    fp = float(f())
    x[i] = old - h
    fm = float(f())
    x[i] = old  # restored exactly
    return (fp - fm) / (2 * h)


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Centred-difference gradient of the scalar function ``f()`` with respect to ``x``.

    f takes no arguments and reads ``x`` (an array it closes over), which is perturbed in
    place one element at a time and restored exactly.  Costs 2 * x.size calls of f.
    """
    _check_param(x)
    if not h > 0:
        raise ValueError(f"h must be > 0, got {h}")
    grad = np.zeros(x.shape, dtype=np.float64)
    for i in np.ndindex(x.shape):
        grad[i] = _central(f, x, i, h)
    return grad


def grad_check_sparse(f: Callable[[np.ndarray], float], x: np.ndarray, analytic_grad: np.ndarray,
                      num_checks: int = 10, h: float = 1e-5, random_state: int | None = None) -> float:
    """Check ``analytic_grad`` at ``num_checks`` random elements of ``x``.

    Returns the largest relative error found (see :func:`relative_error`).  Cheap enough for
    large parameter arrays where :func:`numerical_gradient` would take too long.
    """
    _check_param(x)
    analytic_grad = np.asarray(analytic_grad)
    if analytic_grad.shape != x.shape:
        raise ValueError(f"analytic_grad has shape {analytic_grad.shape} but x has {x.shape}")
    rng = np.random.default_rng(random_state)
    worst = 0.0
    for _ in range(int(num_checks)):
        i = tuple(int(rng.integers(s)) for s in x.shape)
        num = _central(f, x, i, h)
        worst = max(worst, relative_error(analytic_grad[i], num))
    return worst


def relative_error(a: ArrayLike, b: ArrayLike, eps: float = 1e-8) -> float:
    """max over elements of |a - b| / max(|a| + |b|, eps): 0 when equal, about 1 when unrelated
    (eps keeps elements that are both ~0 from dominating, as in CS231n's rel_error)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), eps))) if a.size else 0.0
