"""imgclf._gpu without a GPU: the helpers that decide what reaches the CUDA kernels (uint8
alignment and padding, the knn plan against a device's shared memory, the multi-tensor
lists, the device every launch runs on), checked on NumPy arrays and on a stand-in for
CuPy and the compiled module; and that the GPU tests fail, rather than skip, under
IMGCLF_REQUIRE_GPU=1 where no GPU is usable."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from imgclf import _gpu

from .conftest import gpu_usable

KIB = 1024


# ---- uint8 rows: aligned and padded ------------------------------------------------------------

@pytest.mark.parametrize("offset", [1, 2, 3])
@pytest.mark.parametrize("d", [4, 12, 7, 1])
def test_pad4_copies_uint8_views_that_start_off_a_word(rng, offset, d):
    n = 5
    buf = np.zeros(offset + n * d + 8, np.uint8)
    X = buf[offset : offset + n * d].reshape(n, d)  # contiguous, but at an odd byte
    X[...] = rng.integers(0, 256, (n, d), dtype=np.uint8)
    assert X.flags.c_contiguous and X.ctypes.data % 4 != 0
    P = _gpu.pad4(X)
    assert P is not X and P.ctypes.data % 4 == 0
    assert P.shape == (n, (d + 3) // 4 * 4)
    np.testing.assert_array_equal(P[:, :d], X)
    assert not P[:, d:].any()


def test_pad4_keeps_aligned_rows_of_whole_words_and_pads_the_rest(rng):
    X = np.ascontiguousarray(rng.integers(0, 256, (6, 8), dtype=np.uint8))
    assert X.ctypes.data % 4 == 0
    assert _gpu.pad4(X) is X
    Z = np.ascontiguousarray(rng.integers(0, 256, (6, 9), dtype=np.uint8))
    P = _gpu.pad4(Z)
    assert P.shape == (6, 12) and not P[:, 9:].any()
    np.testing.assert_array_equal(P[:, :9], Z)


# ---- the knn plan against the device's opt-in shared memory ----------------------------------

LIMITS = {"sm_75 (64 KiB)": 64 * KIB, "sm_86/89 (99 KiB)": 99 * KIB, "sm_80 (163 KiB)": 163 * KIB,
          "sm_90 (227 KiB)": 227 * KIB}


@pytest.mark.parametrize("limit", list(LIMITS.values()), ids=list(LIMITS))
@pytest.mark.parametrize("itemsize", [4, 1])
def test_knn_plan_never_asks_for_more_shared_memory_than_the_device_has(limit, itemsize):
    n_train = 10**6
    planned = 0
    for k in list(range(1, 64)) + list(range(64, 10000, 37)) + [2218, 2219, 2220, 3711, 3712, 4096, 4097]:
        kk = _gpu.knn_candidates(n_train, k, itemsize, limit)
        if kk is None:
            # refused only where not even k entries (the exact fallback's list) fit
            assert _gpu.knn_smem(k, k, itemsize) > limit or (itemsize == 4 and k > 4096)
            continue
        planned += 1
        assert k <= kk <= n_train
        assert _gpu.knn_smem(kk, k, itemsize) <= limit
        full = k if itemsize == 1 else min(2 * k + 8, 4096)
        if _gpu.knn_smem(full, k, itemsize) <= limit:
            assert kk == full  # the full candidate list wherever it fits
    assert planned > 0


def test_knn_plan_float32_fallback_list_is_checked():
    # (2k + 1024) * 12 + 16 bytes for the exact fallback: on a 64 KiB device k = 2218 is
    # the largest that fits, on 99 KiB k = 3711; beyond, the plan says no (another path runs)
    assert _gpu.knn_smem(2218, 2218, 4) <= 64 * KIB < _gpu.knn_smem(2219, 2219, 4)
    assert _gpu.knn_candidates(10**6, 2218, 4, 64 * KIB) is not None
    assert _gpu.knn_candidates(10**6, 2219, 4, 64 * KIB) is None
    assert _gpu.knn_candidates(10**6, 3711, 4, 99 * KIB) is not None
    assert _gpu.knn_candidates(10**6, 3712, 4, 99 * KIB) is None
    assert _gpu.knn_candidates(10**6, 4096, 4, 227 * KIB) == 4096
    # a small training set bounds the list
    assert _gpu.knn_candidates(10, 3, 4, 64 * KIB) == 10
    assert _gpu.knn_candidates(10, 10, 1, 64 * KIB) == 10


def test_the_plans_shared_memory_is_the_kernels():
    """Where imgclf._cuda is built (it loads without a GPU), its own account of the kernels'
    shared memory is the one the plan uses."""
    from imgclf import backend

    cuda = backend.cuda_module()
    if cuda is None:
        pytest.skip("no imgclf._cuda in this build")
    for item in (1, 4):
        for k in (1, 2, 5, 17, 100, 1000, 2218, 2219, 3711, 4096):
            for kk in sorted({k, 2 * k + 8, 4096, 4097}):
                if kk >= k:
                    assert cuda.knn_smem(kk, k, item) == _gpu.knn_smem(kk, k, item), (kk, k, item)


# ---- the multi-tensor lists --------------------------------------------------------------------

def test_optim_step_refuses_lists_of_different_lengths_before_any_launch():
    p = [np.zeros(3, np.float32), np.zeros(2, np.float32)]
    with pytest.raises(ValueError, match="grad holds 1 arrays but param holds 2"):
        _gpu.optim_step("sgd", p, [np.ones(3, np.float32)], [], {"lr": 1.0})
    with pytest.raises(ValueError, match="state 0 holds 1 arrays but param holds 2"):
        _gpu.optim_step("momentum", p, [np.ones(3, np.float32), np.ones(2, np.float32)],
                        [[np.zeros(3, np.float32)]], {"lr": 1.0, "momentum": 0.9})
    assert not any(a.any() for a in p)


# ---- every launch on the device that holds the arrays --------------------------------------------

class _FakeArray:
    """Enough of a CuPy array for the glue: shape, dtype, a pointer and a device."""
    __module__ = "cupy.fake"

    def __init__(self, shape, dtype, device, ptr=4096):
        self.shape = tuple(shape) if isinstance(shape, tuple) else (shape,)
        self.dtype = np.dtype(dtype)
        self.size = int(np.prod(self.shape))
        self.data = type("Mem", (), {"ptr": ptr})()
        self.device = type("Dev", (), {"id": device})()
        self.flags = type("Flags", (), {"c_contiguous": True})()


class _FakeCupy:
    """A stand-in for CuPy's device context and current stream: records the device that
    is current, as CuPy's Device context sets and restores it."""

    def __init__(self, current=0):
        self.current = current
        fake = self

        class Device:
            def __init__(self, i):
                self.i = i

            def __enter__(self):
                self.prev, fake.current = fake.current, self.i
                return self

            def __exit__(self, *exc):
                fake.current = self.prev

        class Cuda:
            pass

        self.cuda = Cuda()
        self.cuda.Device = Device
        self.cuda.get_current_stream = lambda: type("S", (), {"ptr": 1000 + fake.current})()
        self.cuda.memory = type("M", (), {"OutOfMemoryError": MemoryError})
        self.float64 = np.float64

    def empty(self, shape, dtype=np.float64):
        return _FakeArray(shape, dtype, self.current)

    def empty_like(self, a):
        return _FakeArray(a.shape, a.dtype, self.current)


