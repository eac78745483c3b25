"""imgclf.sklearn against scikit-learn itself: the same results, dtypes, errors and
warnings, on fresh random data; the fallbacks run scikit-learn's code (and say so); the
patch and the `python -m imgclf.sklearn` runner.  scikit-learn's own test suite, run
patched, is in .ci/run."""
import inspect
import logging
import os
import pickle
import subprocess
import sys
import textwrap
import warnings

import imgclf
import imgclf.sklearn as isk
import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.metrics
import sklearn.metrics.pairwise
import sklearn.neighbors as skn
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from .helpers import exact_distances

ALIASES = {"euclidean": "l2", "l2": "l2", "manhattan": "l1", "cityblock": "l1", "l1": "l1",
           "sqeuclidean": "sqeuclidean"}
# (constructor keywords, imgclf metric) for every accelerated way of naming a metric
METRIC_KW = [({"metric": m}, v) for m, v in ALIASES.items()] + [
    ({}, "l2"), ({"metric": "minkowski", "p": 1}, "l1"), ({"metric": "minkowski", "p": 2}, "l2"),
    ({"metric": "minkowski", "p": 1, "metric_params": {"p": 1}}, "l1")]
SK = {"KNeighborsClassifier": skn.KNeighborsClassifier, "KNeighborsRegressor": skn.KNeighborsRegressor,
      "NearestNeighbors": skn.NearestNeighbors}


@pytest.fixture(autouse=True)
def _unpatched():
    # every test starts and ends with scikit-learn unpatched
    isk.unpatch_sklearn()
    yield
    isk.unpatch_sklearn()


def _float_data(rng, n_train=300, n_query=40, d=23, dtype=np.float64):
    # continuous random data: no two distances are equal
    return rng.standard_normal((n_train, d)).astype(dtype), rng.standard_normal((n_query, d)).astype(dtype)


def _pixels(rng, n_train=300, n_query=40, d=30, high=256):
    # uint8 images: small integer distances, so ties are frequent
    return (rng.integers(0, high, (n_train, d)).astype(np.uint8),
            rng.integers(0, high, (n_query, d)).astype(np.uint8))


def _paths(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "imgclf.sklearn"]


def assert_same_up_to_ties(d_ours, i_ours, d_sk, i_sk, Q, T, metric):
    """Both answers are the true k nearest; ours is in (distance, index) order; they differ
    only by the choice among neighbours at equal distance (exact integer distances)."""
    D = exact_distances(Q, T, metric)
    true_ours = np.take_along_axis(D, i_ours, 1)
    true_sk = np.take_along_axis(D, i_sk, 1)
    np.testing.assert_array_equal(true_ours, np.sort(true_sk, axis=1))  # same distances, rank by rank
    np.testing.assert_array_equal(d_ours, true_ours)
    order = np.lexsort((i_ours, d_ours), axis=1)
    np.testing.assert_array_equal(order, np.broadcast_to(np.arange(i_ours.shape[1]), order.shape))


# ---- the search ---------------------------------------------------------------------------

@pytest.mark.parametrize("kw,metric", METRIC_KW, ids=[str(k) for k, _ in METRIC_KW])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kneighbors_identical_to_sklearn_without_ties(rng, caplog, kw, metric, dtype):
    T, Q = _float_data(rng, dtype=dtype)
    ours = isk.NearestNeighbors(n_neighbors=7, **kw).fit(T)
    ref = skn.NearestNeighbors(n_neighbors=7, **kw).fit(T)
    with caplog.at_level(logging.DEBUG, "imgclf.sklearn"):
        d, i = ours.kneighbors(Q)
    assert any(": imgclf (" + metric in m for m in _paths(caplog)), _paths(caplog)
    rd, ri = ref.kneighbors(Q)
    np.testing.assert_array_equal(i, ri)
    assert d.dtype == rd.dtype == np.float64 and i.dtype == ri.dtype == np.intp
    # scikit-learn's euclidean uses the norms identity, imgclf the differences
    np.testing.assert_allclose(d, rd, rtol=1e-6 if dtype == np.float32 else 1e-9, atol=1e-9)
    np.testing.assert_array_equal(ours.kneighbors(Q, 3, return_distance=False), ri[:, :3])


