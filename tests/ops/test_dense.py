"""The dense family (imgclf.ops.dense: gemm, bias_act, act_backward, affine_rows) on every
backend against the NumPy reference, aliasing and bad input."""

import numpy as np
import pytest
from imgclf import _reference as R
from imgclf import backend, ops

from ..conftest import Backend
from ..helpers import interrupt_after

needs_cpu = pytest.mark.skipif(not backend.cpu_available(), reason="compiled CPU module not built")


TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-11, atol=1e-13)}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_matches_numpy(config, rng, dtype):
    for M, N, K in [(1, 1, 1), (13, 37, 5), (256, 256, 784), (784, 64, 256), (5, 130, 1000), (12, 32, 0),
                    (5, 33, 1500), (37, 70, 2100)]:  # the last two: K in 2 and 3 blocks of the GEMM's k loop
        for ta in (False, True):
            for tb in (False, True):
                A = rng.standard_normal((K, M) if ta else (M, K)).astype(dtype)
                B = rng.standard_normal((N, K) if tb else (K, N)).astype(dtype)
                out = rng.standard_normal((M, N)).astype(dtype)
                want = 0.5 * ((A.T if ta else A) @ (B.T if tb else B)).astype(np.float64) + 2 * out
                got = config.ops.gemm(A, B, out, trans_a=ta, trans_b=tb, alpha=0.5, beta=2.0)
                scale = max(1.0, np.abs(want).max())
                assert np.abs(got - want).max() / scale < (1e-4 if dtype == np.float32 else 1e-11)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dense_layer_helpers_match_reference(config, rng, dtype):
    for n, H in [(1, 1), (7, 13), (256, 256), (300, 65)]:
        h = rng.standard_normal((n, H)).astype(dtype)
        b = rng.standard_normal(H).astype(dtype)
        h[0, 0] = -b[0]  # exactly 0 after the bias: the ReLU keeps 0, the mask drops it
        for relu in (True, False):
            got = config.ops.bias_relu(h.copy(), b, relu)
            want = R.bias_relu(h.copy(), b, relu)
            np.testing.assert_array_equal(got, want)
        out = config.ops.bias_relu(h.copy(), b)
        dh = rng.standard_normal((n, H)).astype(dtype)
        d1, d2 = dh.copy(), dh.copy()
        db1 = config.ops.relu_backward(d1, out)
        db2 = R.relu_backward(d2, out)
        np.testing.assert_array_equal(d1, d2)
        # a column sum's rounding scales with the sum of |terms|, not with the (cancelled) result
        bound = (1e-5 if dtype == np.float32 else 1e-12) * np.abs(d2).astype(np.float64).sum(0) + 1e-30
        for db in (db1, db2):  # the kernel and the reference, each against the float64 sum
            assert (np.abs(db.astype(np.float64) - d2.astype(np.float64).sum(0)) <= bound).all()
    X = rng.integers(0, 256, (50, 37)).astype(np.uint8)
    rows = rng.integers(0, 50, 21)
    shift = rng.random(37)
    for src in (X, X.astype(np.float32), X.astype(np.float64)):
        got = config.ops.affine_rows(src, rows, 1 / 255, shift, dtype=dtype)
        want = R.affine_rows(src, rows, 1 / 255, shift.astype(dtype), np.dtype(dtype))
        np.testing.assert_allclose(got, want, **TOL[dtype])
        np.testing.assert_allclose(config.ops.affine_rows(src, dtype=dtype), src.astype(dtype))
        # rows without a shift, the last row of X among them (rows are prefetched ahead)
        last = np.r_[rows, 49, 0]
        np.testing.assert_allclose(config.ops.affine_rows(src, last, 2.0, dtype=dtype),
                                   R.affine_rows(src, last, 2.0, None, np.dtype(dtype)), **TOL[dtype])
    with pytest.raises(ValueError, match="rows"):
        config.ops.affine_rows(X, np.array([0, 50]))
    with pytest.raises(ValueError, match="b must"):
        config.ops.bias_relu(np.zeros((2, 3)), np.zeros(4))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_every_tile_shape(config, rng, dtype):
    # every count of rows left for the last row panel (the widest register tile is 12 rows),
    # last column panels of one and of two SIMD lines, full ones (B read in place) and not,
    # for every transpose
    for ta in (False, True):
        for tb in (False, True):
            for M in range(1, 27):
                for N in (1, 2, 5, 8, 10, 16, 17, 31, 32, 33, 48, 64, 70):
                    K = int(rng.integers(1, 40))
                    A = rng.standard_normal((K, M) if ta else (M, K)).astype(dtype)
                    B = rng.standard_normal((N, K) if tb else (K, N)).astype(dtype)
                    out = rng.standard_normal((M, N)).astype(dtype)
                    want = -1.5 * ((A.T if ta else A).astype(np.float64) @ (B.T if tb else B)) + 0.25 * out
                    got = config.ops.gemm(A, B, out, trans_a=ta, trans_b=tb, alpha=-1.5, beta=0.25)
                    scale = max(1.0, np.abs(want).max())
                    err = np.abs(got - want).max() / scale
                    assert err < (1e-5 if dtype == np.float32 else 1e-13), (M, N, K, ta, tb)


