"""CuPy glue for imgclf._cuda: scratch and outputs allocated with CuPy (its memory pool, its
current stream), out-of-memory errors that say what did not fit, uint8 row padding, and
torch tensors accepted through DLPack.

Nothing here synchronizes the device; arrays are validated by :mod:`imgclf.ops` first.
"""
from __future__ import annotations

import functools

import numpy as np

from . import backend as _backend


def cupy():
    """The cupy module (imported on first use)."""
    import cupy as cp

    return cp


_cupy = cupy


def to_host(a):
    """A NumPy copy of a CuPy array (anything else as NumPy)."""
    return a.get() if type(a).__module__.startswith("cupy") else np.asarray(a)


def _cuda():
    return _backend.cuda_module()


def _enum(kind, name):
    return getattr(getattr(_cuda(), kind), name)


def stream():
    """The pointer of CuPy's current stream: every launch goes there."""
    return _cupy().cuda.get_current_stream().ptr


def empty(shape, dtype, what):
    """cupy.empty, with a MemoryError naming the op and the size when the GPU is full.
    CuPy's allocator stays usable afterwards, so the process keeps working."""
    cp = _cupy()
    try:
        return cp.empty(shape, dtype=dtype)
    except cp.cuda.memory.OutOfMemoryError as exc:
        shape = shape if isinstance(shape, tuple) else (shape,)
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        raise MemoryError(
            f"{what}: the GPU could not allocate {nbytes / 2**20:.1f} MiB (shape {shape}, "
            f"{np.dtype(dtype).name}). Pass fewer rows per call (a smaller batch_size, or the "
            "queries in chunks) or free GPU memory.") from exc