@pytest.mark.parametrize("metric", ["manhattan", "euclidean", "sqeuclidean"])
def test_kneighbors_uint8_exact_and_valid_among_ties(rng, metric):
    T, Q = _pixels(rng, high=4)  # values 0..3: many exactly equal distances
    ours = isk.NearestNeighbors(n_neighbors=9, metric=metric).fit(T)
    ref = skn.NearestNeighbors(n_neighbors=9, metric=metric).fit(T)
    d, i = ours.kneighbors(Q)
    rd, ri = ref.kneighbors(Q)
    # scikit-learn computes these exactly too (integers in float64): equal distances
    np.testing.assert_array_equal(d, rd)
    assert_same_up_to_ties(d, i, rd, ri, Q, T, ALIASES[metric])


def test_integer_valued_floats_are_searched_as_uint8(rng, caplog):
    T, Q = _pixels(rng)
    ours = isk.KNeighborsClassifier(5, metric="l1").fit(T.astype(np.float64), rng.integers(0, 3, len(T)))
    with caplog.at_level(logging.DEBUG, "imgclf.sklearn"):
        d, i = ours.kneighbors(Q.astype(np.float32))
        frac = Q.astype(np.float64) + 0.5
        d2 = ours.kneighbors(frac)[0]
    msgs = _paths(caplog)
    assert "40 uint8 queries x 300 uint8 train" in msgs[0], msgs
    assert "40 float64 queries x 300 float64 train" in msgs[1], msgs
    for bad in (-1.0, 256.0):  # out of uint8's range: searched as they are
        T2 = T.astype(np.float32)
        T2[7, 3] = bad
        caplog.clear()
        with caplog.at_level(logging.DEBUG, "imgclf.sklearn"):
            d3 = isk.NearestNeighbors(n_neighbors=2, metric="l1").fit(T2).kneighbors(Q)[0]
        assert "40 uint8 queries x 300 float32 train" in _paths(caplog)[0]
        np.testing.assert_array_equal(d3, np.sort(exact_distances(Q, T2, "l1"), axis=1)[:, :2])
    d8, i8 = isk.NearestNeighbors(n_neighbors=5, metric="l1").fit(T).kneighbors(Q)
    np.testing.assert_array_equal(i, i8)
    np.testing.assert_array_equal(d, d8)
    D = exact_distances(frac, T, "l1")
    np.testing.assert_array_equal(d2, np.sort(D, axis=1)[:, :5])


def test_leave_one_out_queries_exclude_each_point(rng):
    T = rng.integers(0, 3, (60, 4)).astype(np.uint8)
    T[10:16] = T[9]  # 7 copies of one row: more than k + 1
    ours = isk.NearestNeighbors(n_neighbors=4, metric="manhattan").fit(T)
    ref = skn.NearestNeighbors(n_neighbors=4, metric="manhattan", algorithm="brute").fit(T)
    d, i = ours.kneighbors()
    np.testing.assert_array_equal(d, ref.kneighbors()[0])
    assert i.shape == (60, 4)
    n = np.arange(60)[:, None]
    full_i = isk.NearestNeighbors(n_neighbors=5, metric="manhattan").fit(T).kneighbors(T, return_distance=False)
    for r in range(60):
        if r in full_i[r]:
            assert r not in i[r]
            np.testing.assert_array_equal(i[r], full_i[r][full_i[r] != r])
        else:  # hidden among its duplicates: the first neighbour is dropped, as scikit-learn does
            np.testing.assert_array_equal(i[r], full_i[r][1:])
    assert (i[9:16] != n[9:16]).all()
    # the classifier's leave-one-out predictions use the same rule
    y = rng.integers(0, 3, 60)
    i3 = isk.NearestNeighbors(n_neighbors=3, algorithm="brute").fit(T).kneighbors(return_distance=False)
    expected = [np.bincount(y[row], minlength=3).argmax() for row in i3]  # ties: smallest label
    np.testing.assert_array_equal(isk.KNeighborsClassifier(3, algorithm="brute").fit(T, y).predict(None),
                                  expected)