@needs_cpu
@pytest.mark.parametrize("level", backend.simd_levels())
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("alpha, beta, K", [(1.0, 0.0, 300), (0.3, 0.7, 1100)])
def test_gemm_bits_do_not_depend_on_the_tile(level, rng, dtype, alpha, beta, K):
    # the compiled GEMM sums each element of C over k in the same order whichever register
    # tile computes it (a full one, a short last row panel, a one-line last column panel)
    # and whether A and B are read in place or packed, and rounds alpha * sum and beta * C
    # on their own: rows or columns cut off the operands give the same bits, also over
    # several blocks of k (K = 1100) (a promise of imgclf's kernel, not of a BLAS)
    previous = backend.simd_level()
    backend.set_simd_level(level)
    try:
        _check_gemm_bits(Backend("cpu", level), rng, dtype, alpha, beta, K)
    finally:
        backend.set_simd_level(previous)


def _check_gemm_bits(config, rng, dtype, alpha, beta, K):
    A = rng.standard_normal((61, K)).astype(dtype)
    B = rng.standard_normal((K, 75)).astype(dtype)
    C = rng.standard_normal((61, 75)).astype(dtype)

    def gemm(A, B, C, **kw):
        return config.ops.gemm(A, B, np.array(C), alpha=alpha, beta=beta, **kw)

    full = gemm(A, B, C)
    # 32..60 rows left: every remainder of 12, 6 and 4 rows in the last panel
    for r0 in range(1, 30):
        np.testing.assert_array_equal(gemm(A[r0:], B, C[r0:]), full[r0:])
        np.testing.assert_array_equal(gemm(np.ascontiguousarray(A[r0:].T), B, C[r0:], trans_a=True), full[r0:])
    # 43..74 columns left: every remainder of 32, 16, 8 and 4 columns in the last panel
    for c0 in range(1, 33):
        np.testing.assert_array_equal(gemm(A, np.ascontiguousarray(B[:, c0:]), C[:, c0:]), full[:, c0:])
        np.testing.assert_array_equal(gemm(A, np.ascontiguousarray(B[:, c0:].T), C[:, c0:], trans_b=True),
                                      full[:, c0:])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_output_aliasing_an_input(config, rng, dtype):
    S = rng.standard_normal((40, 40)).astype(dtype)
    ref = S @ S
    out = config.ops.gemm(S, S, out=S)
    assert out is S
    np.testing.assert_allclose(S, ref, rtol=1e-4 if dtype == np.float32 else 1e-12, atol=1e-4)
    T = rng.standard_normal((50, 40)).astype(dtype)
    ref = 2.0 * T[:40] @ T[10:50].T + 0.5 * T[5:45]
    view = T[5:45]  # out overlaps both inputs, shifted
    config.ops.gemm(T[:40], T[10:50], out=view, trans_b=True, alpha=2.0, beta=0.5)
    np.testing.assert_allclose(view, ref, rtol=1e-4 if dtype == np.float32 else 1e-12, atol=1e-4)


def test_affine_rows_refuses_masks_and_float_indices(rng):
    X = rng.integers(0, 255, (6, 4), dtype=np.uint8)
    with pytest.raises(TypeError, match="rows must be integer row indices, got a boolean mask"):
        ops.affine_rows(X, np.array([True, False, True, False, False, False]))
    with pytest.raises(TypeError, match="rows must be integer row indices"):
        ops.affine_rows(X, np.array([0.0, 2.0]))
    W, b = np.zeros((4, 3)), np.zeros(3)
    with pytest.raises(TypeError, match="rows"):
        ops.linear_loss(X, np.array([0, 1]), W, b, rows=np.array([True, False, True, False, False, False]))


