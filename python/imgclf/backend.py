"""Which compute backends exist, which one an op uses, and the knobs they share.

Backends:
  "cpu"   the compiled C++ module ``imgclf._cpu`` (SIMD + OpenMP)
  "numpy" the NumPy reference (:mod:`imgclf._reference`), always available
  "cuda"  the compiled CUDA module ``imgclf._cuda`` for CuPy arrays

``IMGCLF_BACKEND`` (``auto``, ``cpu`` or ``numpy``) overrides the choice for NumPy
inputs, e.g. to compare against the reference; ``IMGCLF_SIMD`` caps the SIMD level.
"""
from __future__ import annotations

import os

_cpu = None
_cpu_error = None
try:
    from . import _cpu  # noqa: F811
except Exception as exc:  # missing or unloadable: every op falls back to the reference
    _cpu_error = f"{type(exc).__name__}: {exc}"

_cuda = None
_cuda_error = None
try:
    from . import _cuda  # noqa: F811
except Exception as exc:
    _cuda_error = f"{type(exc).__name__}: {exc}"

BACKENDS = ("auto", "cpu", "numpy", "cuda")


def cpu_module():
    """The compiled CPU module imgclf._cpu, or None when it did not load."""
    return _cpu


def cuda_module():
    """The compiled CUDA module imgclf._cuda, or None when it did not load."""
    return _cuda


def cpu_available():
    """True when the compiled CPU module loaded."""
    return _cpu is not None


def cpu_unavailable_reason():
    return _cpu_error


def available(name):
    """Whether the backend ``name`` can run at all here (its module loaded)."""
    if name == "cpu":
        return _cpu is not None
    if name == "cuda":
        return _cuda is not None
    if name == "dask":
        try:
            import dask.array  # noqa: F401
        except ImportError:
            return False
        return True
    return name == "numpy"


def gpu_status():
    """(usable, description): a GPU counts as usable only after a probe kernel ran on it."""
    if _cuda is None:
        return False, f"imgclf._cuda not available ({_cuda_error})"
    n, why = _cuda.device_count()
    if n == 0:
        return False, f"no CUDA device ({why})" if why else "no CUDA device"
    ok, why = _cuda.probe(0)
    if not ok:
        return False, f"CUDA device 0 not usable: {why}"
    return True, f"{n} device(s); device 0: {_cuda.device_name(0)}"


def array_kind(a):
    """"numpy", "cupy" or "dask": the kind of array an op was given (anything that is not
    a CuPy or Dask array is taken as NumPy input)."""
    mod = type(a).__module__
    if mod.startswith("cupy"):
        return "cupy"
    if mod.startswith("dask"):
        return "dask"
    return "numpy"


def candidates(backend="auto", array=None):
    """The backends that may run an op for ``array`` under the request ``backend``, in the
    order they are tried (an op runs the first one that has an implementation usable for
    its inputs; see imgclf.ops.dispatch).

    NumPy arrays: "cpu" (the compiled module) then "numpy" (the reference); ``auto`` follows
    IMGCLF_BACKEND.  CuPy arrays: "cuda", then the reference on CuPy.  Dask arrays: "dask",
    whose tasks run each block with ``backend``.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    kind = "numpy" if array is None else array_kind(array)
    if kind == "dask":
        return ("dask",)
    if kind == "cupy":
        if backend in ("cpu", "numpy"):
            raise ValueError(f"backend={backend!r} cannot take CuPy arrays; pass NumPy arrays or use 'cuda'")
        return ("cuda", "numpy")
    if backend == "cuda":
        raise ValueError("backend='cuda' needs CuPy arrays (cupy.asarray(x))")
    if backend == "auto":
        backend = os.environ.get("IMGCLF_BACKEND", "auto").lower() or "auto"
        if backend not in ("auto", "cpu", "numpy"):
            raise ValueError(f"IMGCLF_BACKEND must be auto, cpu or numpy, got {backend!r}")
        if backend == "auto":
            return ("cpu", "numpy") if _cpu is not None else ("numpy",)
    if backend == "cpu":
        if _cpu is None:
            raise RuntimeError(f"backend='cpu' requested but imgclf._cpu could not be loaded: {_cpu_error}")
        return ("cpu", "numpy")
    return ("numpy",)


def resolve(backend="auto", array=None):
    """The backend that runs an op for ``array`` under the request ``backend`` (the first
    of :func:`candidates`; an op falls back to the reference for inputs its kernel does
    not take)."""
    return candidates(backend, array)[0]


def max_threads():
    """The most threads :func:`set_num_threads` accepts: 4 per CPU this process may use.
    More only adds contention, and thousands of threads can exhaust memory, which OpenMP
    answers by aborting the process."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return 4 * max(1, cpus)


def set_num_threads(n):
    """Threads for compiled CPU kernels; ``None`` or 0 restores the OpenMP default
    (``OMP_NUM_THREADS`` or all cores).  At most :func:`max_threads`."""
    if n is not None:
        from ._validation import check_int

        n = check_int(n, "n", low=0, high=max_threads())
    if _cpu is not None:
        _cpu.set_num_threads(int(n or 0))


def get_num_threads():
    return _cpu.num_threads() if _cpu is not None else 1


def simd_levels():
    """SIMD levels this CPU supports, best first (empty without the compiled module)."""
    return list(_cpu.simd_levels()) if _cpu is not None else []


def simd_level():
    return _cpu.simd_level() if _cpu is not None else None


def set_simd_level(level):
    """Force a SIMD level ("avx512", "avx2", "generic"), e.g. to compare them."""
    if _cpu is None:
        raise RuntimeError(f"imgclf._cpu is not available: {_cpu_error}")
    _cpu.set_simd_level(level)