class _FakeCuda:
    """Records each launch: its name, the device it was given, the device current then,
    and the stream."""

    def __init__(self, cp):
        self.cp, self.calls = cp, []
        for kind in ("Weights", "TieBreak", "LossKind", "OptimKind", "Metric"):
            setattr(self, kind, type(kind, (), {"__getattr__": lambda s, n: n})())

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)

        def launch(*args, **kwargs):
            self.calls.append((name, args, self.cp.current))
        return launch


@pytest.fixture
def fake_gpu(monkeypatch):
    cp = _FakeCupy(current=0)
    cuda = _FakeCuda(cp)
    monkeypatch.setattr(_gpu, "_cupy", lambda: cp)
    monkeypatch.setattr(_gpu, "_cuda", lambda: cuda)
    return cp, cuda


def test_launches_run_on_the_arrays_device_and_leave_the_callers_current(fake_gpu):
    cp, cuda = fake_gpu
    L = _FakeArray((4, 3), np.int64, device=1)
    _gpu.vote(L, None, 5, "uniform", "nearest")
    S = _FakeArray((4, 5), np.float32, device=1)
    Y = _FakeArray((4,), np.int64, device=1)
    loss, dS = _gpu.class_loss(S, Y, "softmax", 0.0)
    p = [_FakeArray((3,), np.float32, device=1)]
    _gpu.optim_step("sgd", p, [_FakeArray((3,), np.float32, device=1)], [], {"lr": 0.1})
    assert [c[0] for c in cuda.calls] == ["vote", "class_loss", "optim_step"]
    for name, args, current in cuda.calls:
        assert current == 1, name      # device 1 was current during the launch
        assert args[-1] == 1, name     # and the binding was told so (it sets and restores it)
        assert 1001 in args, name      # on device 1's current stream
    assert dS.device.id == 1 and loss.device.id == 1  # outputs allocated there too
    assert cp.current == 0  # the caller's current device is untouched


