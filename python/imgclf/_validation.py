"""Argument checks shared by every layer above the kernels.

Each check returns the value in the form the caller works with, or raises TypeError (wrong
kind of value) / ValueError (right kind, wrong value) with a message that names the argument
and says what was expected.
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["check_int", "check_real", "check_labels", "check_int_array"]


def check_int(value, name, low=None, high=None):
    """A Python int in [low, high] (either bound optional).  bool and floats are refused,
    even integral ones, so that 2.7 never silently becomes 2."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r} ({type(value).__name__})")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        if high is None:
            rng = f">= {low}"
        elif low is None:
            rng = f"<= {high}"
        else:
            rng = f"in [{low}, {high}]"
        raise ValueError(f"{name} must be {rng}, got {value}")
    return value


def check_real(value, name, low=None, high=None, finite=True):
    """A Python float, finite unless finite=False, in [low, high] (either bound optional)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if np.isnan(value) or (finite and not np.isfinite(value)):
        raise ValueError(f"{name} must be a finite number, got {value}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be in [{low if low is not None else '-inf'}, "
                         f"{high if high is not None else 'inf'}], got {value}")
    return value


def check_int_array(a, name, ndim=1):
    """An integer NumPy array of ``ndim`` dimensions; floats (even integral ones), booleans
    and other kinds are refused."""
    a = np.asarray(a)
    if a.size == 0 and a.dtype.kind == "f":  # np.asarray([]) is float64: empty is empty
        a = a.astype(np.int64)
    if a.dtype.kind == "b":
        raise TypeError(f"{name} must hold integers, got booleans")
    if a.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integers, got dtype {a.dtype}")
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {a.shape}")
    return a


def check_labels(y, name, n_classes=None):
    """1-D integer class indices (in [0, n_classes) when n_classes is given)."""
    y = check_int_array(y, name)
    if n_classes is not None and y.size and (int(y.min()) < 0 or int(y.max()) >= n_classes):
        raise ValueError(f"{name} must be class indices in [0, {n_classes}), "
                         f"got values in [{y.min()}, {y.max()}]")
    return y
