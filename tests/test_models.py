"""LinearSVM, SoftmaxClassifier, TwoLayerNet, the Trainer, the optimizers and gradcheck."""
import pickle

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from imgclf import LinearSVM, SoftmaxClassifier, Trainer, TwoLayerNet, gradcheck, optim
from imgclf.linear import LinearModel
from imgclf.network import NetModel


@parametrize_with_checks([SoftmaxClassifier(random_state=0, progress=False),
                          LinearSVM(random_state=0, progress=False),
                          TwoLayerNet(hidden=16, random_state=0, progress=False)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


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


def test_gradcheck_helpers():
    x = np.array([1.0, 2.0, -3.0])
    num = gradcheck.numerical_gradient(lambda: float((x ** 3).sum()), x)
    np.testing.assert_allclose(num, 3 * x ** 2, rtol=1e-8)
    np.testing.assert_array_equal(x, [1.0, 2.0, -3.0])  # restored
    assert gradcheck.relative_error(np.ones(3), np.ones(3)) == 0
    assert gradcheck.relative_error(np.ones(3), -np.ones(3)) == pytest.approx(1.0)
    with pytest.raises(TypeError):
        gradcheck.numerical_gradient(lambda: 0.0, np.arange(3))


# ---- the lecture's hard case ----------------------------------------------------------------

def test_xor_linear_fails_network_learns():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    for cls in (SoftmaxClassifier, LinearSVM):
        lin = cls(lr=0.1, epochs=300, batch_size=4, random_state=0, progress=False).fit(X, y)
        assert lin.score(X, y) <= 0.75
    net = TwoLayerNet(hidden=16, lr=0.05, epochs=300, lr_decay=1.0, batch_size=4, random_state=0,
                      progress=False).fit(X, y)
    assert net.score(X, y) == 1.0


# ---- estimator behaviour --------------------------------------------------------------------

def _blobs(rng, n=300, d=20, C=4):
    centers = rng.standard_normal((C, d)) * 3
    y = rng.integers(0, C, n)
    return centers[y] + rng.standard_normal((n, d)), y


@pytest.mark.parametrize("cls", [SoftmaxClassifier, LinearSVM, TwoLayerNet])
def test_reproducible_picklable_string_labels(rng, cls):
    X, y = _blobs(rng)
    names = np.array(["ant", "bee", "cat", "dog"])[y]
    a = cls(random_state=7, epochs=5, progress=False).fit(X, names)
    b = cls(random_state=7, epochs=5, progress=False).fit(X, names)
    np.testing.assert_array_equal(a.decision_function(X), b.decision_function(X))
    assert a.score(X, names) > 0.9
    assert set(a.predict(X)) <= set(names)
    again = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(again.predict(X), a.predict(X))
    assert len(a.history_["train_acc"]) == 5 and a.n_iter_ == 5


def test_uint8_images_just_work(rng):
    imgs = np.zeros((200, 6, 6, 3), np.uint8)
    y = rng.integers(0, 2, 200)
    imgs[y == 1, :3] = 200  # class 1: bright top half
    imgs += rng.integers(0, 40, imgs.shape).astype(np.uint8)
    for cls in (SoftmaxClassifier, LinearSVM, TwoLayerNet):
        clf = cls(random_state=0, epochs=10, progress=False).fit(imgs, y)
        assert clf.score(imgs, y) == 1.0
    assert clf.model_.preprocess.scale == pytest.approx(1 / 255)
    p = SoftmaxClassifier(random_state=0, epochs=3, progress=False).fit(imgs, y).predict_proba(imgs[:5])
    np.testing.assert_allclose(p.sum(1), 1)
    assert not hasattr(LinearSVM(), "predict_proba")


def test_partial_fit_and_grid_search(rng):
    X, y = _blobs(rng)
    clf = SoftmaxClassifier(random_state=0, progress=False)
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:150], y[:150], classes=np.arange(4))
    clf.partial_fit(X[150:], y[150:])
    assert clf.n_iter_ == 2 and clf.score(X, y) > 0.8
    gs = GridSearchCV(make_pipeline(StandardScaler(), LinearSVM(epochs=5, progress=False)),
                      {"linearsvm__reg": [1e-4, 1e-1]}, cv=3).fit(X, y)
    assert gs.best_score_ > 0.8


def test_lbfgs_and_penalties(rng):
    X, y = _blobs(rng)
    a = SoftmaxClassifier(optimizer="lbfgs", reg=1e-2, random_state=0, progress=False).fit(X, y)
    assert a.history_["lbfgs"]["success"] and a.score(X, y) > 0.95
    l1 = SoftmaxClassifier(penalty="l1", reg=0.05, epochs=30, random_state=0, progress=False).fit(X, y)
    l2 = SoftmaxClassifier(penalty="l2", reg=0.05, epochs=30, random_state=0, progress=False).fit(X, y)
    small = lambda c: np.mean(np.abs(c.coef_) < 1e-2)
    assert small(l1) > small(l2)  # l1 drives weights to (near) zero


