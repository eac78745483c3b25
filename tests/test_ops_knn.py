"""imgclf.ops.knn and pairwise_distances: every backend and SIMD level against the
float64 ground truth on fresh random data, awkward shapes and ties."""
import os
import signal
import threading
import time

import numpy as np
import pytest

from imgclf import backend, ops
from imgclf import _reference as R

from helpers import assert_knn_valid, exact_distances

DTYPES = [np.float32, np.float64, np.uint8]
METRICS = ["l1", "l2", "sqeuclidean"]


def make(rng, n, d, dtype):
    if dtype == np.uint8:
        return rng.integers(0, 256, size=(n, d), dtype=np.uint8)
    return rng.standard_normal((n, d)).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("d", [1, 7, 63, 64, 65, 784, 3072])
def test_knn_matches_ground_truth(config, rng, dtype, metric, d):
    nt = int(rng.integers(33, 300))
    Y = make(rng, nt, d, dtype)
    for nq, k in [(37, 1), (37, 5), (1, 3), (5, nt)]:
        X = make(rng, nq, d, dtype)
        dist, idx = ops.knn(X, Y, k, metric, backend=config)
        assert dist.dtype == R.distance_dtype(dtype, metric)
        exact = dtype == np.uint8
        assert_knn_valid(dist, idx, X, Y, k, metric, exact=exact)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("metric", METRICS)
def test_knn_ties_resolve_by_training_index(config, rng, dtype, metric):
    # integer-valued data: every distance is exact in float64, ties are exact ties
    base = rng.integers(0, 4, size=(6, 9)).astype(dtype)
    Y = base[rng.integers(0, 6, size=200)]          # many duplicate training rows
    X = np.concatenate([base, rng.integers(0, 4, size=(20, 9)).astype(dtype)])
    for k in (1, 4, 17, 200):
        dist, idx = ops.knn(X, Y, k, metric, backend=config)
        assert_knn_valid(dist, idx, X, Y, k, metric, exact=True)


@pytest.mark.parametrize("metric", METRICS)
def test_uint8_extremes_are_exact(config, metric):
    d = 3072
    Y = np.zeros((70, d), np.uint8)
    Y[35:] = 255
    Y[10, :7] = 255
    Y[50, -5:] = 0
    X = np.stack([np.zeros(d, np.uint8), np.full(d, 255, np.uint8)])
    dist, idx = ops.knn(X, Y, 70, metric, backend=config)
    assert_knn_valid(dist, idx, X, Y, 70, metric, exact=True)
    full = 255 * 255 * d if metric == "sqeuclidean" else 255 * d
    if metric != "l2":
        assert dist.max() == full  # the largest distance, exact in int32


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: np.dtype(t).name)
def test_large_train_small_queries_merges_splits(config, rng, dtype):
    # one query against many rows: the search is split over training ranges and merged
    Y = make(rng, 5003, 40, dtype)
    X = make(rng, 3, 40, dtype)
    for metric in ("l1", "sqeuclidean"):
        dist, idx = ops.knn(X, Y, 25, metric, backend=config)
        assert_knn_valid(dist, idx, X, Y, 25, metric, exact=dtype == np.uint8)


def test_many_queries_many_chunks(rng):
    Y = make(rng, 500, 5, np.uint8)
    X = make(rng, 20011, 5, np.uint8)
    dist, idx = ops.knn(X, Y, 3, "sqeuclidean")
    d2, i2 = R.knn(X, Y, 3, "sqeuclidean")
    np.testing.assert_array_equal(idx, i2)
    np.testing.assert_array_equal(dist, d2)


@pytest.mark.skipif(not backend.cpu_available(), reason="compiled CPU module not built")
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: np.dtype(t).name)
def test_one_thread_and_many_threads_agree(rng, dtype):
    Y = make(rng, 3001, 65, dtype)
    X = make(rng, 401, 65, dtype)
    try:
        backend.set_num_threads(1)
        one = [ops.knn(X, Y, 7, m) for m in METRICS]
        backend.set_num_threads(4)  # more threads than cores is allowed, and still the same
        many = [ops.knn(X, Y, 7, m) for m in METRICS]
    finally:
        backend.set_num_threads(None)
    for (d1, i1), (d2, i2) in zip(one, many):
        np.testing.assert_array_equal(i1, i2)
        np.testing.assert_array_equal(d1, d2)


