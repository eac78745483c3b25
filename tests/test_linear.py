"""LinearSVM and SoftmaxClassifier (imgclf.linear): gradients against centred differences,
L-BFGS and the penalties."""
import numpy as np
import pytest
from imgclf import SoftmaxClassifier, gradcheck
from imgclf.linear import LinearModel

from .helpers import blobs

# ---- gradients ---------------------------------------------------------------------------
# Centred differences in float64 carry a rounding error of about 1e-16 * |loss| / h ~ 5e-11,
# so a relative error of 1e-7 is only measurable on elements above ~1e-3: elements below
# EPS are held to 1e-7 * EPS = 1e-10 absolute.  Fixed seeds: a random draw can put a hinge
# margin within h of its kink, where no finite difference is meaningful.
EPS = 1e-3


@pytest.mark.parametrize("loss", ["softmax", "svm", "squared_svm"])
@pytest.mark.parametrize("penalty", ["l2", "l1", "elasticnet"])
@pytest.mark.parametrize("backend", ["auto", "numpy"])
@pytest.mark.parametrize("seed", [0, 1])
def test_linear_gradients(seed, loss, penalty, backend, monkeypatch):
    monkeypatch.setenv("IMGCLF_BACKEND", "numpy" if backend == "numpy" else "auto")
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, (40, 17)).astype(np.uint8)
    y = rng.integers(0, 5, 40)

    class P:
        scale, shift = 1 / 255, rng.random(17)

    m = LinearModel(17, 5, loss=loss, reg=0.05, penalty=penalty, beta=0.3, dtype=np.float64, rng=1,
                    init_scale=0.05, preprocess=P)
    m.params["W"][0, :2] = 1e-3  # keep |W| away from 0 where l1 has its kink (h = 1e-6)
    _, g = m.loss(X, y)
    for k in ("W", "b"):
        num = gradcheck.numerical_gradient(lambda: m.loss(X, y)[0], m.params[k], h=1e-5)
        assert gradcheck.relative_error(g[k], num, eps=EPS) < 1e-7, k


def test_lbfgs_and_penalties(rng):
    X, y = blobs(rng)
    a = SoftmaxClassifier(optimizer="lbfgs", reg=1e-2, random_state=0, progress=False).fit(X, y)
    assert a.history_["lbfgs"]["success"] and a.score(X, y) > 0.95
    l1 = SoftmaxClassifier(penalty="l1", reg=0.05, epochs=30, random_state=0, progress=False).fit(X, y)
    l2 = SoftmaxClassifier(penalty="l2", reg=0.05, epochs=30, random_state=0, progress=False).fit(X, y)
    small = lambda c: np.mean(np.abs(c.coef_) < 1e-2)
    assert small(l1) > small(l2)  # l1 drives weights to (near) zero
