"""NeuralNet and TwoLayerNet (imgclf.network): gradients against centred differences for
every depth, activation, dropout mask and max-norm; TwoLayerNet unchanged to the bit; and
XOR, which a linear model cannot learn and the networks do."""
import numpy as np
import pytest
from imgclf import LinearSVM, NeuralNet, SoftmaxClassifier, TwoLayerNet, gradcheck, ops
from imgclf.network import ACTIVATIONS, NetModel

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


# ---- NeuralNet: any depth, every activation, dropout, max-norm ------------------------------
class _MainNetModel:
    """The two-layer model exactly as it was before NeuralNet (affine - ReLU - affine, the
    same kernels in the same order): TwoLayerNet must still train to the same bits."""

    accepts_rows = True

    def __init__(self, d, hidden, n_classes, reg, dtype, rng):
        self.params = {
            "W1": (rng.standard_normal((d, hidden)) * np.sqrt(2.0 / d)).astype(dtype),
            "b1": np.zeros(hidden, dtype=dtype),
            "W2": (rng.standard_normal((hidden, n_classes)) * np.sqrt(2.0 / hidden)).astype(dtype),
            "b2": np.zeros(n_classes, dtype=dtype),
        }
        self.reg, self.preprocess = reg, None

    def _forward(self, x):
        P = self.params
        h = ops.gemm(x, P["W1"])
        ops.bias_relu(h, P["b1"])
        s = ops.gemm(h, P["W2"])
        s += P["b2"]
        return h, s

    def loss(self, X, y, rows=None):
        P = self.params
        x = self.preprocess(X, P["W1"].dtype, rows, None)
        h, s = self._forward(x)
        value, ds = ops.softmax_loss(s, y)
        g = {"W2": ops.gemm(h, ds, trans_a=True), "b2": ds.sum(axis=0)}
        dh = ops.gemm(ds, P["W2"], trans_b=True)
        g["b1"] = ops.relu_backward(dh, h)
        g["W1"] = ops.gemm(x, dh, trans_a=True)
        for k in ("W1", "W2"):
            rv, _ = ops.penalty(P[k], self.reg, "l2", beta=0.5, grad=g[k])
            value += rv
        return value, g

    def scores(self, X):
        return self._forward(self.preprocess(X, self.params["W1"].dtype))[1]

    def predict(self, X):
        return np.argmax(self.scores(X), axis=1)


class _MainTwoLayerNet(TwoLayerNet):
    def _new_model(self, d, C, rng):
        return _MainNetModel(d, self.hidden, C, float(self.reg), np.dtype(self.dtype), rng)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_two_layer_net_trains_to_the_same_bits_as_before(dtype):
    from .helpers import blobs

    X, y = blobs(np.random.default_rng(3), n=300)
    kw = dict(hidden=24, epochs=4, batch_size=32, dtype=dtype, random_state=11, progress=False)
    new = TwoLayerNet(**kw).fit(X, y)
    old = _MainTwoLayerNet(**kw).fit(X, y)
    for k, v in old.model_.params.items():
        np.testing.assert_array_equal(new.model_.params[k], v, err_msg=k)
    assert new.history_["loss"] == old.history_["loss"]
    np.testing.assert_array_equal(new.decision_function(X), old.decision_function(X))
    # and the general class with one hidden layer is the same model
    net = NeuralNet(**kw).fit(X, y)
    np.testing.assert_array_equal(net.decision_function(X), old.decision_function(X))
    new.partial_fit(X, y)
    old.partial_fit(X, y)
    np.testing.assert_array_equal(new.decision_function(X), old.decision_function(X))


