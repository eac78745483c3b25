"""Argument checks shared by every layer above the kernels.

Each check returns the value in the form the caller works with, or raises TypeError (wrong
kind of value) / ValueError (right kind, wrong value) with a message that names the argument
and says what was expected.
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["check_int", "check_real", "check_labels", "check_int_array", "check_choice", "array_module",
           "as_matrix", "common_dtype", "prepare", "prepare_pair", "int_rows", "class_labels", "apart",
           "kernel_form", "KERNEL_DTYPES", "FLOATS", "ESTIMATOR_DTYPES", "validate_data",
           "flatten_images", "check_device_samples"]


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
    if type(value) is float or type(value) is int:  # the common case, checked in a few steps
        v = float(value)
        if v - v == 0.0 and (low is None or v >= low) and (high is None or v <= high):
            return v  # finite (inf - inf and nan - nan are nan) and in range
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


def check_choice(value, name, choices):
    """value, which must be one of choices (a ValueError listing them otherwise)."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def array_module(a):
    """The array module (numpy or cupy) that owns ``a``; NumPy for anything else."""
    if type(a).__module__.startswith("cupy"):
        import cupy

        return cupy
    return np


# dtypes the kernels compute in; everything else is converted (see as_matrix)
KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.uint8))
FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def as_matrix(a, name):
    """``a`` as a 2-D array (n_samples, n_features) of real numbers: N x H x W [x C] images
    are flattened per sample; 1-D input, scalars, empty arrays and complex or non-numeric
    dtypes are refused.  CuPy arrays stay CuPy arrays."""
    if not hasattr(a, "shape") or not hasattr(a, "dtype"):
        a = np.asarray(a)
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


def common_dtype(a, b):
    """The dtype two inputs are compared in: kernel dtypes stay, others become float64;
    a mixed pair is promoted (uint8 with float32 gives float32)."""
    da, db = np.dtype(a.dtype), np.dtype(b.dtype)
    da = da if da in KERNEL_DTYPES else np.dtype(np.float64)
    db = db if db in KERNEL_DTYPES else np.dtype(np.float64)
    return da if da == db else np.result_type(da, db, np.float32)


def prepare(X, name, dtype, check_finite=True):
    """X (from as_matrix) as C-contiguous native ``dtype``; floats must be finite."""
    xp = array_module(X)
    if X.dtype != dtype or not X.dtype.isnative:
        X = X.astype(dtype)
    X = xp.ascontiguousarray(X)
    if check_finite and dtype.kind == "f" and not bool(xp.isfinite(X).all()):
        bad = "NaN" if bool(xp.isnan(X).any()) else "infinity"
        raise ValueError(f"{name} contains {bad}; distances to it are undefined "
                         "(remove or impute those samples first)")
    return X


def prepare_pair(X, Y, xname, yname):
    """Two sample matrices with the same number of features, in their common dtype."""
    X0, Y0 = as_matrix(X, xname), as_matrix(Y, yname)
    if X0.shape[1] != Y0.shape[1]:
        raise ValueError(f"{xname} has {X0.shape[1]} features but {yname} has {Y0.shape[1]}")
    dtype = common_dtype(X0, Y0)
    return prepare(X0, xname, dtype), prepare(Y0, yname, dtype)


def int_rows(rows, n, name="rows"):
    """Integer row indices into n rows as contiguous int64 (booleans and floats refused)."""
    rows = np.asarray(rows)
    if rows.dtype.kind == "b":
        raise TypeError(f"{name} must be integer row indices, got a boolean mask "
                        "(pass np.flatnonzero(mask))")
    if rows.dtype.kind not in "iu":
        raise TypeError(f"{name} must be integer row indices, got dtype {rows.dtype}")
    if rows.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of row indices, got shape {rows.shape}")
    if rows.size and (int(rows.min()) < 0 or int(rows.max()) >= n):
        raise ValueError(f"{name} must index rows of X (0..{n - 1})")
    return np.ascontiguousarray(rows, dtype=np.int64)