@needs_cpu
def test_ctrl_c_stops_a_large_gemm():
    A = np.random.default_rng(0).random((3000, 3000), dtype=np.float32)
    elapsed = interrupt_after(0.3, lambda: [ops.gemm(A, A) for _ in range(200)])
    assert elapsed < 10


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ops.ACTIVATIONS)
def test_bias_act_and_its_backward_every_activation(config, rng, dtype, activation):
    tol = TOL[dtype]
    for n, H in [(1, 1), (7, 13), (300, 65)]:
        x = (rng.standard_normal((n, H)) * 3).astype(dtype)
        b = rng.standard_normal(H).astype(dtype)
        x[0, 0] = -b[0]  # exactly 0 after the bias
        h = config.ops.bias_act(x.copy(), b, activation, slope=0.1)
        want = R.bias_act(x.copy(), b, activation, 0.1)
        np.testing.assert_allclose(h, want, **tol)
        z = (x + b).astype(np.float64)  # the derivative from the output matches d act / dz
        fd = {"relu": (z > 0) * 1.0, "leaky_relu": np.where(z > 0, 1.0, 0.1), "tanh": 1 - np.tanh(z) ** 2,
              "sigmoid": np.exp(-z) / (1 + np.exp(-z)) ** 2, "identity": np.ones_like(z)}[activation]
        dh = rng.standard_normal((n, H)).astype(dtype)
        d1 = dh.copy()
        db = config.ops.act_backward(d1, want, activation, slope=0.1)
        np.testing.assert_allclose(d1, (dh * fd).astype(dtype), rtol=1e-5 if dtype == np.float32 else 1e-9,
                                   atol=1e-6 if dtype == np.float32 else 1e-12)
        bound = (1e-5 if dtype == np.float32 else 1e-12) * np.abs(d1).astype(np.float64).sum(0) + 1e-30
        assert (np.abs(db.astype(np.float64) - d1.astype(np.float64).sum(0)) <= bound).all()


