import numpy as np
import pytest

from imgclf import backend


def _compiled_configs():
    """(backend, simd level) pairs to test: the reference, and every SIMD level this CPU
    supports through the compiled module."""
    out = [("numpy", None)]
    for level in backend.simd_levels():
        out.append(("cpu", level))
    return out


CONFIGS = _compiled_configs()


@pytest.fixture(params=CONFIGS, ids=[f"{b}-{s}" if s else b for b, s in CONFIGS])
def config(request):
    be, level = request.param
    if level is not None:
        previous = backend.simd_level()
        backend.set_simd_level(level)
        yield be
        backend.set_simd_level(previous)
    else:
        yield be


@pytest.fixture
def rng(request):
    # fresh data every run, but reproducible from the printed seed when a test fails
    seed = np.random.SeedSequence().entropy % (2**32)
    print(f"seed={seed}")
    return np.random.default_rng(seed)


def pytest_report_header(config):
    return (f"imgclf compiled CPU backend: {backend.cpu_available()} "
            f"(SIMD levels {backend.simd_levels()}, threads {backend.get_num_threads()}); "
            f"reason if missing: {backend.cpu_unavailable_reason()}")
