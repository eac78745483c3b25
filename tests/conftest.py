"""Fixtures shared by the whole suite.

``config`` runs one test body on every backend: the NumPy reference, the compiled CPU
module at every SIMD level this CPU supports, and CUDA (CuPy arrays) where a GPU is usable.
The CUDA parameter is skipped, with the reason, where none is -- and fails instead under
IMGCLF_REQUIRE_GPU=1 (so a GPU run cannot pass having run nothing).
"""
import os
import sysconfig
from pathlib import Path

import imgclf
import numpy as np
import pytest
from imgclf import backend

REQUIRE_GPU = os.environ.get("IMGCLF_REQUIRE_GPU", "") not in ("", "0")


class Backend(str):
    """A backend a test body runs on: the name passed as ``backend=``, the SIMD level for
    the compiled CPU module, and how test data gets there and back."""

    def __new__(cls, name, level=None):
        obj = super().__new__(cls, name)
        obj.level = level
        return obj

    @property
    def xp(self):
        if self == "cuda":
            import cupy

            return cupy
        return np

    def put(self, *arrays):
        """NumPy test data on this backend's device (CuPy for "cuda"); one array or a tuple."""
        out = tuple(self.xp.asarray(a) if isinstance(a, np.ndarray) else a for a in arrays)
        return out[0] if len(out) == 1 else out

    def get(self, *arrays):
        """Results back as NumPy (floats and ints pass through)."""
        out = tuple(_to_host(a) for a in arrays)
        return out[0] if len(out) == 1 else out

    @property
    def ops(self):
        """imgclf.ops as this backend runs it: ``config.ops.knn(X, Y, k)`` is
        ``ops.knn(X, Y, k, backend=config)``; on "cuda" NumPy arguments travel to the GPU
        (the same array twice stays one device array), results come back as NumPy, and
        arrays an op updates in place are copied back into the caller's arrays."""
        return _OpsOn(self)


def _to_host(a):
    if isinstance(a, tuple):
        return tuple(_to_host(v) for v in a)
    if isinstance(a, list):
        return [_to_host(v) for v in a]
    if type(a).__module__.startswith("cupy"):
        return a.get() if a.ndim else a.item()
    return a


class _OpsOn:
    def __init__(self, be):
        self._be = be

    def __getattr__(self, name):
        from imgclf import ops

        fn = getattr(ops, name)
        be = self._be
        if be != "cuda":
            return lambda *a, **kw: fn(*a, backend=str(be), **kw)

        def on_gpu(*args, **kwargs):
            import cupy

            moved = {}  # id(host array) -> (host, device)

            def put(v):
                if isinstance(v, np.ndarray):
                    if id(v) not in moved:
                        moved[id(v)] = (v, cupy.asarray(v))
                    return moved[id(v)][1]
                if isinstance(v, (list, tuple)):
                    return type(v)(put(x) for x in v)
                return v

            out = fn(*[put(a) for a in args], backend="cuda", **{k: put(v) for k, v in kwargs.items()})
            for host, dev in moved.values():  # in-place updates reach the caller's arrays
                if host.flags.writeable:
                    host[...] = dev.get()
            for host, dev in moved.values():  # an op that returns its (in-place) argument
                if out is dev:
                    return host
            return _to_host(out)

        return on_gpu


def _configs():
    out = [pytest.param(("numpy", None), id="numpy")]
    for level in backend.simd_levels():
        out.append(pytest.param(("cpu", level), id=f"cpu-{level}"))
    out.append(pytest.param(("cuda", None), id="cuda", marks=pytest.mark.gpu))
    return out


_GPU = None


def gpu_usable():
    """(usable, why): CuPy imports and a probe kernel ran on the GPU."""
    global _GPU
    if _GPU is None:
        ok, why = backend.gpu_status()
        if ok:
            try:
                import cupy  # noqa: F401
            except ImportError as exc:
                ok, why = False, f"CuPy is not installed ({exc})"
        _GPU = (ok, why)
    return _GPU


def need_gpu():
    """Skip the calling test without a usable GPU (fail under IMGCLF_REQUIRE_GPU=1)."""
    ok, why = gpu_usable()
    if not ok:
        (pytest.fail if REQUIRE_GPU else pytest.skip)(f"no usable GPU: {why}")


def need_module(name):
    """import a module a GPU test needs (cupy, torch): skipped where it is missing, a
    failure under IMGCLF_REQUIRE_GPU=1."""
    if REQUIRE_GPU:
        import importlib

        try:
            return importlib.import_module(name)
        except ImportError as exc:
            pytest.fail(f"IMGCLF_REQUIRE_GPU=1 but {name} cannot be imported: {exc}")
    return pytest.importorskip(name)


@pytest.fixture(params=_configs())
def config(request):
    name, level = request.param
    if name == "cuda":
        need_gpu()
        yield Backend("cuda")
    elif level is not None:
        previous = backend.simd_level()
        backend.set_simd_level(level)
        yield Backend("cpu", level)
        backend.set_simd_level(previous)
    else:
        yield Backend(name)


@pytest.fixture
def rng(request):
    # fresh data every run, but reproducible from the printed seed when a test fails
    seed = np.random.SeedSequence().entropy % (2**32)
    print(f"seed={seed}")
    return np.random.default_rng(seed)


def pytest_configure(config):
    """The markers, registered here rather than in pyproject.toml: CI runs a copy of tests/
    outside the source tree, where no pyproject.toml is found."""
    from imgclf.benchmarks.plugin import MARKERS

    config.addinivalue_line("markers", "slow: end-to-end tests on full datasets (minutes)")
    config.addinivalue_line("markers", "gpu: needs a usable CUDA GPU and imgclf._cuda")
    for name, doc in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {doc}")


def pytest_sessionstart(session):
    """Where CI tests an installed wheel it sets these, so that a wheel missing its compiled
    module (or a vendored library it needs) fails instead of passing on the reference, and
    so that the tests cannot pass against the source tree by accident."""
    if os.environ.get("IMGCLF_REQUIRE_COMPILED") == "1" and not backend.cpu_available():
        raise pytest.UsageError(f"IMGCLF_REQUIRE_COMPILED=1 but imgclf._cpu did not load: "
                                f"{backend.cpu_unavailable_reason()}")
    if os.environ.get("IMGCLF_REQUIRE_INSTALLED") == "1":
        here = Path(imgclf.__file__).resolve()
        roots = {Path(sysconfig.get_paths()[k]).resolve() for k in ("purelib", "platlib")}
        if not any(here.is_relative_to(r) for r in roots):
            raise pytest.UsageError(f"IMGCLF_REQUIRE_INSTALLED=1 but imgclf was imported from {here}, "
                                    f"not from site-packages ({', '.join(map(str, sorted(roots)))})")


def pytest_report_header(config):
    ok, why = gpu_usable()
    return (f"imgclf {imgclf.__version__} from {Path(imgclf.__file__).parent}; compiled CPU backend: "
            f"{backend.cpu_available()} "
            f"(SIMD levels {backend.simd_levels()}, threads {backend.get_num_threads()}); "
            f"reason if missing: {backend.cpu_unavailable_reason()}; GPU: {'usable' if ok else why}")
