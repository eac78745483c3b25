"""The loss family (imgclf.ops.loss: softmax_loss, svm_loss, penalty, linear_loss) on every
backend against the NumPy reference, the facts the theory fixes, and bad input."""
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
        loss, d = f(S, y, **kw)
        assert d.dtype == dtype and d.shape == S.shape
        np.testing.assert_allclose(loss, ref_l, **TOL[dtype])
        np.testing.assert_allclose(d, ref_d, **TOL[dtype])


def test_loss_sanity_facts(config):
    # the lecture's worked example: SVM losses 2.9, 0, 12.9 -> mean 5.27
    S = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    y = np.array([0, 1, 2])
    loss, _ = config.ops.svm_loss(S, y)
    assert loss == pytest.approx((2.9 + 0 + 12.9) / 3)
    for i, want in enumerate([2.9, 0.0, 12.9]):
        assert config.ops.svm_loss(S[i:i + 1], y[i:i + 1])[0] == pytest.approx(want)
    # scores ~ 0: softmax gives log(C), SVM gives C - 1
    rng = np.random.default_rng(0)
    for C in (3, 10, 100):
        tiny = rng.standard_normal((50, C)) * 1e-9
        yy = rng.integers(0, C, 50)
        assert config.ops.softmax_loss(tiny, yy)[0] == pytest.approx(np.log(C), rel=1e-6)
        assert config.ops.svm_loss(tiny, yy)[0] == pytest.approx(C - 1, rel=1e-6)
    # a zero SVM loss stays zero when W (hence the scores) is doubled
    Sz = np.array([[5.0, 1.0, 2.0], [0.0, 4.0, 1.0]])
    yz = np.array([0, 1])
    assert config.ops.svm_loss(Sz, yz)[0] == 0
    assert config.ops.svm_loss(2 * Sz, yz)[0] == 0
    # softmax is stable for huge scores
    big = np.array([[1000.0, 0.0, -1000.0]])
    loss, d = config.ops.softmax_loss(big, np.array([1]))
    assert loss == pytest.approx(1000.0) and np.isfinite(d).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("penalty", ops.PENALTIES)
# a tail shorter than one SIMD line; several lines; blocks of 4096 with a ragged end, split
# among threads (> 65536 weights)
@pytest.mark.parametrize("shape", [(1, 3), (70, 13), (97, 131), (300, 301)])
def test_penalty_matches_reference(config, rng, dtype, penalty, shape):
    W = rng.standard_normal(shape).astype(dtype)
    W[0, :3] = 0  # sign(0) = 0
    ref_v, ref_g = R.penalty(W, 0.3, penalty, 0.7)
    v, g = config.ops.penalty(W, 0.3, penalty, beta=0.7)
    np.testing.assert_allclose(v, ref_v, **TOL[dtype])
    np.testing.assert_allclose(g, ref_g, **TOL[dtype])
    acc = np.ones_like(W)
    v2, g2 = config.ops.penalty(W, 0.3, penalty, beta=0.7, grad=acc)
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
            got = config.ops.linear_loss(X, y, W, b, loss, rows=rows, scale=1 / 255, shift=shift, reg=reg,
                                  penalty=penalty)
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
    got = config.ops.linear_loss(X[:5], y[:5], W, b, "softmax")
    want = ops.linear_loss(X[:5], y[:5], W, b, "softmax", backend="numpy")
    np.testing.assert_allclose(got[1], want[1], rtol=0, atol=1e-4 * max(1.0, np.abs(want[1]).max()))


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


def test_linear_loss_refuses_a_nan_margin(rng):
    X = rng.standard_normal((5, 4))
    W, b = rng.standard_normal((4, 3)), np.zeros(3)
    y = np.array([0, 1, 2, 0, 1])
    with pytest.raises(ValueError, match="margin must be a finite"):
        ops.linear_loss(X, y, W, b, "svm", margin=np.nan)
    with pytest.raises(ValueError, match="scale must be a finite"):
        ops.linear_loss(X, y, W, b, "svm", scale=np.inf)