def test_kneighbors_graph_method_and_function(rng, caplog):
    T, Q = _float_data(rng)
    for mode in ("connectivity", "distance"):
        a = isk.NearestNeighbors(n_neighbors=4).fit(T).kneighbors_graph(Q, mode=mode)
        b = skn.NearestNeighbors(n_neighbors=4).fit(T).kneighbors_graph(Q, mode=mode)
        assert type(a) is type(b) and a.dtype == b.dtype and a.format == "csr"
        np.testing.assert_array_equal(a.indices, b.indices)
        np.testing.assert_allclose(a.toarray(), b.toarray(), rtol=1e-9)
    ref = skn.kneighbors_graph(T, 5, mode="distance")
    isk.patch_sklearn()
    with caplog.at_level(logging.DEBUG, "imgclf.sklearn"):
        got = skn.kneighbors_graph(T, 5, mode="distance")
    assert any("NearestNeighbors.kneighbors: imgclf" in m for m in _paths(caplog))
    np.testing.assert_array_equal(got.indices, ref.indices)
    np.testing.assert_allclose(got.toarray(), ref.toarray(), rtol=1e-9)


# ---- votes and regression -----------------------------------------------------------------

@pytest.mark.parametrize("weights", ["uniform", "distance", None, lambda d: 1.0 / (1.0 + d)])
@pytest.mark.parametrize("k", [1, 4, 5])
def test_classifier_identical_to_sklearn(rng, weights, k):
    T, Q = _float_data(rng, n_query=200, d=5)
    y = rng.choice(np.array(["cat", "dog", "emu"]), len(T))
    kw = dict(n_neighbors=k, weights=weights, algorithm="brute")
    ours, ref = isk.KNeighborsClassifier(**kw).fit(T, y), skn.KNeighborsClassifier(**kw).fit(T, y)
    np.testing.assert_array_equal(ours.predict(Q), ref.predict(Q))
    np.testing.assert_allclose(ours.predict_proba(Q), ref.predict_proba(Q), rtol=1e-12)
    assert ours.predict(Q).dtype == ref.predict(Q).dtype
    assert ours.score(Q, ref.predict(Q)) == 1.0


def test_vote_ties_go_to_the_smallest_label():
    # query 0: neighbours at 1, 2, 3, 4 with labels 7, 7, 3, 3 -> 2:2, scikit-learn answers 3
    T = np.array([[1.0], [2.0], [3.0], [4.0], [40.0]])
    y = np.array([7, 7, 3, 3, 5])
    Q = np.array([[0.0], [2.5]])
    for cls in (isk.KNeighborsClassifier, skn.KNeighborsClassifier):
        clf = cls(n_neighbors=4, algorithm="brute").fit(T, y)
        np.testing.assert_array_equal(clf.predict(Q), [3, 3])
        np.testing.assert_array_equal(clf.predict_proba(Q), [[0.5, 0, 0.5]] * 2)


def test_distance_weights_with_exact_matches_match_sklearn(rng):
    # queries equal to training points: scikit-learn lets only the exact matches vote
    # (weight 1 each); imgclf's neighbours feed scikit-learn's weighting unchanged
    T = rng.integers(0, 4, (80, 3)).astype(np.uint8)
    y = rng.integers(0, 4, 80)
    Q = np.vstack([T[:30], rng.integers(0, 4, (30, 3)).astype(np.uint8)])
    ours = isk.KNeighborsClassifier(6, weights="distance").fit(T, y)
    ref = skn.KNeighborsClassifier(6, weights="distance", algorithm="brute").fit(T, y)
    d, i = ours.kneighbors(Q)
    assert (d[:30, 0] == 0).all()
    # the same answer as scikit-learn's votes over imgclf's neighbours (its own neighbours
    # may be other ones among equal distances)
    from sklearn.neighbors._base import _get_weights

    w = _get_weights(d.copy(), "distance")
    proba = np.zeros((len(Q), 4))
    for c in range(6):
        proba[np.arange(len(Q)), y[i[:, c]]] += w[:, c]
    proba /= proba.sum(1, keepdims=True)
    np.testing.assert_allclose(ours.predict_proba(Q), proba, rtol=1e-12)
    # where every exact match is among the k (the k-th distance is > 0), the exact matches
    # are the same set for both, and so are the probabilities
    exact_rows = (d[:, 0] == 0) & (d[:, -1] > 0)
    assert exact_rows.sum() >= 5
    np.testing.assert_array_equal(ours.predict_proba(Q)[exact_rows], ref.predict_proba(Q)[exact_rows])