def test_bias_act_bad_input():
    with pytest.raises(ValueError, match="activation must be one of"):
        ops.bias_act(np.zeros((2, 3)), np.zeros(3), "gelu")
    with pytest.raises(ValueError, match="slope must be a finite"):
        ops.act_backward(np.zeros((2, 3)), np.zeros((2, 3)), "leaky_relu", slope=np.nan)
    ro = np.zeros((2, 3))
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        ops.bias_act(ro, np.zeros(3))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_vectorized_tanh_and_sigmoid_to_a_few_ulps(config, rng, dtype, activation):
    """tanh and sigmoid run a vector at a time (their own exp): within a few units in the
    last place of NumPy's float64 result over the whole range, in every row position (rows
    not a multiple of the vector width, a single element), at the series/exp switch of tanh
    (|x| = 1/64), near 0, and saturated (+-1000, where exp would overflow)."""
    special = np.array([0.0, -0.0, 1 / 64, -1 / 64, np.nextafter(1 / 64, 0), 1e-30, -1e-8, 3e-4, 20.0, -20.0,
                        87.5, -87.5, 700.0, -710.0, 1000.0, -1000.0])
    eps = np.finfo(dtype).eps
    for n, H in [(1, 1), (3, 5), (2, 17), (4, 64), (9, 131)]:
        z = np.concatenate([special, rng.standard_normal(n * H) * 6, rng.standard_normal(n * H) * 1e-2])
        z = rng.permutation(z)[: n * H].reshape(n, H).astype(dtype)
        b = (rng.standard_normal(H) * 0.5).astype(dtype)
        got = config.ops.bias_act(z.copy(), b, activation)
        x = z.astype(dtype) + b  # the sum is rounded to dtype first in both
        x = x.astype(np.float64)
        with np.errstate(over="ignore"):
            want = np.tanh(x) if activation == "tanh" else 1.0 / (1.0 + np.exp(-x))
        want_t = want.astype(dtype)
        err = np.abs(got.astype(np.float64) - want)
        # relative to the result where it is a normal number; sigmoid's far left tail, below
        # the smallest normal, is only held to the smallest normal
        tiny = float(np.finfo(dtype).tiny) * 2**24
        assert (err <= 16 * eps * np.abs(want) + tiny).all(), (n, H, float(err.max()))
        assert np.isfinite(got).all() and (np.abs(got) <= 1).all()
        if activation == "tanh":  # odd, and exactly 0 only at 0
            np.testing.assert_array_equal(np.sign(got), np.sign(want_t))
        else:
            assert (got >= 0).all()


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cuda_bias_act_and_backward_kernels_match_the_reference(rng, dtype):
    """csrc/cuda/dense.cu: every activation, forward and backward, on CuPy arrays against the
    NumPy reference; shapes that are not multiples of the kernels' 32-column blocks or 8 row
    groups; the bias gradient the same bits on every run (a fixed summation order)."""
    from ..conftest import need_gpu

    need_gpu()
    import cupy as cp
    from imgclf.ops.dense import ACT_BACKWARD, BIAS_ACT

    assert BIAS_ACT.backends_for("auto", cp.zeros((1, 1)))[0] == "cuda"
    assert ACT_BACKWARD.backends_for("auto", cp.zeros((1, 1)))[0] == "cuda"
    f32 = dtype == np.float32
    for activation in ops.ACTIVATIONS:
        for n, H in [(1, 1), (7, 13), (9, 33), (300, 65), (0, 5), (257, 256)]:
            x = (rng.standard_normal((n, H)) * 3).astype(dtype)
            b = rng.standard_normal(H).astype(dtype)
            if n:
                x[0, 0] = -b[0]  # exactly 0 after the bias
            want = R.bias_act(x.copy(), b, activation, 0.1)
            got = ops.bias_act(cp.asarray(x), cp.asarray(b), activation, slope=0.1)
            assert isinstance(got, cp.ndarray)
            np.testing.assert_allclose(got.get(), want, rtol=1e-6 if f32 else 1e-14, atol=1e-7 if f32 else 1e-15)
            dh = rng.standard_normal((n, H)).astype(dtype)
            d_ref = dh.copy()
            db_ref = R.act_backward(d_ref, want, activation, 0.1)
            d_gpu = cp.asarray(dh)
            db = ops.act_backward(d_gpu, cp.asarray(want), activation, slope=0.1)
            np.testing.assert_allclose(d_gpu.get(), d_ref, rtol=1e-6 if f32 else 1e-14, atol=1e-7 if f32 else 1e-15)
            bound = (1e-5 if f32 else 1e-12) * np.abs(d_ref).astype(np.float64).sum(0) + 1e-30
            assert (np.abs(db.get().astype(np.float64) - d_ref.astype(np.float64).sum(0)) <= bound).all()
            assert (np.abs(db.get().astype(np.float64) - db_ref.astype(np.float64)) <= 2 * bound).all()
            d2 = cp.asarray(dh)
            np.testing.assert_array_equal(ops.act_backward(d2, cp.asarray(want), activation, slope=0.1).get(),
                                          db.get())


@pytest.mark.gpu
def test_cuda_network_layer_round_trip_matches_the_cpu(rng):
    """One hidden layer's forward and backward (gemm, bias + tanh, dropout, its backward) on
    the GPU against the same calls on the CPU."""
    from ..conftest import need_gpu

    need_gpu()
    import cupy as cp

    x = rng.standard_normal((64, 30))
    W = rng.standard_normal((30, 20)) * 0.3
    b = rng.standard_normal(20) * 0.1
    up = rng.standard_normal((64, 20))
    outs = []
    for xp in (np, cp):
        h = ops.bias_act(ops.gemm(xp.asarray(x), xp.asarray(W)), xp.asarray(b), "tanh")
        hd = h.copy()
        ops.dropout(hd, 0.25, 7)
        d = xp.asarray(up)
        ops.dropout(d, 0.25, 7)
        db = ops.act_backward(d, h, "tanh")
        dW = ops.gemm(xp.asarray(x), d, trans_a=True)
        outs.append([a.get() if xp is cp else a for a in (h, hd, db, dW)])
    for a, g in zip(*outs):
        np.testing.assert_allclose(g, a, rtol=1e-12, atol=1e-13)
