"""TwoLayerNet (imgclf.network): gradients against centred differences, and XOR, which a
linear model cannot learn and the network does."""
import numpy as np
import pytest
from imgclf import LinearSVM, SoftmaxClassifier, TwoLayerNet, gradcheck
from imgclf.network import NetModel

# ---- gradients ---------------------------------------------------------------------------
# Centred differences in float64 carry a rounding error of about 1e-16 * |loss| / h ~ 5e-11,
# so a relative error of 1e-7 is only measurable on elements above ~1e-3: elements below
# EPS are held to 1e-7 * EPS = 1e-10 absolute.  Fixed seeds: a random draw can put a hinge
# margin within h of its kink, where no finite difference is meaningful.
EPS = 1e-3


@pytest.mark.parametrize("loss", ["softmax", "svm"])
@pytest.mark.parametrize("seed", [0, 1])
def test_network_gradients(seed, loss):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((30, 12))
    y = rng.integers(0, 4, 30)
    m = NetModel(12, 9, 4, loss=loss, reg=0.02, dtype=np.float64, rng=seed)
    _, g = m.loss(X, y)
    for k in m.params:
        num = gradcheck.numerical_gradient(lambda: m.loss(X, y)[0], m.params[k], h=1e-5)
        assert gradcheck.relative_error(g[k], num, eps=EPS) < 1e-7, k
    worst = gradcheck.grad_check_sparse(lambda: m.loss(X, y)[0], m.params["W1"], g["W1"], 20, random_state=0)
    assert worst < 1e-5  # grad_check_sparse uses the default eps floor (1e-8)
    # and a wrong gradient is caught
    assert gradcheck.relative_error(g["W1"] * 1.01, num if k == "W1" else g["W1"]) > 1e-3


def test_xor_linear_fails_network_learns():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    for cls in (SoftmaxClassifier, LinearSVM):
        lin = cls(lr=0.1, epochs=300, batch_size=4, random_state=0, progress=False).fit(X, y)
        assert lin.score(X, y) <= 0.75
    net = TwoLayerNet(hidden=16, lr=0.05, epochs=300, lr_decay=1.0, batch_size=4, random_state=0,
                      progress=False).fit(X, y)
    assert net.score(X, y) == 1.0