def test_multioutput_classifier_and_regressor(rng):
    T, Q = _float_data(rng)
    Y = np.stack([rng.integers(0, 3, len(T)), rng.integers(5, 9, len(T))], axis=1)
    for w in ("uniform", "distance"):
        a = isk.KNeighborsClassifier(5, weights=w).fit(T, Y)
        b = skn.KNeighborsClassifier(5, weights=w).fit(T, Y)
        np.testing.assert_array_equal(a.predict(Q), b.predict(Q))
        for pa, pb in zip(a.predict_proba(Q), b.predict_proba(Q), strict=True):
            np.testing.assert_allclose(pa, pb, rtol=1e-12)
        Yf = Y + rng.random(Y.shape)
        a = isk.KNeighborsRegressor(5, weights=w).fit(T, Yf)
        b = skn.KNeighborsRegressor(5, weights=w).fit(T, Yf)
        np.testing.assert_allclose(a.predict(Q), b.predict(Q), rtol=1e-9)
        np.testing.assert_allclose(a.predict(None), b.predict(None), rtol=1e-9)


# ---- what falls back, and says so ------------------------------------------------------------

def _fallbacks(rng):
    T, Q = _float_data(rng, d=20)
    Tl, Ql = _float_data(rng, d=3)
    return [
        ("cosine", dict(metric="cosine"), T, Q, "metric 'cosine'"),
        ("chebyshev", dict(metric="chebyshev"), T, Q, "metric 'chebyshev'"),
        ("minkowski p=3", dict(p=3), T, Q, "metric 'minkowski'"),
        ("weighted minkowski", dict(p=1, metric_params={"w": np.ones(20)}), T, Q, "metric 'minkowski'"),
        ("callable", dict(metric=lambda a, b: np.abs(a - b).sum()), T, Q, "metric 'function'"),
        ("kd_tree", dict(algorithm="kd_tree"), T, Q, "algorithm resolved to 'kd_tree'"),
        ("auto on 3 features", dict(), Tl, Ql, "algorithm resolved to 'kd_tree'"),
        ("sparse fit", dict(), sp.csr_matrix(T), Q, "training data is sparse"),
        ("sparse query", dict(), T, sp.csr_matrix(Q), "queries are sparse"),
    ]


@pytest.mark.parametrize("case", range(9))
def test_fallbacks_run_sklearn_and_log_it(rng, caplog, case):
    _, kw, T, Q, why = _fallbacks(rng)[case]
    y = rng.integers(0, 3, T.shape[0])
    ours = isk.KNeighborsClassifier(4, **kw).fit(T, y)
    ref = skn.KNeighborsClassifier(4, **kw).fit(T, y)
    with caplog.at_level(logging.DEBUG, "imgclf.sklearn"):
        d, i = ours.kneighbors(Q)
        pred = ours.predict(Q)
    msgs = _paths(caplog)
    assert msgs and all(": scikit-learn (" in m for m in msgs) and why in msgs[0], msgs
    rd, ri = ref.kneighbors(Q)
    np.testing.assert_array_equal(i, ri)
    np.testing.assert_array_equal(d, rd)
    np.testing.assert_array_equal(pred, ref.predict(Q))


def test_precomputed_and_radius_queries_are_sklearn(rng, caplog):
    T, Q = _float_data(rng)
    D = sklearn.metrics.pairwise.euclidean_distances(T)
    with caplog.at_level(logging.DEBUG, "imgclf.sklearn"):
        nn = isk.NearestNeighbors(n_neighbors=3, metric="precomputed").fit(D)
        np.testing.assert_array_equal(nn.kneighbors(D[:5])[1],
                                      skn.NearestNeighbors(n_neighbors=3, metric="precomputed").fit(D)
                                      .kneighbors(D[:5])[1])
        nn = isk.NearestNeighbors(radius=4.0).fit(T)
        got = nn.radius_neighbors(Q, sort_results=True)
    msgs = _paths(caplog)
    assert "metric 'precomputed'" in msgs[0] and "radius queries" in msgs[1], msgs
    ref = skn.NearestNeighbors(radius=4.0).fit(T).radius_neighbors(Q, sort_results=True)
    for a, b in zip(got[1], ref[1], strict=True):
        np.testing.assert_array_equal(a, b)


# ---- the same interface: signatures, errors, warnings, estimator plumbing --------------------