@pytest.mark.skipif(not backend.cpu_available(), reason="compiled CPU module not built")
@pytest.mark.parametrize("metric", ["l1", "sqeuclidean"])
def test_float32_near_ties_take_the_exact_fallback(config, rng, metric):
    # training rows that differ from the query by far less than float32 resolves in the
    # fast pass: the rounding bound cannot separate them, so these queries are searched
    # again in float64; the answer must still be the float64 ranking.
    x = np.full(784, 100.0, np.float32)
    Y = np.repeat(x[None] + 1, 64, 0)   # distance 784 (L1) / 784 (L2^2) ...
    m = rng.integers(1, 4, 64)
    Y[np.arange(64), rng.integers(0, 784, 64)] += np.float32(2.0**-10) * m  # ... +- 2^-10
    Y = np.concatenate([Y, (rng.random((500, 784)) * 255).astype(np.float32)])
    X = x[None].copy()
    if config == "cpu":
        from imgclf.backend import _cpu

        dist = np.empty((1, 10), np.float32)
        idx = np.empty((1, 10), np.int64)
        redo = _cpu.knn(X, Y, 10, ops._METRIC_CODE[metric], dist, idx)
        assert redo == 1
    dist, idx = ops.knn(X, Y, 10, metric, backend=config)
    assert_knn_valid(dist, idx, X, Y, 10, metric)


@pytest.mark.skipif(not backend.cpu_available(), reason="compiled CPU module not built")
def test_float32_l1_large_offsets_and_ordinary_data(rng):
    # float32 L1 candidates come from sum x + sum y - 2 sum min(x, y).  With a large common
    # offset that form cancels badly: the rounding bound cannot prove the candidates, and
    # every query must be searched again exactly.  On ordinary data the bound proves them.
    from imgclf.backend import _cpu

    for offset, expect_redo in ((1e5, True), (0.0, False)):
        Y = (offset + rng.random((700, 96))).astype(np.float32)
        X = (offset + rng.random((40, 96))).astype(np.float32)
        dist = np.empty((40, 6), np.float32)
        idx = np.empty((40, 6), np.int64)
        redo = _cpu.knn(X, Y, 6, ops._METRIC_CODE["l1"], dist, idx)
        assert (redo == 40) if expect_redo else (redo == 0), (offset, redo)
        assert_knn_valid(dist, idx, X, Y, 6, "l1")


def test_images_and_non_contiguous_inputs(rng):
    imgs = rng.integers(0, 256, size=(50, 8, 8, 3), dtype=np.uint8)
    q = rng.integers(0, 256, size=(9, 8, 8, 3), dtype=np.uint8)
    d1, i1 = ops.knn(q, imgs, 4, "l1")
    flat_q, flat_t = q.reshape(9, -1), imgs.reshape(50, -1)
    assert_knn_valid(d1, i1, flat_q, flat_t, 4, "l1", exact=True)
    big = rng.standard_normal((40, 130)).astype(np.float32)
    view = big[:, ::2]  # not contiguous
    d2, i2 = ops.knn(view[:10], view, 6, "l2")
    assert_knn_valid(d2, i2, np.ascontiguousarray(view[:10]), np.ascontiguousarray(view), 6, "l2")


def test_mixed_and_integer_dtypes_are_promoted(rng):
    a = rng.integers(0, 256, size=(20, 10), dtype=np.uint8)
    b = a.astype(np.float32) + 0.25
    dist, idx = ops.knn(a, b, 3, "l1")
    assert dist.dtype == np.float32
    dist, idx = ops.knn(a.astype(np.int64), a.astype(np.int64), 1, "l1")
    assert dist.dtype == np.float64
    np.testing.assert_array_equal(idx[:, 0], np.arange(20))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("metric", METRICS)
