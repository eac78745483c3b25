"""imgclf on Dask (imgclf.dask) on a real LocalCluster of two worker processes: the sharded
kNN and pairwise distances against single-machine ops, estimators on dask arrays,
distributed L-BFGS, cross-validation and GridSearchCV on the cluster, a worker lost mid-search.
"""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import dask  # noqa: E402
import imgclf  # noqa: E402
from imgclf import ops  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                       dashboard_address=None, silence_logs=40)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def _data(rng, n, d, dtype, low=0, high=4):
    """Small integer-valued data (many exact ties), plus float noise for float dtypes."""
    A = rng.integers(low, high, (n, d)).astype(np.float64)
    if np.dtype(dtype) != np.uint8:
        A += 0.05 * rng.standard_normal(A.shape)
    return A.astype(dtype)


def _with_duplicates(rng, Y, X, chunks):
    """Row 1 of Y copied into every other chunk of Y (so equal distances span chunks and
    the lower global index must win), and a few queries equal to it."""
    starts = np.concatenate([[0], np.cumsum(chunks)])[:-1]
    for s, c in zip(starts[1:], chunks[1:]):
        Y[s + c // 2] = Y[1]
    X[::7] = Y[1]
    return Y, X


LAYOUTS = {  # train chunks (rows 100 in all), query chunks (rows 23 in all)
    "uneven": ((7, 40, 1, 52), (10, 13)),
    "one chunk": ((100,), (23,)),
    "many small": ((3,) * 33 + (1,), (5, 5, 5, 8)),
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
@pytest.mark.parametrize("metric", ["l1", "l2", "sqeuclidean"])
def test_knn_equals_single_machine(client, layout, dtype, metric):
    rng = np.random.default_rng(hash((layout, np.dtype(dtype).name, metric)) % 2**32)
    tchunks, qchunks = LAYOUTS[layout]
    Y, X = _with_duplicates(rng, _data(rng, 100, 19, dtype), _data(rng, 23, 19, dtype), tchunks)
    k = 9  # larger than most chunks of "uneven" and every chunk of "many small"
    d0, i0 = ops.knn(X, Y, k, metric)
    Yd = da.from_array(Y, chunks=(tchunks, -1)).persist()
    Xd = da.from_array(X, chunks=(qchunks, -1))
    for q, t in ((Xd, Yd), (X, Yd), (Xd, Y)):  # both, train only, queries only
        d1, i1 = ops.knn(q, t, k, metric)
        assert isinstance(d1, da.Array) and isinstance(i1, da.Array)
        assert d1.shape == (23, k) and i1.shape == (23, k)
        d1, i1 = dask.compute(d1, i1)
        assert d1.dtype == d0.dtype and i1.dtype == i0.dtype
        np.testing.assert_array_equal(i1, i0)
        np.testing.assert_array_equal(d1, d0)
    # the duplicate of train row 1 placed in every chunk: row 1 (the lowest index) comes first
    assert (i0[::7, 0] == 1).all()


def test_numpy_queries_are_sent_to_the_shard_holders_not_put_in_the_graph(client, monkeypatch):
    """NumPy queries against a persisted training set: scattered once to each worker that
    holds a shard (the graph carries futures, not the queries), cut into blocks of
    BLOCK_BYTES, and the answer is still the single-machine one."""
    import pickle

    import imgclf.dask as idask

    rng = np.random.default_rng(11)
    Y, X = _with_duplicates(rng, _data(rng, 300, 40, np.float64), _data(rng, 2000, 40, np.float64), (100, 100, 100))
    Yd = da.from_array(Y, chunks=(100, -1)).persist()
    monkeypatch.setattr(idask, "BLOCK_BYTES", 300 * 40 * 8)  # 300-row query blocks
    d1, i1 = ops.knn(X, Yd, 4, "l2")
    assert d1.chunks[0] == (300,) * 6 + (200,)
    graph = pickle.dumps(dict(d1.__dask_graph__()))
    assert len(graph) < X.nbytes / 4, len(graph)
    d0, i0 = ops.knn(X, Y, 4, "l2")
    d1, i1 = dask.compute(d1, i1)
    np.testing.assert_array_equal(i1, i0)
    np.testing.assert_array_equal(d1, d0)


def test_knn_k_equals_n_train_and_tiny_chunks(client):
    rng = np.random.default_rng(5)
    Y = _data(rng, 12, 5, np.float32)
    Y[7] = Y[2]
    X = _data(rng, 4, 5, np.float32)
    d0, i0 = ops.knn(X, Y, 12, "l2")
    d1, i1 = dask.compute(*ops.knn(da.from_array(X, chunks=(1, -1)), da.from_array(Y, chunks=(5, -1)), 12, "l2"))
    np.testing.assert_array_equal(i1, i0)
    np.testing.assert_array_equal(d1, d0)


def test_uint8_exact(client):
    """uint8 distances are exact integers: checked against Python integer arithmetic."""
    rng = np.random.default_rng(1)
    Y = rng.choice(np.array([0, 1, 254, 255], dtype=np.uint8), (60, 33))
    X = rng.choice(np.array([0, 1, 254, 255], dtype=np.uint8), (9, 33))
    for metric in ("l1", "sqeuclidean"):
        d, i = dask.compute(*ops.knn(da.from_array(X, chunks=(4, -1)), da.from_array(Y, chunks=(13, -1)), 6, metric))
        assert d.dtype == np.int32
        for q in range(len(X)):
            exact = [sum(abs(int(a) - int(b)) ** (1 if metric == "l1" else 2) for a, b in zip(X[q], row)) for row in Y]
            order = sorted(range(len(Y)), key=lambda j: (exact[j], j))[:6]
            assert i[q].tolist() == order
            assert d[q].tolist() == [exact[j] for j in order]


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
@pytest.mark.parametrize("metric", ["l1", "l2", "sqeuclidean"])
def test_pairwise_equals_single_machine(client, dtype, metric):
    rng = np.random.default_rng(3)
    X, Y = _data(rng, 17, 11, dtype), _data(rng, 29, 11, dtype)
    p0 = ops.pairwise_distances(X, Y, metric)
    p1 = ops.pairwise_distances(da.from_array(X, chunks=(6, -1)), da.from_array(Y, chunks=((10, 1, 18), -1)), metric)
    assert isinstance(p1, da.Array) and p1.chunks == ((6, 6, 5), (10, 1, 18))
    p1 = p1.compute()
    assert p1.dtype == p0.dtype
    np.testing.assert_array_equal(p1, p0)
    np.testing.assert_array_equal(ops.pairwise_distances(da.from_array(X, chunks=(5, -1)), metric=metric).compute(),
                                  ops.pairwise_distances(X, metric=metric))


def test_bad_input_errors(client):
    rng = np.random.default_rng(0)
    Y = da.from_array(_data(rng, 20, 4, np.float64), chunks=(7, -1))
    with pytest.raises(ValueError, match="k must be between 1"):
        ops.knn(Y, Y, 21)
    with pytest.raises(ValueError, match="features"):
        ops.knn(da.ones((3, 5), chunks=2), Y, 2)
    with pytest.raises(ValueError, match="metric"):
        ops.knn(Y, Y, 2, "cosine")
    bad = _data(rng, 20, 4, np.float64)
    bad[15, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):  # found by the task that holds it
        dask.compute(*ops.knn(Y, da.from_array(bad, chunks=(7, -1)), 3))


def test_import_error_names_the_extra():
    code = ("import sys; sys.modules['dask'] = None; sys.modules['dask.array'] = None\n"
            "try:\n    import imgclf.dask\nexcept ImportError as e:\n    print('ERR', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "ERR" in out.stdout and "imgclf[dask]" in out.stdout, out.stdout + out.stderr


# ---- estimators ------------------------------------------------------------------------------

def _images(rng, n, classes=3):
    y = rng.integers(0, classes, n)
    X = rng.integers(0, 256, (n, 6, 5)).astype(np.uint8)
    X[:, 0, :] = (y[:, None] * 80).astype(np.uint8)  # learnable
    return X, y


def test_knn_estimator_on_the_cluster(client):
    rng = np.random.default_rng(11)
    X, y = _images(rng, 300)
    Q, yq = _images(rng, 40)
    X[200] = X[3]  # a duplicate across shards
    labels = np.array(["cat", "dog", "emu"])[y]
    Xd = da.from_array(X, chunks=((90, 110, 100), 6, 5))
    yd = da.from_array(labels, chunks=((90, 110, 100),))
    Qd = da.from_array(Q, chunks=(15, 6, 5))
    for weights in ("uniform", "distance"):
        m0 = imgclf.KNearestNeighbor(k=7, metric="l1", weights=weights).fit(X, labels)
        m1 = imgclf.KNearestNeighbor(k=7, metric="l1", weights=weights).fit(Xd, yd)
        # the training shards stay on the workers (persist is asynchronous: wait for it)
        distributed.wait(m1._X)
        assert len(client.who_has(m1._X)) == 3 and all(client.who_has(m1._X).values())
        assert list(m1.classes_) == ["cat", "dog", "emu"]
        p1 = m1.predict(Qd)
        assert isinstance(p1, da.Array)
        np.testing.assert_array_equal(p1.compute(), m0.predict(Q))
        np.testing.assert_array_equal(m1.predict(Q), m0.predict(Q))  # NumPy queries: NumPy answer
        np.testing.assert_array_equal(m1.predict_proba(Qd).compute(), m0.predict_proba(Q))
        d1, i1 = m1.kneighbors(Qd)
        d0, i0 = m0.kneighbors(Q)
        np.testing.assert_array_equal(i1.compute(), i0)
        np.testing.assert_array_equal(d1.compute(), d0)
        assert m1.score(Qd, np.array(["cat", "dog", "emu"])[yq]) == m0.score(Q, np.array(["cat", "dog", "emu"])[yq])
        # a model fitted here predicts dask queries block by block
        np.testing.assert_array_equal(m0.predict(Qd).compute(), m0.predict(Q))
        np.testing.assert_array_equal(m0.kneighbors(Qd)[1].compute(), i0)


def test_knn_fit_keeps_shards_on_workers(client):
    rng = np.random.default_rng(2)
    X, y = _images(rng, 120)
    m = imgclf.KNearestNeighbor(k=3).fit(da.from_array(X.reshape(120, -1), chunks=(40, -1)),
                                          da.from_array(y, chunks=40))
    distributed.wait([m._X, m._y])
    where = client.who_has(m._X)
    assert len(where) == 3 and all(len(w) >= 1 for w in where.values())


@pytest.mark.parametrize("cls", [imgclf.SoftmaxClassifier, imgclf.LinearSVM])
@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
def test_distributed_lbfgs_equals_single_machine(client, cls, dtype):
    rng = np.random.default_rng(4)
    X, y = _images(rng, 400)
    X = X.reshape(400, -1).astype(dtype)
    kw = dict(optimizer="lbfgs", epochs=2, reg=1e-3, dtype="float64", random_state=0)
    m0 = cls(**kw).fit(X, y)
    m1 = cls(**kw).fit(da.from_array(X, chunks=((150, 37, 213), -1)), da.from_array(y, chunks=100))
    assert m1.n_iter_ > 3
    np.testing.assert_allclose(m1.coef_, m0.coef_, rtol=1e-7, atol=1e-9 * np.abs(m0.coef_).max())
    np.testing.assert_allclose(m1.intercept_, m0.intercept_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(m1.history_["loss"], m0.history_["loss"], rtol=1e-10)
    Qd = da.from_array(X[:50], chunks=20)
    np.testing.assert_array_equal(m1.predict(Qd).compute(), m0.predict(X[:50]))
    np.testing.assert_allclose(m1.decision_function(Qd).compute(), m0.decision_function(X[:50]), rtol=1e-6)


def test_blockwise_predict_every_estimator(client):
    rng = np.random.default_rng(6)
    X, y = _images(rng, 200)
    Qd = da.from_array(X[:60], chunks=(25, 6, 5))
    for est in (imgclf.SoftmaxClassifier(epochs=2, random_state=0), imgclf.LinearSVM(epochs=2, random_state=0),
                imgclf.TwoLayerNet(hidden=8, epochs=2, random_state=0)):
        est.fit(X, y)
        p = est.predict(Qd)
        assert isinstance(p, da.Array)
        np.testing.assert_array_equal(p.compute(), est.predict(X[:60]))
        if hasattr(est, "predict_proba") and not isinstance(est, imgclf.LinearSVM):
            np.testing.assert_array_equal(est.predict_proba(Qd).compute(), est.predict_proba(X[:60]))
        assert est.score(Qd, y[:60]) == est.score(X[:60], y[:60])


def test_minibatch_on_dask_says_what_to_use(client):
    rng = np.random.default_rng(7)
    X, y = _images(rng, 90)
    Xd, yd = da.from_array(X, chunks=(30, 6, 5)), da.from_array(y, chunks=30)
    with pytest.raises(ValueError, match="optimizer='lbfgs'.*partial_fit"):
        imgclf.SoftmaxClassifier(optimizer="adam").fit(Xd, yd)
    # partial_fit: one epoch on each block in turn, the same as calling it block by block
    a = imgclf.SoftmaxClassifier(optimizer="sgd", lr=0.01, random_state=0).partial_fit(Xd, yd, classes=[0, 1, 2])
    b = imgclf.SoftmaxClassifier(optimizer="sgd", lr=0.01, random_state=0)
    for s in range(0, 90, 30):
        b.partial_fit(X[s : s + 30], y[s : s + 30], classes=[0, 1, 2])
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert a.n_iter_ == 3


# ---- model selection on the cluster ------------------------------------------------------------

def test_cross_validate_k_on_the_cluster(client):
    from imgclf.model_selection import cross_validate_k

    rng = np.random.default_rng(8)
    X, y = _images(rng, 150)
    r_active = cross_validate_k(X, y, [1, 3, 5], folds=3, metric="l1", progress=False)  # the active client
    r_given = cross_validate_k(X, y, [1, 3, 5], folds=3, metric="l1", progress=False, client=client)
    local = _local_cv(X, y)
    np.testing.assert_array_equal(r_active["scores"], local)
    np.testing.assert_array_equal(r_given["scores"], local)


def _local_cv(X, y):
    from sklearn.model_selection import StratifiedKFold

    Xf = X.reshape(len(X), -1)
    out = []
    for tr, va in StratifiedKFold(3, shuffle=True, random_state=0).split(Xf, y):
        row = []
        for k in (1, 3, 5):
            m = imgclf.KNearestNeighbor(k=k, metric="l1").fit(Xf[tr], y[tr])
            row.append(float(np.mean(m.predict(Xf[va]) == y[va])))
        out.append(row)
    return np.array(out)


def test_gridsearchcv_with_joblib_dask_backend(client):
    import joblib
    from sklearn.model_selection import GridSearchCV

    rng = np.random.default_rng(9)
    X, y = _images(rng, 120)
    X = X.reshape(120, -1)
    cases = [(imgclf.KNearestNeighbor(), {"k": [1, 5], "metric": ["l1", "l2"]}),
             (imgclf.SoftmaxClassifier(epochs=2, random_state=0), {"reg": [1e-4, 1e-2]}),
             (imgclf.LinearSVM(epochs=2, random_state=0), {"reg": [1e-4, 1e-2]}),
             (imgclf.TwoLayerNet(hidden=8, epochs=2, random_state=0), {"reg": [1e-4, 1e-2]})]
    for est, grid in cases:
        here = GridSearchCV(est, grid, cv=3).fit(X, y)
        with joblib.parallel_backend("dask"):
            there = GridSearchCV(est, grid, cv=3, n_jobs=-1).fit(X, y)
        np.testing.assert_array_equal(there.cv_results_["mean_test_score"], here.cv_results_["mean_test_score"])
        assert there.best_params_ == here.best_params_


# ---- a worker lost in the middle of a search ----------------------------------------------------

def test_worker_killed_mid_knn_is_correct_or_fails_loudly():
    rng = np.random.default_rng(10)
    Y = rng.integers(0, 256, (24000, 256)).astype(np.uint8)
    X = rng.integers(0, 256, (1200, 256)).astype(np.uint8)
    Y[20000] = Y[5]
    X[0] = Y[5]
    d0, i0 = ops.knn(X, Y, 5, "l1")
    cluster = distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                       dashboard_address=None, silence_logs=50)
    try:
        with distributed.Client(cluster) as c:
            Yd = da.from_array(Y, chunks=(1000, -1)).persist()  # shards on both workers
            distributed.wait(Yd)
            Xd = da.from_array(X, chunks=(100, -1))
            fut = c.compute(list(ops.knn(Xd, Yd, 5, "l1")))
            pids = c.run(os.getpid)
            # wait until the search is under way, then kill one worker process outright
            t0 = time.monotonic()
            while not any(c.processing().values()) and time.monotonic() - t0 < 60:
                time.sleep(0.01)
            time.sleep(0.05)
            assert not all(f.done() for f in fut), "the search finished before the kill"
            os.kill(pids[sorted(pids)[0]], signal.SIGKILL)
            try:
                d1, i1 = c.gather(fut)
            except Exception as exc:  # a clear error is acceptable, a partial answer is not
                assert "worker" in f"{type(exc).__name__} {exc}".lower(), exc
            else:
                np.testing.assert_array_equal(i1, i0)
                np.testing.assert_array_equal(d1, d0)
    finally:
        cluster.close()


# ---- the command line's cluster path ------------------------------------------------------------

def test_pipeline_knn_on_a_scheduler(client, capsys):
    """`imgclf run --scheduler ADDRESS`: connecting prints the dashboard link, and the final
    kNN's evaluation on the cluster (shards on the workers) equals the one in this process."""
    from imgclf import pipeline
    from imgclf.cli import main

    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "--scheduler" in capsys.readouterr().out
    c2, cluster = pipeline.connect(client.scheduler.address)
    try:
        assert cluster is None
        assert "dashboard" in capsys.readouterr().err
        rng = np.random.default_rng(12)
        X, y = _images(rng, 240, classes=7)
        X = X.reshape(240, -1)
        Xte, yte = X[:50], y[:50]
        here = imgclf.KNearestNeighbor(k=3, metric="l1").fit(X[50:], y[50:])
        there = imgclf.KNearestNeighbor(k=3, metric="l1").fit(da.from_array(X[50:], chunks=(95, -1)), y[50:])
        r0, p0 = pipeline._evaluate("kNN", here, {}, 0.0, Xte, yte, 0.0, "cpu")
        r1, p1 = pipeline._evaluate("kNN", there, {}, 0.0, Xte, yte, 0.0, "cpu", client=c2)
        np.testing.assert_array_equal(p1, p0)
        assert (r1["test_acc"], r1["top5"]) == (r0["test_acc"], r0["top5"])
    finally:
        c2.close()


def test_quiet_settings_exist_in_dask_and_reach_the_workers():
    """imgclf.dask.QUIET names settings Dask has (a rename in a Dask release fails here), and
    a LocalCluster started under them has them on its workers; the kNN still answers."""
    from imgclf.dask import QUIET

    for key in QUIET:
        dask.config.get(key)  # KeyError if Dask has no such setting
    with dask.config.set(QUIET):
        cluster = distributed.LocalCluster(processes=True, n_workers=1, threads_per_worker=1,
                                           dashboard_address=None, silence_logs=40)
    try:
        with distributed.Client(cluster, set_as_default=False) as c:
            seen = c.run(lambda: {k: dask.config.get(k) for k in QUIET})
            assert list(seen.values()) == [QUIET]
            rng = np.random.default_rng(2)
            Y, X = _data(rng, 50, 6, np.uint8), _data(rng, 9, 6, np.uint8)
            d1, i1 = c.compute(list(ops.knn(da.from_array(X, chunks=(4, -1)), da.from_array(Y, chunks=(20, -1)), 3, "l1")),
                               sync=True)
            d0, i0 = ops.knn(X, Y, 3, "l1")
            np.testing.assert_array_equal(i1, i0)
            np.testing.assert_array_equal(d1, d0)
    finally:
        cluster.close()
    # `imgclf run --scheduler local` starts its LocalCluster under them
    from imgclf import pipeline

    c3, cluster3 = pipeline.connect("local")
    try:
        seen = c3.run(lambda: {k: dask.config.get(k) for k in QUIET})
        assert seen and all(v == QUIET for v in seen.values())
    finally:
        c3.close()
        cluster3.close()