def pad4(X):
    """uint8 rows zero-padded to a multiple of 4 bytes (the kernels read 32-bit words;
    zero columns add nothing to L1 or squared L2)."""
    n, d = X.shape
    if d % 4 == 0:
        return X
    P = _cupy().zeros((n, (d + 3) // 4 * 4), dtype=np.uint8)
    P[:, :d] = X
    return P


def knn(X, Y, k, metric):
    """Fused search on the GPU: X, Y C-contiguous CuPy float32 or uint8 of one dtype;
    metric "l1" or "sqeuclidean"."""
    cp = _cupy()
    nq, nt = X.shape[0], Y.shape[0]
    item = X.dtype.itemsize
    if item == 1:
        X, Y = pad4(X), pad4(Y)
    kk, nbytes = _cuda().knn_plan(nq, nt, k, item, cp.cuda.Device().id)
    what = f"knn ({nq} queries x {nt} training rows, k={k})"
    ws = empty(max(int(nbytes), 1), np.uint8, what + " scratch")
    dist = empty((nq, k), np.float32 if item == 4 else np.int32, what + " distances")
    idx = empty((nq, k), np.int64, what + " indices")
    _cuda().knn(X.data.ptr, nq, Y.data.ptr, nt, X.shape[1], k, kk, _enum("Metric", metric), item,
                dist.data.ptr, idx.data.ptr, ws.data.ptr, stream())
    return dist, idx


def pairwise_distances(X, Y, metric):
    nq, nt = X.shape[0], Y.shape[0]
    item = X.dtype.itemsize
    if item == 1:
        X, Y = pad4(X), pad4(Y)
    out = empty((nq, nt), np.float32 if item == 4 else np.int32,
                f"pairwise_distances ({nq} x {nt} matrix)")
    _cuda().pairwise_distances(X.data.ptr, nq, Y.data.ptr, nt, X.shape[1], _enum("Metric", metric), item,
                               out.data.ptr, stream())
    return out


def vote(L, D, n_classes, weights, tie_break):
    """L: (n, k) int64, D: (n, k) float64 or None; both C-contiguous CuPy arrays."""
    n, k = L.shape
    labels = empty((n,), np.int64, "vote labels")
    scores = empty((n, n_classes), np.float64, f"vote scores ({n} x {n_classes})")
    _cuda().vote(L.data.ptr, 0 if D is None else D.data.ptr, n, k, n_classes, _enum("Weights", weights),
                 _enum("TieBreak", tie_break), labels.data.ptr, scores.data.ptr, stream())
    return labels, scores


def class_loss(S, Y, kind, margin):
    """The CUDA loss on CuPy arrays: returns (0-d CuPy float64 loss, dscores), no sync."""
    cp = _cupy()
    dS = cp.empty_like(S)
    rows = cp.empty(S.shape[0], dtype=cp.float64)
    out = cp.empty((), dtype=cp.float64)
    _cuda().class_loss(S.data.ptr, S.shape[0], S.shape[1], Y.data.ptr, _enum("LossKind", kind), float(margin),
                       dS.data.ptr, rows.data.ptr, out.data.ptr, S.dtype.itemsize, stream())
    return out, dS


def optim_step(kind, params, grads, sts, h):
    """One multi-tensor CUDA launch per dtype (arrays already checked); non-contiguous
    arrays take the reference on CuPy."""
    from . import _reference

    groups = {}
    for i, p in enumerate(params):
        ok = all(a.flags.c_contiguous for a in [p, grads[i]] + [s[i] for s in sts])
        groups.setdefault((p.dtype, ok), []).append(i)
    for (dtype, ok), idx in groups.items():
        if ok:
            ts = [(params[i].data.ptr, grads[i].data.ptr, sts[0][i].data.ptr if sts else 0,
                   sts[1][i].data.ptr if len(sts) > 1 else 0, int(params[i].size)) for i in idx]
            _cuda().optim_step(_enum("OptimKind", kind), dtype.itemsize, ts, stream(), **h)
        else:
            for i in idx:
                _reference.optim_step(kind, params[i], grads[i], [s[i] for s in sts], **h)


def dropout(h, p, seed):
    """Inverted dropout on the GPU, in place (the mask of imgclf/dropout.h)."""
    _cuda().dropout(h.data.ptr, h.size, float(p), int(seed), h.dtype.itemsize, stream())


def max_norm(W, c):
    """Max-norm on the GPU; returns the number of scaled columns as a 0-d CuPy array."""
    norms = empty((W.shape[1],), np.float64, "max_norm column norms")
    _cuda().max_norm(W.data.ptr, W.shape[0], W.shape[1], float(c), norms.data.ptr, W.dtype.itemsize, stream())
    return (norms > c).sum()


# ---- torch tensors --------------------------------------------------------------------------

def _is_torch(a):
    return type(a).__module__.startswith("torch") and hasattr(a, "is_cuda")


def _has_torch(vals):
    for a in vals:  # lists of parameters hold one kind: their first element decides
        t = type(a)
        if t is list or t is tuple:
            if a and type(a[0]).__module__.startswith("torch"):
                return True
        elif t.__module__.startswith("torch"):
            return True
    return False


def _from_torch(a):
    if isinstance(a, (list, tuple)):
        return type(a)(_from_torch(v) for v in a)
    if not _is_torch(a):
        return a
    a = a.detach()
    if a.is_cuda:
        return _cupy().from_dlpack(a)  # zero-copy: in-place updates reach the tensor
    return a.numpy()                   # zero-copy view of a CPU tensor


def _to_torch(out):
    if isinstance(out, tuple):
        return tuple(_to_torch(v) for v in out)
    mod = type(out).__module__
    if mod.startswith("cupy") or isinstance(out, np.ndarray):
        import torch

        return torch.from_dlpack(out) if mod.startswith("cupy") else torch.from_numpy(out)
    return out


def accepts_torch(fn):
    """Let an op take torch tensors: CUDA tensors pass to CuPy through DLPack and CPU tensors
    to NumPy, both without a copy; array results come back as torch tensors on the same
    device.  Calls without a tensor go straight through."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if not (_has_torch(args) or (kwargs and _has_torch(kwargs.values()))):
            return fn(*args, **kwargs)
        args = [_from_torch(a) for a in args]
        kwargs = {key: _from_torch(v) for key, v in kwargs.items()}
        return _to_torch(fn(*args, **kwargs))
    return wrapper