def test_bad_parameters(rng):
    X, y = _blobs(rng, n=50)
    for bad in [dict(lr=-1), dict(reg=float("nan")), dict(optimizer="adamw"), dict(epochs=0),
                dict(penalty="l3"), dict(batch_size=1.5), dict(dtype="int8")]:
        with pytest.raises(ValueError):
            SoftmaxClassifier(**bad).fit(X, y)
    with pytest.raises(ValueError, match="hidden"):
        TwoLayerNet(hidden=0).fit(X, y)
    with pytest.raises(ValueError, match="activation"):
        TwoLayerNet(activation="tanh").fit(X, y)
    with pytest.raises(FloatingPointError, match="learning rate"):
        SoftmaxClassifier(optimizer="sgd", lr=1e30, reg=1.0, progress=False).fit(X * 1e10, y)


# ---- the Trainer ------------------------------------------------------------------------------

def test_trainer_history_schedule_and_early_stopping(rng):
    X, y = _blobs(rng, n=400)
    m = LinearModel(20, 4, rng=0)
    t = Trainer(m, "momentum", lr=0.1, batch_size=50, epochs=50, lr_decay=0.5, decay_every=2,
                patience=2, random_state=0, progress=False)
    h = t.fit(X[:300], y[:300], X[300:], y[300:])
    assert h["stopped_early"] and len(h["val_acc"]) < 50
    assert len(h["loss"]) == 6 * len(h["val_acc"])
    assert h["lr"][0] == 0.1 and h["lr"][2] == pytest.approx(0.05)
    # the best parameters are restored
    assert np.mean(m.predict(X[300:]) == y[300:]) == max(h["val_acc"])


def test_trainer_keyboard_interrupt_keeps_best(rng):
    X, y = _blobs(rng, n=200)

    class Boom(LinearModel):
        calls = 0

        def loss(self, X, y, rows=None):
            Boom.calls += 1
            if Boom.calls == 25:
                raise KeyboardInterrupt
            return super().loss(X, y, rows)

    m = Boom(20, 4, rng=0)
    t = Trainer(m, "sgd", lr=0.05, batch_size=20, epochs=10, random_state=0, progress=False)
    with pytest.raises(KeyboardInterrupt):  # Ctrl-C reaches the caller
        t.fit(X[:100], y[:100], X[100:], y[100:])
    h = t.history
    assert h["interrupted"] and len(h["val_acc"]) == 4  # call 25 ends epoch 5: four epochs complete
    assert np.mean(m.predict(X[100:]) == y[100:]) == max(h["val_acc"])


def test_trainer_keyboard_interrupt_without_validation(rng):
    """Without validation data too, Ctrl-C is not swallowed: the model keeps its last
    parameters, history says so, and the KeyboardInterrupt reaches the caller."""
    X, y = _blobs(rng, n=200)
    seen = {}

    class Boom(LinearModel):
        calls = 0

        def loss(self, X, y, rows=None):
            Boom.calls += 1
            if Boom.calls == 7:
                seen["W"] = self.params["W"].copy()
                raise KeyboardInterrupt
            return super().loss(X, y, rows)

    m = Boom(20, 4, rng=0)
    t = Trainer(m, "sgd", lr=0.05, batch_size=20, epochs=10, random_state=0, progress=False)
    with pytest.raises(KeyboardInterrupt):
        t.fit(X, y)
    assert t.history["interrupted"] and len(t.history["loss"]) == 6
    np.testing.assert_array_equal(m.params["W"], seen["W"])  # the last parameters, untouched


def test_optimizer_objects(rng):
    for opt in [optim.SGD(0.1), optim.SGD(0.1, momentum=0.9), optim.SGD(0.1, 0.9, nesterov=True),
                optim.AdaGrad(0.5), optim.RMSProp(0.05), optim.Adam(0.1)]:
        p = {"w": np.array([3.0, -2.0])}
        for _ in range(300):
            opt.step(p, {"w": 2 * p["w"]})  # minimize |w|^2
        assert np.abs(p["w"]).max() < 0.2, opt
    with pytest.raises(ValueError):
        optim.SGD(0.1, nesterov=True)
    with pytest.raises(ValueError):
        optim.Adam(lr=0)
    p = {"w": np.array([3.0, -2.0]), "b": np.array([1.0])}

    def f():
        return float((p["w"] ** 2).sum() + ((p["b"] - 2) ** 2).sum()), {"w": 2 * p["w"], "b": 2 * (p["b"] - 2)}

    res = optim.lbfgs(f, p)
    assert res.success
    np.testing.assert_allclose(p["w"], 0, atol=1e-6)
    np.testing.assert_allclose(p["b"], 2, atol=1e-6)