@pytest.mark.parametrize("name", sorted(SK))
def test_signatures_and_params_are_sklearns(name):
    ours, ref = getattr(isk, name), SK[name]
    assert issubclass(ours, ref) and ours.__name__ == ref.__name__
    for meth in ("__init__", "fit", "kneighbors", "kneighbors_graph", "predict", "predict_proba"):
        if hasattr(ref, meth):
            assert inspect.signature(getattr(ours, meth)) == inspect.signature(getattr(ref, meth)), meth
    assert ours().get_params() == ref().get_params()
    assert repr(ours(n_neighbors=3)) == repr(ref(n_neighbors=3))


def test_pairwise_signature_is_sklearns():
    assert inspect.signature(isk.pairwise_distances) == inspect.signature(sklearn.metrics.pairwise_distances)


@pytest.mark.parametrize("call", [
    lambda e, Q: e.kneighbors(Q, n_neighbors=0),
    lambda e, Q: e.kneighbors(Q, n_neighbors=2.5),
    lambda e, Q: e.kneighbors(Q, n_neighbors=31),
    lambda e, Q: e.kneighbors(None, n_neighbors=30),
    lambda e, Q: e.kneighbors(Q[:, :5]),
    lambda e, Q: e.kneighbors(np.full_like(Q, np.nan)),
    lambda e, Q: e.predict(Q[:, :5]),
], ids=["zero", "float", "too many", "too many leave-one-out", "features", "nan", "predict features"])
def test_errors_are_sklearns(rng, call):
    T, Q = _float_data(rng, n_train=30, d=20)
    y = rng.integers(0, 2, 30)
    errors = []
    for cls in (isk.KNeighborsClassifier, skn.KNeighborsClassifier):
        with pytest.raises((ValueError, TypeError)) as e:
            call(cls(3).fit(T, y), Q)
        errors.append((type(e.value), str(e.value)))
    assert errors[0] == errors[1]


def test_feature_name_warnings_are_sklearns(rng):
    pd = pytest.importorskip("pandas")
    T, Q = _float_data(rng, d=20)
    y = rng.integers(0, 2, len(T))
    df = pd.DataFrame(T, columns=[f"f{j}" for j in range(20)])
    seen = []
    for cls in (isk.KNeighborsClassifier, skn.KNeighborsClassifier):
        clf = cls(3).fit(df, y)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            clf.predict(Q)
        seen.append(sorted(str(x.message) for x in w))
        np.testing.assert_array_equal(clf.feature_names_in_, df.columns)
    assert seen[0] == seen[1] and seen[0]


def test_clone_pickle_and_model_selection(rng):
    T, Q = _pixels(rng, n_train=120)
    y = rng.integers(0, 3, 120)
    clf = isk.KNeighborsClassifier(3, metric="manhattan").fit(T, y)
    back = pickle.loads(pickle.dumps(clf))
    assert type(back) is isk.KNeighborsClassifier
    np.testing.assert_array_equal(back.predict(Q), clf.predict(Q))
    assert clone(clf).get_params() == clf.get_params()
    gs = GridSearchCV(isk.KNeighborsClassifier(), {"n_neighbors": [1, 3], "metric": ["l1", "l2"]}, cv=3)
    gs.fit(T, y)
    ref = GridSearchCV(skn.KNeighborsClassifier(algorithm="brute"),
                       {"n_neighbors": [1, 3], "metric": ["l1", "l2"]}, cv=3).fit(T, y)
    assert set(gs.cv_results_["params"][0]) == {"n_neighbors", "metric"}
    np.testing.assert_allclose(cross_val_score(isk.KNeighborsRegressor(4), T, y.astype(float), cv=3),
                               cross_val_score(skn.KNeighborsRegressor(4, algorithm="brute"), T,
                                               y.astype(float), cv=3), rtol=1e-12)
    assert np.isfinite(ref.best_score_) and np.isfinite(gs.best_score_)


# ---- pairwise_distances ----------------------------------------------------------------------

PW_METRICS = [("euclidean", {}), ("l2", {}), ("manhattan", {}), ("cityblock", {}), ("l1", {}),
              ("sqeuclidean", {}), ("minkowski", {}), ("minkowski", {"p": 1}), ("euclidean", {"squared": True})]


@pytest.mark.parametrize("metric,kw", PW_METRICS, ids=[f"{m}{k}" for m, k in PW_METRICS])
@pytest.mark.parametrize("dtypes", [("float64", "float64"), ("float32", "float32"), ("float32", None),
                                    ("uint8", "uint8"), ("uint8", None), ("float32", "float64"),
                                    ("int64", "uint8"), ("bool", "bool")])
