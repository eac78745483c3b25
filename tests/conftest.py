import os
import sysconfig
from pathlib import Path

import numpy as np
import pytest

import imgclf
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
    return (f"imgclf {imgclf.__version__} from {Path(imgclf.__file__).parent}; compiled CPU backend: "
            f"{backend.cpu_available()} "
            f"(SIMD levels {backend.simd_levels()}, threads {backend.get_num_threads()}); "
            f"reason if missing: {backend.cpu_unavailable_reason()}")
