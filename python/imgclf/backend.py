"""Which compute backends exist, which one an op uses, and the knobs they share.

Backends:
  "cpu"   the compiled C++ module ``imgclf._cpu`` (SIMD + OpenMP)
  "numpy" the NumPy reference (:mod:`imgclf._reference`), always available
  "cuda"  the compiled CUDA module ``imgclf._cuda`` for CuPy arrays

``IMGCLF_BACKEND`` (``auto``, ``cpu`` or ``numpy``) overrides the choice for NumPy
inputs, e.g. to compare against the reference; ``IMGCLF_SIMD`` caps the SIMD level.
"""
from __future__ import annotations

import importlib
import os
import warnings
from typing import Any

_cpu: Any = None
_cpu_error: str | None = None
_cpu_missing = False
try:
    _cpu = importlib.import_module(f"{__package__}._cpu")
except Exception as exc:  # missing or unloadable: every op falls back to the reference
    _cpu_error = f"{type(exc).__name__}: {exc}"
    _cpu_missing = isinstance(exc, ModuleNotFoundError) and exc.name == f"{__package__}._cpu"

_cuda: Any = None
_cuda_error: str | None = None
_cuda_missing = False
try:
    _cuda = importlib.import_module(f"{__package__}._cuda")
except Exception as exc:
    _cuda_error = f"{type(exc).__name__}: {exc}"
    _cuda_missing = isinstance(exc, ModuleNotFoundError) and exc.name == f"{__package__}._cuda"


def _cpu_fix() -> str:
    """What to do about a missing or unloadable imgclf._cpu."""
    here = os.path.dirname(os.path.abspath(__file__))
    if _cpu_missing:
        return (f"there is no compiled imgclf._cpu next to {here} (a source checkout on sys.path, "
                "or an incomplete install); install a wheel (pip install --force-reinstall imgclf) or build "
                "from source (pip install . in the source tree; needs a C++17 compiler with OpenMP)")
    return ("reinstall imgclf (pip install --force-reinstall --no-cache-dir imgclf); if it was built "
            "from source, rebuild it on this machine with the same Python and compiler runtime")


if _cpu is None and os.environ.get("IMGCLF_BACKEND", "").lower() != "numpy":
    # once per process (a module body runs once): a silent fallback would run every op on
    # the NumPy reference, 10-100x slower
    warnings.warn(
        f"imgclf._cpu could not be loaded ({_cpu_error}); every op falls back to the NumPy "
        f"reference, 10-100x slower. Fix: {_cpu_fix()}. `imgclf info` repeats this; "
        "IMGCLF_BACKEND=numpy chooses the reference on purpose without this warning.",
        RuntimeWarning, stacklevel=2)

BACKENDS = ("auto", "cpu", "numpy", "cuda")


def cpu_module() -> Any:
    """The compiled CPU module imgclf._cpu, or None when it did not load."""
    return _cpu


def cuda_module() -> Any:
    """The compiled CUDA module imgclf._cuda, or None when it did not load."""
    return _cuda


def cpu_available() -> bool:
    """True when the compiled CPU module loaded."""
    return _cpu is not None


def cpu_unavailable_reason() -> str | None:
    """Why imgclf._cpu did not load, and what to do about it (None when it loaded)."""
    if _cpu is not None:
        return None
    return f"{_cpu_error}. Fix: {_cpu_fix()}"


def available(name: str) -> bool:
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


def nvidia_driver() -> tuple[bool, str]:
    """(found, description) of the NVIDIA driver on this machine, asked through the CUDA
    driver library itself (libcuda), independent of imgclf._cuda."""
    import ctypes

    try:
        lib = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False, "no NVIDIA driver on this machine (libcuda.so.1 not found)"
    version = ctypes.c_int(0)
    count = ctypes.c_int(0)
    if lib.cuDriverGetVersion(ctypes.byref(version)) != 0:
        return True, "NVIDIA driver found, but it does not report its version"
    cuda = f"{version.value // 1000}.{version.value % 1000 // 10}"
    err = lib.cuInit(0)
    if err == 100:  # CUDA_ERROR_NO_DEVICE
        return True, f"NVIDIA driver for CUDA {cuda} found, but no NVIDIA GPU"
    if err != 0 or lib.cuDeviceGetCount(ctypes.byref(count)) != 0:
        return True, f"NVIDIA driver for CUDA {cuda} found, but it failed to start (CUresult {err})"
    return True, f"NVIDIA driver for CUDA {cuda}, {count.value} GPU(s)"


def gpu_status() -> tuple[bool, str]:
    """(usable, description): a GPU counts as usable only after a probe kernel ran on it.
    The description says plainly what is missing: the CUDA module, the driver, or a GPU."""
    if _cuda is None:
        found, driver = nvidia_driver()
        if _cuda_missing:
            build = ("this install is the CPU build (no imgclf._cuda; it is built from source with nvcc, "
                     "see README, GPU)")
            return False, f"{driver}; {build}" if not found else f"{build}; {driver}"
        return False, f"imgclf._cuda did not load ({_cuda_error}); {driver}"
    n, why = _cuda.device_count()
    if n == 0:
        found, driver = nvidia_driver()
        if not found:
            return False, driver
        return False, f"no usable CUDA device: {driver}" + (f" (CUDA runtime says: {why})" if why else "")
    ok, why = _cuda.probe(0)
    if not ok:
        return False, f"CUDA device 0 not usable: {why}"
    return True, f"{n} device(s); device 0: {_cuda.device_name(0)}"


def array_kind(a: Any) -> str:
    """"numpy", "cupy" or "dask": the kind of array an op was given (anything that is not
    a CuPy or Dask array is taken as NumPy input)."""
    mod = type(a).__module__
    if mod.startswith("cupy"):
        return "cupy"
    if mod.startswith("dask"):
        return "dask"
    return "numpy"


def candidates(backend: str = "auto", array: Any = None) -> tuple[str, ...]:
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


def resolve(backend: str = "auto", array: Any = None) -> str:
    """The backend that runs an op for ``array`` under the request ``backend`` (the first
    of :func:`candidates`; an op falls back to the reference for inputs its kernel does
    not take)."""
    return candidates(backend, array)[0]


def max_threads() -> int:
    """The most threads :func:`set_num_threads` accepts: 4 per CPU this process may use.
    More only adds contention, and thousands of threads can exhaust memory, which OpenMP
    answers by aborting the process."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return 4 * max(1, cpus)


def set_num_threads(n: int | None) -> None:
    """Threads for compiled CPU kernels; ``None`` or 0 restores the OpenMP default
    (``OMP_NUM_THREADS`` or all cores).  At most :func:`max_threads`."""
    if n is not None:
        from ._validation import check_int

        n = check_int(n, "n", low=0, high=max_threads())
    if _cpu is not None:
        _cpu.set_num_threads(int(n or 0))


def get_num_threads() -> int:
    """Threads the compiled CPU kernels use (1 without the compiled module)."""
    return _cpu.num_threads() if _cpu is not None else 1


def simd_levels() -> list[str]:
    """SIMD levels this CPU supports, best first (empty without the compiled module)."""
    return list(_cpu.simd_levels()) if _cpu is not None else []


def simd_level() -> str | None:
    """The SIMD level in use (None without the compiled module)."""
    return _cpu.simd_level() if _cpu is not None else None


def set_simd_level(level: str) -> None:
    """Force a SIMD level ("avx512", "avx2", "generic"), e.g. to compare them."""
    if _cpu is None:
        raise RuntimeError(f"imgclf._cpu is not available: {_cpu_error}")
    _cpu.set_simd_level(level)
