"""LinearSVM and SoftmaxClassifier (imgclf.linear): gradients against centred differences,
L-BFGS, the penalties, and the optimization baselines (random search, numerical gradient)."""
import numpy as np
import pytest
from imgclf import LinearSVM, SoftmaxClassifier, gradcheck, ops
from imgclf.linear import LinearModel, NumericalGradientLinearModel

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


# ---- the optimization baselines: random search and the numerical gradient ------------------
def test_numerical_gradient_descent_matches_analytic_descent_step_for_step(rng):
    X = rng.standard_normal((48, 5))
    y = rng.integers(0, 3, 48)
    kw = dict(lr=0.2, epochs=3, batch_size=8, lr_decay=0.9, reg=1e-2, dtype="float64", random_state=5,
              progress=False)
    for cls in (SoftmaxClassifier, LinearSVM):
        num = cls(optimizer="numerical", **kw).fit(X, y)
        ana = cls(optimizer="sgd", **kw).fit(X, y)
        assert isinstance(num.model_, NumericalGradientLinearModel)
        # the loss before every step (18 of them) and the weights after the last agree
        np.testing.assert_allclose(num.history_["loss"], ana.history_["loss"], rtol=1e-8)
        assert len(num.history_["loss"]) == 18
        np.testing.assert_allclose(num.coef_, ana.coef_, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(num.intercept_, ana.intercept_, rtol=1e-7, atol=1e-9)
        assert np.abs(ana.coef_ - cls(optimizer="sgd", **{**kw, "epochs": 2}).fit(X, y).coef_).max() > 1e-3


def test_numerical_gradient_costs_two_fused_loss_calls_per_parameter(rng, monkeypatch):
    from imgclf import linear

    calls = []
    real = linear.ops.linear_loss
    monkeypatch.setattr(linear.ops, "linear_loss", lambda *a, **k: calls.append(1) or real(*a, **k))
    X = rng.integers(0, 256, (40, 12)).astype(np.uint8)
    y = rng.integers(0, 4, 40)
    SoftmaxClassifier(optimizer="numerical", epochs=1, batch_size=40, dtype="float64", random_state=0,
                      progress=False).fit(X, y)
    d, C = 12, 4
    assert len(calls) == 1 + 2 * (d * C + C)  # the loss itself, then two per element of W and b


def test_random_search_is_seeded_keeps_its_best_and_is_far_below_gradient_descent():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    rs = SoftmaxClassifier(optimizer="random_search", epochs=4, random_state=1, progress=False).fit(Xtr, ytr)
    again = SoftmaxClassifier(optimizer="random_search", epochs=4, random_state=1, progress=False).fit(Xtr, ytr)
    np.testing.assert_array_equal(rs.coef_, again.coef_)
    h = rs.history_
    assert len(h["loss"]) == 200 and rs.n_iter_ == 4 and h["best_loss"] == min(h["loss"])
    # the kept W is the best candidate: its loss is the smallest seen
    m = rs.model_
    value = ops.linear_loss(Xtr, rs._encode(ytr), m.params["W"], m.params["b"], scale=m.preprocess.scale,
                            shift=m.preprocess.shift, reg=m.reg)[0]
    assert value == pytest.approx(h["best_loss"], rel=1e-6)
    gd = SoftmaxClassifier(random_state=1, progress=False).fit(Xtr, ytr)
    acc_rs, acc_gd = rs.score(Xte, yte), gd.score(Xte, yte)
    assert acc_rs > 0.1 + 0.02  # better than chance (10 classes): the search does something
    assert acc_gd > 0.9 and acc_gd - acc_rs > 0.5
    with pytest.raises(ValueError, match="partial_fit"):
        rs.partial_fit(Xtr, ytr)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        from imgclf import TwoLayerNet

        TwoLayerNet(optimizer="random_search").fit(Xtr, ytr)
