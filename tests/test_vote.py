"""imgclf.ops.vote: compiled kernel against the reference, and the rules by hand."""
import numpy as np
import pytest

from imgclf import ops
from imgclf import _reference as R


def test_hand_examples(config):
    L = np.array([[2, 1, 1, 2], [0, 1, 2, 3], [3, 3, 0, 0], [1, 1, 1, 1]])
    lab, sc = ops.vote(L, 4, backend=config)
    np.testing.assert_array_equal(lab, [2, 0, 3, 1])  # nearest tied class wins
    np.testing.assert_array_equal(sc[0], [0, 2, 2, 0])
    lab, _ = ops.vote(L, 4, tie_break="smallest", backend=config)
    np.testing.assert_array_equal(lab, [1, 0, 0, 1])
    D = np.array([[1.0, 2, 2, 8], [0.5, 0, 0, 1], [1, 1, 1, 1], [1, 2, 3, 4]])
    lab, sc = ops.vote(L, 4, D, "distance", backend=config)
    # row 0: class 2 gets 1 + 1/8, class 1 gets 1/2 + 1/2; row 1: exact matches only
    np.testing.assert_allclose(sc[0], [0, 1.0, 1.125, 0])
    np.testing.assert_array_equal(sc[1], [0, 1, 1, 0])
    np.testing.assert_array_equal(lab, [2, 1, 3, 1])


@pytest.mark.parametrize("weights", ["uniform", "distance"])
@pytest.mark.parametrize("tie_break", ["nearest", "smallest"])
def test_matches_reference(config, rng, weights, tie_break):
    for n, k, c in [(1, 1, 1), (500, 5, 3), (200, 16, 10), (50, 7, 2)]:
        L = rng.integers(0, c, size=(n, k))
        D = np.sort(rng.integers(0, 4, size=(n, k)).astype(np.float64), axis=1)  # zeros and ties
        lab, sc = ops.vote(L, c, D, weights, tie_break=tie_break, backend=config)
        rl, rs = R.vote(L, c, D, weights, tie_break)
        np.testing.assert_array_equal(lab, rl)
        np.testing.assert_array_equal(sc, rs)
        assert lab.dtype == np.int64 and sc.shape == (n, c)