@pytest.mark.parametrize("n_jobs", [None, 2])
def test_pairwise_distances_match_sklearn(rng, caplog, metric, kw, dtypes, n_jobs):
    X = rng.integers(0, 256, (17, 33)) if dtypes[0] != "bool" else rng.integers(0, 2, (17, 33))
    Y = rng.integers(0, 256, (13, 33)) if dtypes[0] != "bool" else rng.integers(0, 2, (13, 33))
    X = X.astype(dtypes[0]) if "float" not in dtypes[0] else rng.random((17, 33)).astype(dtypes[0])
    Y = None if dtypes[1] is None else (Y.astype(dtypes[1]) if "float" not in dtypes[1]
                                        else rng.random((13, 33)).astype(dtypes[1]))
    with caplog.at_level(logging.DEBUG, "imgclf.sklearn"):
        got = isk.pairwise_distances(X, Y, metric, n_jobs=n_jobs, **kw)
    assert ": imgclf (" in _paths(caplog)[0]
    ref = sklearn.metrics.pairwise_distances(X, Y, metric, n_jobs=n_jobs, **kw)
    assert got.dtype == ref.dtype and got.shape == ref.shape
    exact_ints = "float" not in dtypes[0] and (dtypes[1] is None or "float" not in dtypes[1])
    if exact_ints and (metric not in ("euclidean", "l2") or kw):
        np.testing.assert_array_equal(got, ref)  # integer data: both exact
    else:
        np.testing.assert_allclose(got, ref, rtol=1e-5 if ref.dtype == np.float32 else 1e-9, atol=1e-6)
    if Y is None:
        assert (np.diag(got) == 0).all()


@pytest.mark.parametrize("args,kw,why", [
    (("cosine",), {}, "metric 'cosine'"),
    (("minkowski",), {"p": 3}, "minkowski p=3"),
    (("euclidean",), {"Y_norm_squared": None}, "keyword arguments"),
    (("sqeuclidean",), {"ensure_all_finite": False, "nan": True}, "non-finite"),
    (("manhattan",), {"sparse": True}, "csr_matrix input"),
    (("manhattan",), {"lists": True}, "list input"),
    ((lambda a, b: float(np.abs(a - b).sum()),), {}, "callable metric"),
])
def test_pairwise_fallbacks_are_sklearns(rng, caplog, args, kw, why):
    X, Y = rng.random((6, 4)), rng.random((5, 4))
    kw = dict(kw)
    if kw.pop("nan", False):
        X[1, 2] = np.nan
    if kw.pop("sparse", False):
        X, Y = sp.csr_matrix(X), sp.csr_matrix(Y)
    if kw.pop("lists", False):
        X, Y = X.tolist(), Y.tolist()
    with caplog.at_level(logging.DEBUG, "imgclf.sklearn"):
        got = isk.pairwise_distances(X, Y, *args, **kw)
    assert ": scikit-learn (" in _paths(caplog)[0] and why in _paths(caplog)[0], _paths(caplog)
    ref = sklearn.metrics.pairwise_distances(X, Y, *args, **kw)
    np.testing.assert_array_equal(got, ref)


def test_pairwise_errors_are_sklearns(rng):
    X, Y = rng.random((6, 4)), rng.random((5, 3))
    for f in (isk.pairwise_distances, sklearn.metrics.pairwise_distances):
        with pytest.raises(ValueError, match="Incompatible dimension"):
            f(X, Y, "manhattan")
        with pytest.raises(ValueError, match="Input contains NaN"):
            f(np.full((2, 4), np.nan), None, "euclidean")


# ---- patching and the runner ------------------------------------------------------------------