def class_labels(y, n, n_classes, xp=np, name="y"):
    """n integer class indices in [0, n_classes) as contiguous int64."""
    Y = xp.asarray(y)
    if Y.ndim != 1 or Y.shape[0] != n:
        raise ValueError(f"{name} must be a 1-D array of {n} labels, got shape {Y.shape}")
    if Y.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer class indices, got dtype {Y.dtype}")
    if n and (bool((Y < 0).any()) or bool((Y >= n_classes).any())):
        raise ValueError(f"{name} must lie in [0, n_classes={n_classes})")
    return xp.ascontiguousarray(Y, dtype=xp.int64)


def apart(out, *arrays):
    """Copies of the arrays that may share memory with ``out`` (a kernel writing ``out``
    while it reads them would read its own results); the others unchanged."""
    return [np.array(a) if a is not None and np.may_share_memory(a, out) else a for a in arrays]


def kernel_form(a, ndim, dtypes):
    """a is already what a kernel takes: a C-contiguous NumPy array of ndim and one of dtypes."""
    return type(a) is np.ndarray and a.ndim == ndim and a.dtype in dtypes and a.flags.c_contiguous


# ---- shared by the estimators -----------------------------------------------------------------

ESTIMATOR_DTYPES = [np.float64, np.float32, np.uint8]  # kept as they are by fit/predict

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _sklearn_validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    def _sklearn_validate_data(est, X, y=None, reset=True, **kw):
        if y is None:
            return est._validate_data(X, reset=reset, **kw)
        return est._validate_data(X, y, reset=reset, **kw)


_NO_Y = object()


def validate_data(est, X, y=_NO_Y, reset=True, **kw):
    """scikit-learn's validate_data (its estimator-side checks and n_features_in_), on
    every scikit-learn version imgclf supports.  Without y, X alone is checked and
    returned; with y (even None, which scikit-learn then refuses with its own message),
    (X, y)."""
    if y is _NO_Y:
        return _sklearn_validate_data(est, X, reset=reset, **kw)
    return _sklearn_validate_data(est, X, y, reset=reset, **kw)


def flatten_images(X):
    """N x H x W [x C] images -> (N, H*W*C); anything array-like passes through."""
    if hasattr(X, "ndim") and X.ndim > 2:
        return X.reshape(X.shape[0], -1)
    return X


def check_device_samples(est, X, reset):
    """The checks validate_data makes, for samples on a GPU (CuPy), which it would copy to
    the host; xp-generic (NumPy arrays pass the same checks).  2-D or a stack of images
    (flattened), non-empty, real numbers (an estimator dtype kept, others become float64),
    finite, and the feature count: set on ``est`` when ``reset``, else compared with it.
    Returns X, C-contiguous, where it was."""
    xp = array_module(X)
    if X.ndim < 2 or X.shape[0] == 0 or int(np.prod(X.shape[1:])) == 0:
        raise ValueError(f"X must be a non-empty 2-D array (n_samples, n_features) or a stack of images, "
                         f"got shape {X.shape}")
    X = X.reshape(X.shape[0], -1)
    if X.dtype not in [np.dtype(t) for t in ESTIMATOR_DTYPES]:
        if X.dtype.kind not in "biuf":
            raise TypeError(f"X must hold real numbers, got dtype {X.dtype}")
        X = X.astype(np.float64)
    if X.dtype.kind == "f" and not bool(xp.isfinite(X).all()):
        raise ValueError("X contains NaN or infinity")
    if reset:
        est.n_features_in_ = X.shape[1]
    elif X.shape[1] != est.n_features_in_:
        raise ValueError(f"X has {X.shape[1]} features, but {type(est).__name__} is expecting "
                         f"{est.n_features_in_} features as input")
    return xp.ascontiguousarray(X)