def test_pairwise_distances(config, rng, dtype, metric):
    for d in (1, 7, 65, 784):
        X = make(rng, 23, d, dtype)
        Y = make(rng, 41, d, dtype)
        D = ops.pairwise_distances(X, Y, metric, backend=config)
        assert D.shape == (23, 41)
        assert D.dtype == R.distance_dtype(dtype, metric)
        truth = exact_distances(X, Y, metric)
        if dtype == np.uint8:
            np.testing.assert_array_equal(D, truth)
        else:
            rtol = 1e-5 if dtype == np.float32 else 1e-12
            np.testing.assert_allclose(D, truth, rtol=rtol, atol=rtol * truth.max())
    S = ops.pairwise_distances(X, metric=metric, backend=config)  # Y defaults to X
    assert np.all(np.diag(S) == 0)


BAD = [
    (lambda X, Y: ops.knn(X, Y, 0), ValueError, "k must be"),
    (lambda X, Y: ops.knn(X, Y, 11), ValueError, "k must be"),
    (lambda X, Y: ops.knn(X, Y, 2.0), TypeError, "k must be an int"),
    (lambda X, Y: ops.knn(X[:, :3], Y, 2), ValueError, "features"),
    (lambda X, Y: ops.knn(X[:0], Y, 2), ValueError, "queries is empty"),
    (lambda X, Y: ops.knn(X, Y[:0], 1), ValueError, "train is empty"),
    (lambda X, Y: ops.knn(X, Y, 2, metric="cosine"), ValueError, "metric must be"),
    (lambda X, Y: ops.knn(X[0], Y, 2), ValueError, "queries must be 2-D"),
    (lambda X, Y: ops.knn(X.astype(complex), Y, 2), TypeError, "queries must hold real"),
    (lambda X, Y: ops.knn(np.where(X > 0, np.nan, X), Y, 2), ValueError, "queries contains NaN"),
    (lambda X, Y: ops.knn(X, np.where(Y > 0, np.inf, Y), 2), ValueError, "train contains infinity"),
    (lambda X, Y: ops.knn(X, Y, 2, backend="gpu"), ValueError, "backend must be"),
    (lambda X, Y: ops.pairwise_distances(X, Y, "l3"), ValueError, "metric must be"),
    (lambda X, Y: ops.vote(np.array([[0, 5]]), 3), ValueError, "neighbor_labels must lie"),
    (lambda X, Y: ops.vote(np.array([[0, 1]]), 3, weights="inverse"), ValueError, "weights must be"),
    (lambda X, Y: ops.vote(np.array([[0, 1]]), 3, weights="distance"), ValueError, "needs distances"),
    (lambda X, Y: ops.vote(np.array([[0, 1]]), 3, np.array([[0.1]]), "distance"), ValueError, "shape"),
    (lambda X, Y: ops.vote(np.array([[0, 1]]), 3, tie_break="random"), ValueError, "tie_break must be"),
    (lambda X, Y: ops.vote(np.array([[0.0, 1.0]]), 3), TypeError, "must be integers"),
]


@pytest.mark.parametrize("call,exc,msg", BAD)
def test_bad_input_is_refused_with_the_argument_named(call, exc, msg):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, 6)).astype(np.float32)
    Y = rng.standard_normal((10, 6)).astype(np.float32)
    with pytest.raises(exc, match=msg):
        call(X, Y)


@pytest.mark.skipif(not backend.cpu_available(), reason="compiled CPU module not built")
def test_ctrl_c_stops_a_long_search():
    rng = np.random.default_rng(1)
    # about a minute of float32 L1 work on this class of machine
    Y = rng.random((60000, 784), dtype=np.float32)
    X = rng.random((4000, 784), dtype=np.float32)
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    t0 = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        ops.knn(X, Y, 5, "l1")
    elapsed = time.perf_counter() - t0
    timer.cancel()
    # stopped early rather than after the whole search (a loose bound: shared machines)
    assert elapsed < 15, f"knn kept running {elapsed:.1f}s after Ctrl-C"
    # and the module still works afterwards
    dist, idx = ops.knn(X[:2], Y[:100], 3, "l1")
    assert idx.shape == (2, 3)
