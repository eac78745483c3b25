"""The regularize family (imgclf.ops.regularize: max_norm) on every backend against the
NumPy reference."""
import numpy as np
import pytest
from imgclf import _reference as R
from imgclf import ops


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("d,H", [(1, 1), (7, 3), (784, 256), (300, 1), (1, 300), (129, 65)])
def test_max_norm_matches_reference(config, rng, dtype, d, H):
    W = (rng.standard_normal((d, H)) * rng.uniform(0.1, 3, H)).astype(dtype)  # some columns over c
    c = float(np.median(np.sqrt((W.astype(np.float64) ** 2).sum(0)))) + 1e-3
    want = W.copy()
    n_want = R.max_norm(want, c)
    got = W.copy()
    n = config.ops.max_norm(got, c)
    assert int(n) == n_want
    np.testing.assert_allclose(got, want, rtol=2e-6 if dtype == np.float32 else 1e-13, atol=0)
    norms = np.sqrt((got.astype(np.float64) ** 2).sum(0))
    assert (norms <= c * (1 + 1e-5)).all()
    keep = np.sqrt((W.astype(np.float64) ** 2).sum(0)) <= c
    np.testing.assert_array_equal(got[:, keep], W[:, keep])  # columns within the bound: untouched


def test_max_norm_bad_input():
    with pytest.raises(ValueError, match="c must be > 0"):
        ops.max_norm(np.zeros((2, 2)), 0.0)
    with pytest.raises(TypeError, match="W must be a 2-D float32 or float64"):
        ops.max_norm(np.zeros(3), 1.0)
    ro = np.zeros((2, 2))
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        ops.max_norm(ro, 1.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_matches_reference_and_is_its_own_backward(config, rng, dtype, p):
    for shape in [(1, 1), (7, 13), (256, 300)]:
        h = rng.standard_normal(shape).astype(dtype)
        seed = int(rng.integers(0, 2**63))
        want = h.copy()
        n_keep = R.dropout(want, p, seed)
        got = h.copy()
        kept = config.ops.dropout(got, p, seed)
        if kept is not None:
            assert int(kept) == n_keep
        np.testing.assert_allclose(got, want, rtol=1e-7 if dtype == np.float32 else 1e-15)
        mask = want != 0
        np.testing.assert_allclose(got[mask], (h[mask] / (1 - p)).astype(dtype), rtol=1e-6)
        # the same seed on the gradient drops the same elements
        g = np.ones(shape, dtype)
        config.ops.dropout(g, p, seed)
        np.testing.assert_array_equal(g != 0, want != 0)  # (h is never exactly 0 here)
    big = np.ones((1000, 1000), dtype)
    config.ops.dropout(big, p, 12345)
    assert abs((big != 0).mean() - (1 - p)) < 0.005  # the keep rate is 1 - p
    assert abs(float(big.astype(np.float64).mean()) - 1.0) < 0.01  # inverted: expectation kept


def test_dropout_seeds_differ_and_bad_input():
    a, b = np.ones(10000), np.ones(10000)
    ops.dropout(a, 0.5, 1)
    ops.dropout(b, 0.5, 2)
    assert ((a == 0) != (b == 0)).mean() > 0.4
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\)"):
        ops.dropout(np.ones(3), 1.0, 0)
    with pytest.raises(ValueError, match="seed must be"):
        ops.dropout(np.ones(3), 0.5, -1)
    with pytest.raises(TypeError, match="seed must be an int"):
        ops.dropout(np.ones(3), 0.5, 1.5)
