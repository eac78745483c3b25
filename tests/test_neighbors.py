"""KNearestNeighbor: scikit-learn compatibility and behaviour."""
import pickle

import numpy as np
import pytest
from imgclf import KNearestNeighbor
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from .conftest import need_gpu


def _expected_failures(est):
    # check_classifiers_train asserts argmax(predict_proba) == predict.  With the default
    # tie_break="nearest", a query whose vote is tied predicts the tied class with the
    # nearest member, which need not be the first column among equal probabilities; the
    # probabilities are right and stay unmodified.  tie_break="smallest" passes it.
    if est.tie_break == "nearest":
        return {"check_classifiers_train": "tie_break='nearest' breaks exact vote ties by "
                                           "distance, not by the first maximal column"}
    return {}


# Every other scikit-learn estimator check runs, on all three configurations.
@parametrize_with_checks(
    [KNearestNeighbor(), KNearestNeighbor(tie_break="smallest"),
     KNearestNeighbor(k=1, metric="l1", weights="distance", tie_break="smallest")],
    expected_failed_checks=_expected_failures)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_matches_sklearn_on_random_data(rng):
    X = rng.standard_normal((300, 20))
    y = rng.integers(0, 4, 300)
    Q = rng.standard_normal((100, 20))
    for metric, skm in [("l2", "euclidean"), ("l1", "manhattan")]:
        for weights in ("uniform", "distance"):
            ours = KNearestNeighbor(k=7, metric=metric, weights=weights, tie_break="smallest").fit(X, y)
            ref = KNeighborsClassifier(7, metric=skm, weights=weights, algorithm="brute").fit(X, y)
            np.testing.assert_array_equal(ours.predict(Q), ref.predict(Q))
            np.testing.assert_allclose(ours.predict_proba(Q), ref.predict_proba(Q), atol=1e-12)
            d1, i1 = ours.kneighbors(Q)
            d2, i2 = ref.kneighbors(Q)
            np.testing.assert_array_equal(i1, i2)
            np.testing.assert_allclose(d1, d2, rtol=1e-10)


def test_string_labels_images_and_pickle(rng):
    imgs = rng.integers(0, 256, size=(60, 4, 4, 3), dtype=np.uint8)
    names = np.array(["cat", "dog", "ship"])[rng.integers(0, 3, 60)]
    clf = KNearestNeighbor(k=3).fit(imgs, names)
    assert clf._X.dtype == np.uint8  # images stay uint8
    pred = clf.predict(imgs[:10])
    assert set(pred) <= {"cat", "dog", "ship"}
    np.testing.assert_array_equal(KNearestNeighbor(k=1).fit(imgs, names).predict(imgs), names)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict(imgs[:10]), pred)
    proba = clf.predict_proba(imgs[:10])
    np.testing.assert_allclose(proba.sum(1), 1.0)
    assert list(clf.classes_) == ["cat", "dog", "ship"]


def test_grid_search_and_pipeline(rng):
    X = rng.standard_normal((120, 6))
    y = (X[:, 0] + 0.1 * rng.standard_normal(120) > 0).astype(int)
    gs = GridSearchCV(KNearestNeighbor(), {"k": [1, 3, 9], "metric": ["l1", "l2"]}, cv=3).fit(X, y)
    assert gs.best_params_["k"] in (1, 3, 9)
    scores = cross_val_score(make_pipeline(StandardScaler(), KNearestNeighbor(k=5)), X, y, cv=4)
    assert scores.mean() > 0.7


def test_bad_parameters_and_inputs(rng):
    X = rng.standard_normal((10, 3))
    y = rng.integers(0, 2, 10)
    for bad in [dict(k=0), dict(k=2.5), dict(metric="cosine"), dict(weights="x"), dict(tie_break="x"),
                dict(backend="tpu")]:
        with pytest.raises(ValueError):
            KNearestNeighbor(**bad).fit(X, y)
    with pytest.raises(ValueError, match="k=11 is larger"):
        KNearestNeighbor(k=11).fit(X, y).predict(X)
    with pytest.raises(ValueError):
        KNearestNeighbor().fit(X, y[:5])
    with pytest.raises(ValueError, match="NaN"):
        KNearestNeighbor().fit(np.where(X > 1, np.nan, X), y)
    with pytest.raises(ValueError, match="features"):
        KNearestNeighbor(k=3).fit(X, y).predict(X[:, :2])


@pytest.mark.gpu
def test_estimator_on_gpu_keeps_cupy(rng):
    need_gpu()
    import cupy as cp

    X = rng.integers(0, 256, (400, 64), dtype=np.uint8)
    y = rng.integers(0, 3, 400)
    host = KNearestNeighbor(k=3, metric="l1").fit(X, y)
    dev = KNearestNeighbor(k=3, metric="l1").fit(cp.asarray(X), cp.asarray(y))
    pred = dev.predict(cp.asarray(X[:50]))
    assert isinstance(pred, cp.ndarray)
    np.testing.assert_array_equal(cp.asnumpy(pred), host.predict(X[:50]))
    np.testing.assert_allclose(cp.asnumpy(dev.predict_proba(cp.asarray(X[:50]))), host.predict_proba(X[:50]))
    with pytest.raises(TypeError, match="fitted on CuPy"):
        dev.predict(X[:5])
