"""What every trained estimator shares (imgclf._trained): scikit-learn's estimator checks,
reproducibility, pickling, string labels, uint8 images, partial_fit, GridSearchCV, and the
errors for bad parameters."""
import pickle

import numpy as np
import pytest
from imgclf import LinearSVM, NeuralNet, SoftmaxClassifier, TwoLayerNet
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from .helpers import blobs


@parametrize_with_checks([SoftmaxClassifier(random_state=0, progress=False),
                          LinearSVM(random_state=0, progress=False),
                          TwoLayerNet(hidden=16, random_state=0, progress=False),
                          NeuralNet(hidden=(8, 8), activation="tanh", dropout=0.1, max_norm=3.0, random_state=0,
                                    progress=False)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("cls", [SoftmaxClassifier, LinearSVM, TwoLayerNet])
def test_reproducible_picklable_string_labels(rng, cls):
    X, y = blobs(rng)
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
    X, y = blobs(rng)
    clf = SoftmaxClassifier(random_state=0, progress=False)
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:150], y[:150], classes=np.arange(4))
    clf.partial_fit(X[150:], y[150:])
    assert clf.n_iter_ == 2 and clf.score(X, y) > 0.8
    gs = GridSearchCV(make_pipeline(StandardScaler(), LinearSVM(epochs=5, progress=False)),
                      {"linearsvm__reg": [1e-4, 1e-1]}, cv=3).fit(X, y)
    assert gs.best_score_ > 0.8


def test_bad_parameters(rng):
    X, y = blobs(rng, n=50)
    for bad in [dict(lr=-1), dict(reg=float("nan")), dict(optimizer="adamw"), dict(epochs=0),
                dict(penalty="l3"), dict(batch_size=1.5), dict(dtype="int8")]:
        with pytest.raises(ValueError):
            SoftmaxClassifier(**bad).fit(X, y)
    with pytest.raises(ValueError, match="hidden"):
        TwoLayerNet(hidden=0).fit(X, y)
    with pytest.raises(ValueError, match="activation"):
        TwoLayerNet(activation="gelu").fit(X, y)
    with pytest.raises(FloatingPointError, match="learning rate"):
        SoftmaxClassifier(optimizer="sgd", lr=1e30, reg=1.0, progress=False).fit(X * 1e10, y)
