"""Losses, penalties, the fused linear minibatch, GEMM and optimizer steps: every backend
and SIMD level against the NumPy reference, plus the facts the theory fixes."""
import numpy as np
import pytest

from imgclf import _reference as R
from imgclf import ops

TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-11, atol=1e-13)}
SHAPES = [(1, 2), (7, 3), (64, 10), (33, 17), (300, 100)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,C", SHAPES)
def test_losses_match_reference(config, rng, dtype, n, C):
    S = (rng.standard_normal((n, C)) * 3).astype(dtype)
    y = rng.integers(0, C, n)
    S[0, :] = S[0, 0]  # a row of ties (every margin exactly 1, softmax uniform)
    for name, kw in [("softmax", {}), ("svm", {}), ("svm", {"squared": True}), ("svm", {"margin": 0.5})]:
        f = ops.softmax_loss if name == "softmax" else ops.svm_loss
        ref_l, ref_d = (R.softmax_loss(S, y) if name == "softmax"
                        else R.svm_loss(S, y, kw.get("margin", 1.0), kw.get("squared", False)))
        loss, d = f(S, y, backend=config, **kw)
        assert d.dtype == dtype and d.shape == S.shape
        np.testing.assert_allclose(loss, ref_l, **TOL[dtype])
        np.testing.assert_allclose(d, ref_d, **TOL[dtype])


def test_loss_sanity_facts(config):
    # the lecture's worked example: SVM losses 2.9, 0, 12.9 -> mean 5.27
    S = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    y = np.array([0, 1, 2])
    loss, _ = ops.svm_loss(S, y, backend=config)
    assert loss == pytest.approx((2.9 + 0 + 12.9) / 3)
    for i, want in enumerate([2.9, 0.0, 12.9]):
        assert ops.svm_loss(S[i:i + 1], y[i:i + 1], backend=config)[0] == pytest.approx(want)
    # scores ~ 0: softmax gives log(C), SVM gives C - 1
    rng = np.random.default_rng(0)
    for C in (3, 10, 100):
        tiny = rng.standard_normal((50, C)) * 1e-9
        yy = rng.integers(0, C, 50)
        assert ops.softmax_loss(tiny, yy, backend=config)[0] == pytest.approx(np.log(C), rel=1e-6)
        assert ops.svm_loss(tiny, yy, backend=config)[0] == pytest.approx(C - 1, rel=1e-6)
    # a zero SVM loss stays zero when W (hence the scores) is doubled
    Sz = np.array([[5.0, 1.0, 2.0], [0.0, 4.0, 1.0]])
    yz = np.array([0, 1])
    assert ops.svm_loss(Sz, yz, backend=config)[0] == 0
    assert ops.svm_loss(2 * Sz, yz, backend=config)[0] == 0
    # softmax is stable for huge scores
    big = np.array([[1000.0, 0.0, -1000.0]])
    loss, d = ops.softmax_loss(big, np.array([1]), backend=config)
    assert loss == pytest.approx(1000.0) and np.isfinite(d).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("penalty", ops.PENALTIES)
def test_penalty_matches_reference(config, rng, dtype, penalty):
    W = rng.standard_normal((70, 13)).astype(dtype)
    W[0, :3] = 0  # sign(0) = 0
    ref_v, ref_g = R.penalty(W, 0.3, penalty, 0.7)
    v, g = ops.penalty(W, 0.3, penalty, beta=0.7, backend=config)
    np.testing.assert_allclose(v, ref_v, **TOL[dtype])
    np.testing.assert_allclose(g, ref_g, **TOL[dtype])
    acc = np.ones_like(W)
    v2, g2 = ops.penalty(W, 0.3, penalty, beta=0.7, grad=acc, backend=config)
    assert g2 is acc
    np.testing.assert_allclose(acc, 1 + ref_g, **TOL[dtype])


@pytest.mark.parametrize("wdtype", [np.float32, np.float64])
@pytest.mark.parametrize("xdtype", [np.uint8, np.float32, np.float64])
@pytest.mark.parametrize("d,C", [(1, 2), (7, 3), (33, 10), (784, 10), (65, 23), (100, 130)])
def test_linear_loss_matches_reference(config, rng, wdtype, xdtype, d, C):
    n = 90
    X = (rng.integers(0, 256, (n, d)) if xdtype == np.uint8 else rng.standard_normal((n, d)) * 50).astype(xdtype)
    W = (rng.standard_normal((d, C)) * 0.01).astype(wdtype)
    b = rng.standard_normal(C).astype(wdtype)
    rows = rng.integers(0, n, 37)  # repeats allowed
    y = rng.integers(0, C, 37)
    shift = rng.random(d).astype(wdtype)
    for loss in ops.LOSSES:
        for penalty, reg in [("l2", 0.0), ("elasticnet", 0.1), ("l1", 0.01)]:
            got = ops.linear_loss(X, y, W, b, loss, rows=rows, scale=1 / 255, shift=shift, reg=reg,
                                  penalty=penalty, backend=config)
            want = ops.linear_loss(X, y, W, b, loss, rows=rows, scale=1 / 255, shift=shift, reg=reg,
                                   penalty=penalty, backend="numpy")
            # float32: errors are relative to the array's scale (a folded affine map and a
            # different summation order give ~1e-6 of max|g| on each element)
            rel = 2e-5 if wdtype == np.float32 else 1e-10
            np.testing.assert_allclose(got[0], want[0], rtol=rel)
            for a, w in zip(got[1:], want[1:]):
                assert a.dtype == wdtype
                np.testing.assert_allclose(a, w, rtol=0, atol=rel * max(1.0, np.abs(w).max()))
    # rows=None and no shift
    got = ops.linear_loss(X[:5], y[:5], W, b, "softmax", backend=config)
    want = ops.linear_loss(X[:5], y[:5], W, b, "softmax", backend="numpy")
    np.testing.assert_allclose(got[1], want[1], rtol=0, atol=1e-4 * max(1.0, np.abs(want[1]).max()))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_matches_numpy(config, rng, dtype):
    for M, N, K in [(1, 1, 1), (13, 37, 5), (256, 256, 784), (784, 64, 256), (5, 130, 1000), (12, 32, 0)]:
        for ta in (False, True):
            for tb in (False, True):
                A = rng.standard_normal((K, M) if ta else (M, K)).astype(dtype)
                B = rng.standard_normal((N, K) if tb else (K, N)).astype(dtype)
                out = rng.standard_normal((M, N)).astype(dtype)
                want = 0.5 * ((A.T if ta else A) @ (B.T if tb else B)).astype(np.float64) + 2 * out
                got = ops.gemm(A, B, out, trans_a=ta, trans_b=tb, alpha=0.5, beta=2.0, backend=config)
                scale = max(1.0, np.abs(want).max())
                assert np.abs(got - want).max() / scale < (1e-4 if dtype == np.float32 else 1e-11)


OPTS = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"]
N_STATES = {"sgd": 0, "adam": 2}


def _call(kind, p, g, st, t, backend):
    f = getattr(ops, kind + "_step")
    kw = {"lr": 0.01, "backend": backend}
    if kind in ("momentum", "nesterov"):
        kw["rho"] = 0.9
    if kind == "rmsprop":
        kw["decay"] = 0.95
    if kind == "adam":
        kw.update(step=t, weight_decay=0.05)
    f(p, g, *st, **kw)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", OPTS)
def test_optimizers_match_reference(config, rng, dtype, kind):
    shapes = [(1,), (7, 3), (70001,), (128, 129)]  # chunk boundaries and odd sizes, one call
    P = [rng.standard_normal(s).astype(dtype) for s in shapes]
    Pr = [p.copy() for p in P]
    ns = N_STATES.get(kind, 1)
    S = [[np.zeros(s, dtype) for s in shapes] for _ in range(ns)]
    Sr = [[a.copy() for a in c] for c in S]
    for t in range(1, 5):
        G = [rng.standard_normal(s).astype(dtype) for s in shapes]
        _call(kind, P, G, S, t, config)
        for i in range(len(shapes)):  # the reference, one tensor at a time
            _call(kind, Pr[i], G[i], [c[i] for c in Sr], t, "numpy")
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    for a, b in zip(P, Pr):
        np.testing.assert_allclose(a, b, **tol)


def test_optimizer_rules_by_hand(config):
    w = np.array([1.0, -2.0]); g = np.array([0.5, 0.5]); v = np.array([0.1, -0.1])
    ops.nesterov_step(w, g, v, lr=0.1, rho=0.9, backend=config)
    v_new = 0.9 * np.array([0.1, -0.1]) - 0.1 * 0.5
    np.testing.assert_allclose(v, v_new)
    np.testing.assert_allclose(w, np.array([1.0, -2.0]) - 0.9 * np.array([0.1, -0.1]) + 1.9 * v_new)
    # Adam's first bias-corrected step moves every weight by about lr, whatever the gradient scale
    rng = np.random.default_rng(0)
    w = rng.standard_normal(1000); w0 = w.copy()
    g = rng.standard_normal(1000) * 10.0 ** rng.integers(-3, 4, 1000)
    m, s = np.zeros(1000), np.zeros(1000)
    ops.adam_step(w, g, m, s, step=1, lr=1e-3, backend=config)
    np.testing.assert_allclose(np.abs(w - w0), 1e-3, rtol=1e-2)  # eps matters only for tiny g


def test_optimizer_bad_input():
    p = np.zeros(3, np.float32)
    with pytest.raises(ValueError, match="grad"):
        ops.sgd_step(p, np.zeros(4, np.float32), lr=0.1)
    with pytest.raises(ValueError, match="grad"):
        ops.sgd_step(p, np.zeros(3, np.float64), lr=0.1)
    with pytest.raises(TypeError, match="param"):
        ops.sgd_step(np.zeros(3, np.int32), np.zeros(3, np.int32), lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        ops.sgd_step(p, p.copy(), lr=float("nan"))
    with pytest.raises(ValueError, match="step"):
        ops.adam_step(p, p.copy(), p.copy(), p.copy(), step=0)
    with pytest.raises(ValueError, match="state"):
        ops.momentum_step([p], [p.copy()], [], lr=0.1)
    ro = np.zeros(3, np.float32); ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        ops.sgd_step(ro, p, lr=0.1)
    # non-contiguous params still update (the checked path)
    big = np.zeros((4, 6)); view = big[:, ::2]
    ops.sgd_step(view, np.ones((4, 3)), lr=0.5)
    assert (big[:, ::2] == -0.5).all() and (big[:, 1::2] == 0).all()


def test_loss_bad_input():
    S = np.zeros((4, 3))
    with pytest.raises(ValueError, match="y must lie"):
        ops.softmax_loss(S, np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="y must be"):
        ops.svm_loss(S, np.array([0, 1]))
    with pytest.raises(TypeError, match="y must hold integer"):
        ops.svm_loss(S, np.array([0.0, 1, 2, 0]))
    with pytest.raises(ValueError, match="NaN"):
        ops.softmax_loss(np.full((2, 2), np.nan), np.array([0, 1]))
    with pytest.raises(ValueError, match="penalty"):
        ops.penalty(np.zeros(3), 0.1, "l3")
    with pytest.raises(ValueError, match="reg"):
        ops.penalty(np.zeros(3), -1.0)
    X = np.zeros((5, 4), np.uint8)
    W = np.zeros((4, 3), np.float32); b = np.zeros(3, np.float32)
    with pytest.raises(ValueError, match="rows"):
        ops.linear_loss(X, np.zeros(2, np.int64), W, b, rows=np.array([0, 9]))
    with pytest.raises(ValueError, match="rows"):
        ops.linear_loss(X, np.zeros(2, np.int64), W, b, rows=np.array([0, 9], np.int64))
    with pytest.raises(ValueError, match="feature"):
        ops.linear_loss(np.zeros((5, 6), np.uint8), np.zeros(5, np.int64), W, b)
    with pytest.raises(ValueError, match="loss"):
        ops.linear_loss(X, np.zeros(5, np.int64), W, b, "hinge")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dense_layer_helpers_match_reference(config, rng, dtype):
    for n, H in [(1, 1), (7, 13), (256, 256), (300, 65)]:
        h = rng.standard_normal((n, H)).astype(dtype)
        b = rng.standard_normal(H).astype(dtype)
        h[0, 0] = -b[0]  # exactly 0 after the bias: the ReLU keeps 0, the mask drops it
        for relu in (True, False):
            got = ops.bias_relu(h.copy(), b, relu, backend=config)
            want = R.bias_relu(h.copy(), b, relu)
            np.testing.assert_array_equal(got, want)
        out = ops.bias_relu(h.copy(), b, backend=config)
        dh = rng.standard_normal((n, H)).astype(dtype)
        d1, d2 = dh.copy(), dh.copy()
        db1 = ops.relu_backward(d1, out, backend=config)
        db2 = R.relu_backward(d2, out)
        np.testing.assert_array_equal(d1, d2)
        # a column sum's rounding scales with the sum of |terms|, not with the (cancelled) result
        bound = (1e-5 if dtype == np.float32 else 1e-12) * np.abs(d2).astype(np.float64).sum(0) + 1e-30
        assert (np.abs(db1.astype(np.float64) - d2.astype(np.float64).sum(0)) <= bound).all()
    X = rng.integers(0, 256, (50, 37)).astype(np.uint8)
    rows = rng.integers(0, 50, 21)
    shift = rng.random(37)
    for src in (X, X.astype(np.float32), X.astype(np.float64)):
        got = ops.affine_rows(src, rows, 1 / 255, shift, dtype=dtype, backend=config)
        want = R.affine_rows(src, rows, 1 / 255, shift.astype(dtype), np.dtype(dtype))
        np.testing.assert_allclose(got, want, **TOL[dtype])
        np.testing.assert_allclose(ops.affine_rows(src, dtype=dtype, backend=config), src.astype(dtype))
    with pytest.raises(ValueError, match="rows"):
        ops.affine_rows(X, np.array([0, 50]))
    with pytest.raises(ValueError, match="b must"):
        ops.bias_relu(np.zeros((2, 3)), np.zeros(4))
