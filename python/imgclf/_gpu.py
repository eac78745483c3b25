"""CuPy glue for imgclf._cuda: scratch and outputs allocated with CuPy (its memory pool, its
current stream), out-of-memory errors that say what did not fit, uint8 row padding, and
torch tensors accepted through DLPack.

Nothing here synchronizes the device; arrays are validated by :mod:`imgclf.ops` first.
"""
from __future__ import annotations

import functools
import sys

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
    """The pointer of CuPy's current stream on the current device: every launch goes there."""
    return _cupy().cuda.get_current_stream().ptr


def data_ptr(a):
    """The address of an array's first element: CuPy (device) or NumPy (host)."""
    return a.data.ptr if type(a).__module__.startswith("cupy") else a.ctypes.data


def device_of(a):
    """The id of the CUDA device that holds the CuPy array ``a``."""
    return a.device.id


def on_device(a):
    """A context in which the device that holds ``a`` is current (CuPy's current stream is
    then that device's); the caller's current device is restored on exit.  Every launch
    of this module runs inside one, and passes that device to the binding, which makes it
    current for the launch and restores the caller's afterwards."""
    return _cupy().cuda.Device(device_of(a))


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
    """uint8 rows as the kernels read them: 32-bit words, so the data pointer 4-byte aligned
    and every row zero-padded to a multiple of 4 bytes (zero columns add nothing to L1 or
    squared L2).  An aligned array of such rows is returned as it is; anything else (odd
    widths, and views that start at an odd byte -- a slice of a larger buffer, a torch
    tensor with a storage offset -- which ascontiguousarray leaves where they are) is
    copied into a fresh, aligned, padded array.  Works on CuPy and NumPy arrays alike."""
    n, d = X.shape
    if d % 4 == 0 and data_ptr(X) % 4 == 0:
        return X
    xp = _cupy() if type(X).__module__.startswith("cupy") else np
    P = xp.zeros((n, (d + 3) // 4 * 4), dtype=np.uint8)
    P[:, :d] = X
    return P


# ---- knn planning (pure: the device's limit is an argument) ---------------------------------
# The shared memory of the kernels of csrc/cuda/knn.cu (kept in step with knn_smem_bytes
# there; the GPU tests compare the two): the select kernel holds its list of kk (distance,
# index) pairs twice plus _SEG gathered ones; float32 adds the re-rank (kk candidates
# rounded up to a power of two, as (float64, int32)) and the exact fallback (a list of k
# (float64, int32) pairs, twice, plus _SEG).
_SEG = 1024
_F32_MAX_KK = 4096


def _list_smem(kk, dist_bytes):
    return (2 * kk + _SEG) * (dist_bytes + 4) + 16


def knn_smem(kk, k, itemsize):
    """Dynamic shared memory per block (bytes) that the knn kernels launch with for a
    search with kk candidates per query and k results."""
    if itemsize == 1:
        return _list_smem(kk, 4)
    nb = 1 << max(0, (kk - 1).bit_length())
    return max(_list_smem(kk, 4), nb * 12, _list_smem(k, 8))


def knn_candidates(n_train, k, itemsize, smem_limit):
    """The candidates per query (kk) a GPU knn keeps, planned against ``smem_limit``, the
    device's opt-in shared memory per block (64 KiB on sm_75, 99 KiB on sm_86/89, 163 KiB
    on sm_80, 227 KiB on sm_90); None when no plan fits (the op then runs elsewhere).

    uint8: kk = k (exact integer distances).  float32: kk = 2k + 8 (fewer where the device
    cannot hold them: the re-rank's proof is then weaker and more queries take the exact
    fallback, whose list of k float64 entries must fit in any case)."""
    if itemsize == 1:
        kk = min(k, n_train)
    else:
        kk = min(2 * k + 8, n_train, _F32_MAX_KK)
        if knn_smem(k, k, itemsize) > smem_limit:
            return None
    while kk >= k and knn_smem(kk, k, itemsize) > smem_limit:
        # shrink to the largest kk the select list allows, then below the re-rank's power of two
        cap = ((smem_limit - 16) // 8 - _SEG) // 2
        kk = min(kk - 1, cap) if cap < kk else (1 << ((kk - 1).bit_length() - 1))
    return kk if kk >= k else None


_SMEM = {}


def max_shared_memory(device):
    """The opt-in shared memory per block of a device (asked once per device)."""
    v = _SMEM.get(device)
    if v is None:
        v = _SMEM[device] = int(_cuda().max_shared_memory(device))
    return v


def knn_fits(X, Y, k):
    """Whether the CUDA knn can take k on the device that holds X."""
    return knn_candidates(Y.shape[0], k, X.dtype.itemsize, max_shared_memory(device_of(X))) is not None


def knn(X, Y, k, metric):
    """Fused search on the GPU that holds X: X, Y C-contiguous CuPy float32 or uint8 of one
    dtype; metric "l1" or "sqeuclidean"."""
    nq, nt = X.shape[0], Y.shape[0]
    item = X.dtype.itemsize
    dev = device_of(X)
    with on_device(X):
        if item == 1:
            X, Y = pad4(X), pad4(Y)
        kk = knn_candidates(nt, k, item, max_shared_memory(dev))
        if kk is None:
            raise ValueError(f"k={k} is too large for the shared memory of GPU {dev}")
        nbytes = _cuda().knn_workspace(nq, nt, kk, item)
        what = f"knn ({nq} queries x {nt} training rows, k={k})"
        ws = empty(max(int(nbytes), 1), np.uint8, what + " scratch")
        dist = empty((nq, k), np.float32 if item == 4 else np.int32, what + " distances")
        idx = empty((nq, k), np.int64, what + " indices")
        _cuda().knn(X.data.ptr, nq, Y.data.ptr, nt, X.shape[1], k, kk, _enum("Metric", metric), item,
                    dist.data.ptr, idx.data.ptr, ws.data.ptr, stream(), dev)
    return dist, idx


def pairwise_distances(X, Y, metric):
    nq, nt = X.shape[0], Y.shape[0]
    item = X.dtype.itemsize
    dev = device_of(X)
    with on_device(X):
        if item == 1:
            X, Y = pad4(X), pad4(Y)
        out = empty((nq, nt), np.float32 if item == 4 else np.int32,
                    f"pairwise_distances ({nq} x {nt} matrix)")
        _cuda().pairwise_distances(X.data.ptr, nq, Y.data.ptr, nt, X.shape[1], _enum("Metric", metric), item,
                                   out.data.ptr, stream(), dev)
    return out


def vote(L, D, n_classes, weights, tie_break):
    """L: (n, k) int64, D: (n, k) float64 or None; both C-contiguous CuPy arrays."""
    n, k = L.shape
    dev = device_of(L)
    with on_device(L):
        labels = empty((n,), np.int64, "vote labels")
        scores = empty((n, n_classes), np.float64, f"vote scores ({n} x {n_classes})")
        _cuda().vote(L.data.ptr, 0 if D is None else D.data.ptr, n, k, n_classes, _enum("Weights", weights),
                     _enum("TieBreak", tie_break), labels.data.ptr, scores.data.ptr, stream(), dev)
    return labels, scores


def class_loss(S, Y, kind, margin):
    """The CUDA loss on CuPy arrays: returns (0-d CuPy float64 loss, dscores), no sync."""
    cp = _cupy()
    dev = device_of(S)
    with on_device(S):
        dS = cp.empty_like(S)
        rows = cp.empty(S.shape[0], dtype=cp.float64)
        out = cp.empty((), dtype=cp.float64)
        _cuda().class_loss(S.data.ptr, S.shape[0], S.shape[1], Y.data.ptr, _enum("LossKind", kind), float(margin),
                           dS.data.ptr, rows.data.ptr, out.data.ptr, S.dtype.itemsize, stream(), dev)
    return out, dS


def check_lists(params, grads, sts):
    """The multi-tensor lists of one step have one entry per parameter (nothing is
    launched, or written, otherwise)."""
    if len(grads) != len(params):
        raise ValueError(f"grad holds {len(grads)} arrays but param holds {len(params)}")
    for j, st in enumerate(sts):
        if len(st) != len(params):
            raise ValueError(f"state {j} holds {len(st)} arrays but param holds {len(params)}")


def optim_step(kind, params, grads, sts, h):
    """One multi-tensor CUDA launch per (device, dtype) (arrays already checked);
    non-contiguous arrays take the reference on CuPy."""
    from . import _reference

    check_lists(params, grads, sts)
    groups = {}
    for i, p in enumerate(params):
        ok = all(a.flags.c_contiguous for a in [p, grads[i]] + [s[i] for s in sts])
        groups.setdefault((device_of(p), p.dtype, ok), []).append(i)
    for (dev, dtype, ok), idx in groups.items():
        with _cupy().cuda.Device(dev):
            if ok:
                ts = [(params[i].data.ptr, grads[i].data.ptr, sts[0][i].data.ptr if sts else 0,
                       sts[1][i].data.ptr if len(sts) > 1 else 0, int(params[i].size)) for i in idx]
                _cuda().optim_step(_enum("OptimKind", kind), dtype.itemsize, ts, stream(), dev, **h)
            else:
                for i in idx:
                    _reference.optim_step(kind, params[i], grads[i], [s[i] for s in sts], **h)


def dropout(h, p, seed):
    """Inverted dropout on the GPU, in place (the mask of imgclf/dropout.h)."""
    with on_device(h):
        _cuda().dropout(h.data.ptr, h.size, float(p), int(seed), h.dtype.itemsize, stream(), device_of(h))


def max_norm(W, c):
    """Max-norm on the GPU; returns the number of scaled columns as a 0-d CuPy array."""
    with on_device(W):
        norms = empty((W.shape[1],), np.float64, "max_norm column norms")
        _cuda().max_norm(W.data.ptr, W.shape[0], W.shape[1], float(c), norms.data.ptr, W.dtype.itemsize,
                         stream(), device_of(W))
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
    if isinstance(out, (tuple, list)):
        return type(out)(_to_torch(v) for v in out)
    mod = type(out).__module__
    if mod.startswith("cupy") or isinstance(out, np.ndarray):
        import torch

        return torch.from_dlpack(out) if mod.startswith("cupy") else torch.from_numpy(out)
    return out


def device_array(a):
    """``a`` as a CuPy array when it lives on a GPU (CuPy, or a torch CUDA tensor through
    DLPack, without a copy); None for anything on the host."""
    mod = type(a).__module__
    if mod.startswith("cupy"):
        return a
    if mod.startswith("torch") and getattr(a, "is_cuda", False):
        return _cupy().from_dlpack(a.detach())
    return None


def _first_cuda_tensor(vals):
    for a in vals:
        if isinstance(a, (list, tuple)):
            t = _first_cuda_tensor(a)
            if t is not None:
                return t
        elif _is_torch(a) and a.is_cuda:
            return a
    return None


def torch_stream(tensor):
    """A context in which CuPy works on the device of a CUDA ``tensor`` and on torch's
    current stream of that device: every launch and allocation of an op then goes on the
    stream that torch's own later work on the tensor is queued on, so that work is ordered
    after the op's writes (in-place optimizer steps included) without a synchronization."""
    import contextlib

    import torch

    cp = _cupy()
    dev = tensor.device.index if tensor.device.index is not None else torch.cuda.current_device()
    stack = contextlib.ExitStack()
    stack.enter_context(cp.cuda.Device(dev))
    stack.enter_context(cp.cuda.ExternalStream(torch.cuda.current_stream(dev).cuda_stream, dev))
    return stack


def accepts_torch(fn):
    """Let an op take torch tensors: CUDA tensors pass to CuPy through DLPack and CPU tensors
    to NumPy, both without a copy; array results come back as torch tensors on the same
    device.  With CUDA tensors the op runs on torch's current stream of their device
    (:func:`torch_stream`).  Calls without a tensor go straight through."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        # no tensor can exist before torch is imported (the check costs ~1 us per call)
        if "torch" not in sys.modules or not (_has_torch(args) or (kwargs and _has_torch(kwargs.values()))):
            return fn(*args, **kwargs)
        t = _first_cuda_tensor(list(args) + list(kwargs.values()))
        if t is None:
            args = [_from_torch(a) for a in args]
            kwargs = {key: _from_torch(v) for key, v in kwargs.items()}
            return _to_torch(fn(*args, **kwargs))
        with torch_stream(t):
            args = [_from_torch(a) for a in args]
            kwargs = {key: _from_torch(v) for key, v in kwargs.items()}
            return _to_torch(fn(*args, **kwargs))
    return wrapper