def _check_all_gradients(m, X, y, seeds=None):
    # biases off zero: with b = 0 a ReLU unit whose inputs are all zero (all dropped, or all
    # cut by the ReLUs before it) sits exactly on its kink, where no derivative exists
    brng = np.random.default_rng(99)
    for k, v in m.params.items():
        if k.startswith("b"):
            v += 0.1 * brng.standard_normal(v.shape)
    _, g = m.loss(X, y, dropout_seeds=seeds)
    assert set(g) == set(m.params)
    for k in m.params:
        num = gradcheck.numerical_gradient(lambda: m.loss(X, y, dropout_seeds=seeds)[0], m.params[k], h=1e-5)
        assert gradcheck.relative_error(g[k], num, eps=EPS) < 1e-7, k
        assert np.abs(num).max() > 1e-4, k  # the check compared something


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("hidden", [(7,), (9, 6), (8, 5, 7)])
def test_deep_network_gradients_every_activation(activation, hidden):
    rng = np.random.default_rng(len(hidden))
    X = rng.standard_normal((20, 10))
    y = rng.integers(0, 4, 20)
    m = NetModel(10, hidden, 4, reg=0.01, dtype=np.float64, rng=1, activation=activation, slope=0.1)
    assert len(m.params) == 2 * (len(hidden) + 1)
    _check_all_gradients(m, X, y)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_gradients_with_a_fixed_dropout_mask(activation, depth):
    rng = np.random.default_rng(depth)
    X = rng.standard_normal((16, 8))
    y = rng.integers(0, 3, 16)
    m = NetModel(8, (10,) * depth, 3, reg=0.01, dtype=np.float64, rng=2, activation=activation, dropout=0.3)
    seeds = np.arange(depth) + 100
    _check_all_gradients(m, X, y, seeds)
    # the masks drop units: the loss differs from the loss without dropout, and other seeds
    # give other losses, while the same seeds give the same loss
    l1 = m.loss(X, y, dropout_seeds=seeds)[0]
    assert m.loss(X, y, dropout_seeds=seeds)[0] == l1
    assert m.loss(X, y, dropout_seeds=seeds + 7)[0] != l1
    m.dropout = 0.0
    assert m.loss(X, y)[0] != l1


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_max_norm_constraint_and_gradients_on_it(activation, depth):
    rng = np.random.default_rng(depth + 10)
    X = rng.standard_normal((16, 8))
    y = rng.integers(0, 3, 16)
    m = NetModel(8, (6,) * depth, 3, reg=0.01, dtype=np.float64, rng=3, activation=activation, max_norm=0.8)
    before = {k: v.copy() for k, v in m.params.items()}
    m.after_step()
    for k, v in m.params.items():
        if k.startswith("W"):
            norms = np.linalg.norm(before[k], axis=0)
            want = before[k] * np.minimum(1.0, 0.8 / norms)
            np.testing.assert_allclose(v, want, rtol=1e-14)
            assert (np.linalg.norm(v, axis=0) <= 0.8 * (1 + 1e-12)).all()
            assert (norms > 0.8).any()  # the projection did something
        else:
            np.testing.assert_array_equal(v, before[k])
    _check_all_gradients(m, X, y)  # at the projected point


def test_max_norm_runs_after_every_step_and_dropout_is_seeded_and_off_at_predict():
    from .helpers import blobs

    X, y = blobs(np.random.default_rng(0), n=200)
    net = NeuralNet(hidden=(16, 8), max_norm=0.5, epochs=3, random_state=0, progress=False).fit(X, y)
    for i in (1, 2, 3):
        assert (np.linalg.norm(net.model_.params[f"W{i}"], axis=0) <= 0.5 * (1 + 1e-5)).all()
    kw = dict(hidden=(16, 8), dropout=0.5, epochs=3, random_state=4, progress=False)
    a = NeuralNet(**kw).fit(X, y)
    b = NeuralNet(**kw).fit(X, y)
    np.testing.assert_array_equal(a.decision_function(X), b.decision_function(X))  # seeded
    np.testing.assert_array_equal(a.decision_function(X), a.decision_function(X))  # no masks at predict
    c = NeuralNet(**{**kw, "dropout": 0.0}).fit(X, y)
    assert not np.array_equal(a.decision_function(X), c.decision_function(X))
    W = a.first_layer_weights((2, 4)) if X.shape[1] == 8 else a.first_layer_weights()
    assert W.shape[0] == 16 and W.min() >= 0 and W.max() <= 1


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_learns_xor_with_two_hidden_layers(activation):
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    net = NeuralNet(hidden=(16, 16), activation=activation, lr=0.02, epochs=400, lr_decay=1.0, batch_size=4,
                    random_state=0, progress=False).fit(X, y)
    assert net.score(X, y) == 1.0


def test_neural_net_bad_parameters():
    from .helpers import blobs

    X, y = blobs(np.random.default_rng(0), n=50)
    for bad, word in [(dict(hidden=()), "hidden"), (dict(hidden=(4, 0)), "hidden"), (dict(hidden=2.5), "hidden"),
                      (dict(activation="gelu"), "activation"), (dict(dropout=1.0), "dropout"),
                      (dict(dropout=-0.1), "dropout"), (dict(max_norm=0), "max_norm"),
                      (dict(slope=float("nan")), "slope"), (dict(optimizer="lbfgs", dropout=0.2), "lbfgs")]:
        with pytest.raises(ValueError, match=word):
            NeuralNet(progress=False, **bad).fit(X, y)
    with pytest.raises(ValueError, match="hidden"):
        TwoLayerNet(hidden=(4, 4)).fit(X, y)