def test_patch_and_unpatch():
    import sklearn.neighbors._classification as private

    original = skn.KNeighborsClassifier
    before = original(3).fit([[0.0], [1.0], [2.0]], [0, 1, 1])
    assert not isk.sklearn_is_patched()
    names = imgclf.patch_sklearn()
    assert imgclf.patch_sklearn() == names  # idempotent
    assert "sklearn.metrics.pairwise_distances" in names and isk.sklearn_is_patched()
    from sklearn.metrics import pairwise_distances
    from sklearn.neighbors import (
        KNeighborsClassifier,
        KNeighborsRegressor,
        NearestNeighbors,
    )

    assert KNeighborsClassifier is isk.KNeighborsClassifier
    assert KNeighborsRegressor is isk.KNeighborsRegressor and NearestNeighbors is isk.NearestNeighbors
    assert pairwise_distances is isk.pairwise_distances
    assert sklearn.metrics.pairwise.pairwise_distances is isk.pairwise_distances
    # scikit-learn's own class stays where it is defined: objects made before still pickle
    assert private.KNeighborsClassifier is original
    assert type(pickle.loads(pickle.dumps(before))) is original
    imgclf.unpatch_sklearn()
    assert skn.KNeighborsClassifier is original and not isk.sklearn_is_patched()
    assert sklearn.metrics.pairwise_distances is isk._SK_PAIRWISE


SCRIPT = """
import sys
from sklearn.neighbors import KNeighborsClassifier
from sklearn.metrics import pairwise_distances
print(KNeighborsClassifier.__module__, pairwise_distances.__module__, __name__, sys.argv[1:])
clf = KNeighborsClassifier(1, metric="manhattan").fit([[0, 0], [9, 9]], ["a", "b"])
print(clf.predict([[8, 7]])[0])
sys.exit(int(sys.argv[-1]) if sys.argv[-1].isdigit() else 0)
"""


def _run(args, cwd, **env):
    e = dict(os.environ, **env)
    return subprocess.run([sys.executable, "-m", "imgclf.sklearn", *args], cwd=cwd, env=e,
                          capture_output=True, text=True, timeout=120)


def test_runner_script_and_module(tmp_path):
    (tmp_path / "user_script.py").write_text(textwrap.dedent(SCRIPT))
    r = _run(["user_script.py", "--flag", "3"], tmp_path)
    assert r.returncode == 3, r.stderr  # the script's exit status comes through
    assert r.stdout.split("\n")[:2] == ["imgclf.sklearn imgclf.sklearn __main__ ['--flag', '3']", "b"]
    r = _run(["-v", "-m", "user_script", "y"], tmp_path, PYTHONPATH=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "__main__ ['y']" in r.stdout and "KNeighborsClassifier.kneighbors: imgclf (l1" in r.stderr
    plain = subprocess.run([sys.executable, "user_script.py"], cwd=tmp_path, capture_output=True, text=True)
    assert plain.stdout.startswith("sklearn.neighbors._classification sklearn.metrics.pairwise")


def test_runner_usage_errors(tmp_path, capsys, monkeypatch):
    from imgclf.sklearn.__main__ import main

    monkeypatch.chdir(tmp_path)
    for args in ([], ["-m"], ["--bogus"], ["-v"], ["missing.py"]):
        assert main(args) == 2, args
        assert "imgclf.sklearn" in capsys.readouterr().err
    assert not isk.sklearn_is_patched()
    assert main(["--help"]) == 0 and "usage" in capsys.readouterr().out


# ---- real data ---------------------------------------------------------------------------------

@pytest.mark.skipif(not os.path.isdir("/usr/share/datasets/fashion-mnist"),
                    reason="Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
def test_fashion_mnist_manhattan_same_predictions_as_sklearn():
    from imgclf import datasets

    ds = datasets.load("fashion-mnist")
    Xtr, Xte = ds.X_train.reshape(60000, -1), ds.X_test.reshape(10000, -1)[:100]
    ours = isk.KNeighborsClassifier(5, metric="manhattan").fit(Xtr, ds.y_train)
    # scikit-learn on float32 pixels (its multithreaded L1 path; integer sums stay exact)
    ref = skn.KNeighborsClassifier(5, metric="manhattan").fit(Xtr.astype(np.float32), ds.y_train)
    np.testing.assert_array_equal(ours.predict(Xte), ref.predict(Xte.astype(np.float32)))
    d, i = ours.kneighbors(Xte[:10])
    true = np.abs(Xtr[i].astype(np.int64) - Xte[:10, None, :].astype(np.int64)).sum(axis=2)
    np.testing.assert_array_equal(d, true)


# ---- scikit-learn's estimator checks ---------------------------------------------------------



@parametrize_with_checks([isk.KNeighborsClassifier(algorithm="brute"), isk.KNeighborsRegressor(algorithm="brute"),
                          isk.NearestNeighbors(algorithm="brute")])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