# ---- IMGCLF_REQUIRE_GPU=1: fail, never pass on skips --------------------------------------------

def test_require_gpu_makes_the_gpu_tests_fail_where_no_gpu_is_usable():
    ok, why = gpu_usable()
    if ok:
        pytest.skip("a GPU is usable here: tests/test_gpu.py runs for real")
    tests = Path(__file__).parent
    # (a wide terminal: the summary lines keep their reasons)
    env = dict(os.environ, IMGCLF_REQUIRE_GPU="1", COLUMNS="1000")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf",
                          str(tests / "test_gpu.py")], env=env, cwd=tests.parent,
                         capture_output=True, text=True, timeout=600)
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    summary = [line for line in out.splitlines() if " failed" in line and " in " in line][-1]
    assert "skipped" not in summary, out  # (pytest's closing line: "21 failed, 9 warnings in 1.8s")
    # every failure is for want of a GPU (or of CuPy / torch, which a GPU run needs), none
    # for another reason (the torch CPU-tensor tests need no GPU and pass where torch is)
    failed = [line for line in out.splitlines() if line.startswith("FAILED ")]
    assert failed, out
    for line in failed:
        assert "no usable GPU" in line or "IMGCLF_REQUIRE_GPU=1 but" in line, line
    env.pop("IMGCLF_REQUIRE_GPU")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          str(tests / "test_gpu.py")], env=env, cwd=tests.parent,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0 and "skipped" in run.stdout, run.stdout + run.stderr


# ---- the estimators' checks of samples on a GPU (run here on NumPy: the helper is xp-generic) ----

def test_device_sample_checks_name_the_problem_and_keep_what_is_valid(rng):
    from imgclf._validation import check_device_samples

    class Est:
        pass

    est = Est()
    imgs = rng.integers(0, 256, (6, 4, 3), dtype=np.uint8)
    X = check_device_samples(est, imgs, reset=True)
    assert X.shape == (6, 12) and X.dtype == np.uint8 and X.flags.c_contiguous and est.n_features_in_ == 12
    np.testing.assert_array_equal(X, imgs.reshape(6, 12))
    X = check_device_samples(est, np.arange(24, dtype=np.int16).reshape(2, 12)[:, ::-1], reset=False)
    assert X.dtype == np.float64 and X.flags.c_contiguous and X[0, 0] == 11
    with pytest.raises(ValueError, match="non-empty 2-D"):
        check_device_samples(est, np.zeros(5), reset=False)
    with pytest.raises(ValueError, match="non-empty 2-D"):
        check_device_samples(est, np.zeros((0, 12)), reset=False)
    with pytest.raises(ValueError, match="non-empty 2-D"):
        check_device_samples(est, np.zeros((3, 0)), reset=True)
    with pytest.raises(TypeError, match="real numbers"):
        check_device_samples(est, np.zeros((2, 12), complex), reset=False)
    bad = np.ones((2, 12), np.float32)
    bad[1, 3] = np.inf
    with pytest.raises(ValueError, match="NaN or infinity"):
        check_device_samples(est, bad, reset=False)
    with pytest.raises(ValueError, match="X has 5 features, but Est is expecting 12"):
        check_device_samples(est, np.ones((2, 5)), reset=False)
