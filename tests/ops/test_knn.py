"""The knn family (imgclf.ops.knn: pairwise_distances, knn, vote) on every backend -- the
NumPy reference, each SIMD level of the compiled module, CUDA where a GPU is usable --
against the float64 ground truth on fresh random data, awkward shapes and ties; and the
edges: extreme magnitudes, wide uint8 rows, NaN, Ctrl-C, memory."""
import os
import signal
import subprocess
import sys
import threading
import time
import tracemalloc

import numpy as np
import pytest
from imgclf import _reference as R
from imgclf import backend, ops

from ..helpers import assert_knn_valid, exact_distances, interrupt_after

needs_cpu = pytest.mark.skipif(not backend.cpu_available(), reason="compiled CPU module not built")


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
        dist, idx = config.ops.knn(X, Y, k, metric)
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
        dist, idx = config.ops.knn(X, Y, k, metric)
        assert_knn_valid(dist, idx, X, Y, k, metric, exact=True)


@pytest.mark.parametrize("metric", METRICS)
def test_uint8_extremes_are_exact(config, metric):
    d = 3072
    Y = np.zeros((70, d), np.uint8)
    Y[35:] = 255
    Y[10, :7] = 255
    Y[50, -5:] = 0
    X = np.stack([np.zeros(d, np.uint8), np.full(d, 255, np.uint8)])
    dist, idx = config.ops.knn(X, Y, 70, metric)
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
        dist, idx = config.ops.knn(X, Y, 25, metric)
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
        cpu = backend.cpu_module()
        dist = np.empty((1, 10), np.float32)
        idx = np.empty((1, 10), np.int64)
        redo = cpu.knn(X, Y, 10, cpu.Metric.__members__[metric], dist, idx)
        assert redo == 1
    dist, idx = config.ops.knn(X, Y, 10, metric)
    assert_knn_valid(dist, idx, X, Y, 10, metric)


@pytest.mark.skipif(not backend.cpu_available(), reason="compiled CPU module not built")
def test_float32_l1_large_offsets_and_ordinary_data(rng):
    # float32 L1 candidates come from sum x + sum y - 2 sum min(x, y).  With a large common
    # offset that form cancels badly: the rounding bound cannot prove the candidates, and
    # every query must be searched again exactly.  On ordinary data the bound proves them.
    cpu = backend.cpu_module()
    for offset, expect_redo in ((1e5, True), (0.0, False)):
        Y = (offset + rng.random((700, 96))).astype(np.float32)
        X = (offset + rng.random((40, 96))).astype(np.float32)
        dist = np.empty((40, 6), np.float32)
        idx = np.empty((40, 6), np.int64)
        redo = cpu.knn(X, Y, 6, cpu.Metric.l1, dist, idx)
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
        D = config.ops.pairwise_distances(X, Y, metric)
        assert D.shape == (23, 41)
        assert D.dtype == R.distance_dtype(dtype, metric)
        truth = exact_distances(X, Y, metric)
        if dtype == np.uint8:
            np.testing.assert_array_equal(D, truth)
        else:
            rtol = 1e-5 if dtype == np.float32 else 1e-12
            np.testing.assert_allclose(D, truth, rtol=rtol, atol=rtol * truth.max())
    S = config.ops.pairwise_distances(X, metric=metric)  # Y defaults to X
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


def test_vote_hand_examples(config):
    L = np.array([[2, 1, 1, 2], [0, 1, 2, 3], [3, 3, 0, 0], [1, 1, 1, 1]])
    lab, sc = config.ops.vote(L, 4)
    np.testing.assert_array_equal(lab, [2, 0, 3, 1])  # nearest tied class wins
    np.testing.assert_array_equal(sc[0], [0, 2, 2, 0])
    lab, _ = config.ops.vote(L, 4, tie_break="smallest")
    np.testing.assert_array_equal(lab, [1, 0, 0, 1])
    D = np.array([[1.0, 2, 2, 8], [0.5, 0, 0, 1], [1, 1, 1, 1], [1, 2, 3, 4]])
    lab, sc = config.ops.vote(L, 4, D, "distance")
    # row 0: class 2 gets 1 + 1/8, class 1 gets 1/2 + 1/2; row 1: exact matches only
    np.testing.assert_allclose(sc[0], [0, 1.0, 1.125, 0])
    np.testing.assert_array_equal(sc[1], [0, 1, 1, 0])
    np.testing.assert_array_equal(lab, [2, 1, 3, 1])


@pytest.mark.parametrize("weights", ["uniform", "distance"])
@pytest.mark.parametrize("tie_break", ["nearest", "smallest"])
def test_vote_matches_reference(config, rng, weights, tie_break):
    for n, k, c in [(1, 1, 1), (500, 5, 3), (200, 16, 10), (50, 7, 2)]:
        L = rng.integers(0, c, size=(n, k))
        D = np.sort(rng.integers(0, 4, size=(n, k)).astype(np.float64), axis=1)  # zeros and ties
        lab, sc = config.ops.vote(L, c, D, weights, tie_break=tie_break)
        rl, rs = R.vote(L, c, D, weights, tie_break)
        np.testing.assert_array_equal(lab, rl)
        np.testing.assert_array_equal(sc, rs)
        assert lab.dtype == np.int64 and sc.shape == (n, c)


def test_vote_refuses_complex_distances():
    with pytest.raises(TypeError, match="distances must hold real numbers"):
        ops.vote(np.array([[0, 1]]), 2, np.array([[1 + 1j, 2]]), "distance")


def test_overflowing_float32_does_not_crash_the_process():
    """Finite float32 values whose squared differences overflow float32 once made the fused
    kNN read training row 2^31 - 1 (a segfault) at every SIMD level and through the
    estimator.  Run in a child process: a crash must fail this test, not kill the suite."""
    code = r"""
import numpy as np
from imgclf import KNearestNeighbor, backend, ops
levels = backend.simd_levels() or [None]
for level in levels:
    if level:
        backend.set_simd_level(level)
    for v, metric in ((2e19, "l2"), (2e19, "sqeuclidean"), (3e38, "l1"), (-3e38, "l1")):
        a = np.array([[v]], np.float32)
        d, i = ops.knn(a, a, 1, metric)
        assert i.tolist() == [[0]] and d.tolist() == [[0.0]], (level, v, metric, d, i)
    X = np.array([[0.0], [2e19], [-2e19], [3e38]], np.float32)
    clf = KNearestNeighbor(k=1).fit(X, [0, 1, 2, 3])
    assert clf.predict(X).tolist() == [0, 1, 2, 3], level
print("ok")
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "ok" in r.stdout, f"rc={r.returncode}\n{r.stdout}\n{r.stderr}"


@pytest.mark.parametrize("exponent", [-126, -100, -73, -40, 0, 40, 62, 100, 120])
@pytest.mark.parametrize("metric", ["l2", "sqeuclidean", "l1"])
def test_float32_ranks_like_float64_over_the_whole_range(config, rng, exponent, metric):
    """Data scaled by 2^exponent (exactly, where it stays normal) must give the float64
    ranking: overflow (2^62 and up for l2), underflow (below 2^-63) or neither."""
    X = rng.standard_normal((50, 13)).astype(np.float32)
    Y = rng.standard_normal((300, 13)).astype(np.float32)
    X, Y = np.ldexp(X, exponent).astype(np.float32), np.ldexp(Y, exponent).astype(np.float32)
    assert np.isfinite(X).all() and np.isfinite(Y).all()
    dist, idx = config.ops.knn(X, Y, 5, metric)
    assert np.isfinite(dist).all() or metric == "sqeuclidean"
    D = exact_distances(X, Y, metric)
    order = np.lexsort((np.broadcast_to(np.arange(D.shape[1]), D.shape), D), axis=1)[:, :5]
    np.testing.assert_array_equal(idx, order)
    with np.errstate(over="ignore"):
        ref = np.take_along_axis(D, order, 1).astype(np.float32)  # float64 distance, rounded once
    np.testing.assert_allclose(dist, ref, rtol=1e-6, atol=0)


def test_float32_large_values_from_the_report(config):
    """The reported case: float32 l2 returned index 9 at distance inf where float64 gives
    index 99 at 2.1e19; pairwise_distances of 0 and 1e20 gave inf."""
    rng = np.random.default_rng(3)
    Y = (rng.standard_normal((100, 4)) * 1e20).astype(np.float32)
    Y[99] = [1e19, 1e19, 1e19, 1e19]
    q = np.zeros((1, 4), np.float32)
    dist, idx = config.ops.knn(q, Y, 1, "l2")
    D = exact_distances(q, Y, "l2")
    assert idx[0, 0] == int(np.argmin(D[0])) and np.isfinite(dist[0, 0])
    np.testing.assert_allclose(dist[0, 0], D[0].min(), rtol=1e-6)
    P = config.ops.pairwise_distances(np.array([[0.0]], np.float32), np.array([[1e20]], np.float32), "l2")
    np.testing.assert_allclose(P, [[1e20]], rtol=1e-7)


@pytest.mark.parametrize("exponent", [-75, -40, 0, 62, 100])
@pytest.mark.parametrize("metric", ["l2", "sqeuclidean", "l1"])
def test_float32_pairwise_over_the_whole_range(config, rng, exponent, metric):
    X = np.ldexp(rng.standard_normal((7, 9)), exponent).astype(np.float32)
    Y = np.ldexp(rng.standard_normal((11, 9)), exponent).astype(np.float32)
    D = config.ops.pairwise_distances(X, Y, metric)
    with np.errstate(over="ignore"):
        ref = exact_distances(X, Y, metric).astype(np.float32)
    np.testing.assert_allclose(D, ref, rtol=2e-6, atol=0)


@pytest.mark.parametrize("scale", [2.0 ** 600, 2.0 ** -600])
def test_float64_extremes_are_scaled_not_overflowed(config, rng, scale):
    X = rng.standard_normal((6, 5)) * scale
    Y = rng.standard_normal((40, 5)) * scale
    dist, idx = config.ops.knn(X, Y, 3, "l2")
    Xs, Ys = X / scale, Y / scale  # exact: powers of two
    ref_d, ref_i = config.ops.knn(Xs, Ys, 3, "l2")
    np.testing.assert_array_equal(idx, ref_i)
    np.testing.assert_allclose(dist, ref_d * scale, rtol=1e-12)
    P = config.ops.pairwise_distances(X, Y, "l1")
    np.testing.assert_allclose(P, config.ops.pairwise_distances(Xs, Ys, "l1") * scale, rtol=1e-12)


def test_nan_reaching_the_kernel_is_refused_not_returned():
    """The compiled module itself (below the ops checks) refuses NaN rather than returning
    a training index that does not exist."""
    if not backend.cpu_available():
        pytest.skip("compiled CPU module not built")
    cpu = backend.cpu_module()
    X = np.full((2, 3), np.nan, np.float32)
    Y = np.ones((5, 3), np.float32)
    d, i = np.empty((2, 2), np.float32), np.empty((2, 2), np.int64)
    with pytest.raises(ValueError, match="NaN"):
        cpu.knn(X, Y, 2, cpu.Metric.sqeuclidean, d, i)


@pytest.mark.parametrize("metric", ["sqeuclidean", "l1", "l2"])
def test_uint8_wide_rows_stay_exact(config, metric):
    d = 33100  # 255^2 * 33100 > 2^31
    X = np.zeros((2, d), np.uint8)
    Y = np.zeros((3, d), np.uint8)
    X[0] = 255
    Y[1, : d // 2] = 255
    Y[2] = 1
    dist, idx = config.ops.knn(X, Y, 3, metric)
    P = config.ops.pairwise_distances(X, Y, metric)
    e = 1 if metric == "l1" else 2
    h = d // 2
    full = np.array([[255 ** e * d, 255 ** e * (d - h), 254 ** e * d],
                     [0, 255 ** e * h, d]], dtype=np.int64)
    if metric == "l2":
        np.testing.assert_allclose(P, np.sqrt(full.astype(np.float64)), rtol=1e-15)
        np.testing.assert_allclose(dist, np.sort(np.sqrt(full.astype(np.float64)), axis=1), rtol=1e-15)
    else:
        assert P.dtype == (np.int64 if metric == "sqeuclidean" else np.int32)
        np.testing.assert_array_equal(P, full)
        np.testing.assert_array_equal(dist, np.sort(full, axis=1))
    np.testing.assert_array_equal(idx, np.argsort(full, axis=1, kind="stable"))


@needs_cpu
def test_ctrl_c_stops_the_exact_float32_pass():
    """100k identical training rows: no candidate list can be proven, every query takes the
    exact pass, which must stop on Ctrl-C too (it once ran on for ~100 s)."""
    Y = np.tile(np.random.default_rng(0).random((1, 784), dtype=np.float32), (100000, 1))
    X = np.random.default_rng(1).random((300, 784), dtype=np.float32)
    elapsed = interrupt_after(0.5, lambda: ops.knn(X, Y, 5, "l2"))
    assert elapsed < 10, f"knn kept running {elapsed:.1f}s after Ctrl-C"


@needs_cpu
def test_identical_rows_get_the_exact_answer():
    """Every distance ties: the lowest training indices win, at every SIMD level."""
    Y = np.tile(np.random.default_rng(0).random((1, 37), dtype=np.float32), (5000, 1))
    X = np.random.default_rng(1).random((20, 37), dtype=np.float32)
    for level in backend.simd_levels():
        backend.set_simd_level(level)
        dist, idx = ops.knn(X, Y, 7, "l2")
        np.testing.assert_array_equal(idx, np.tile(np.arange(7), (20, 1)))
        assert_knn_valid(dist, idx, X, Y[:50], 7, "l2", exact=True)
    backend.set_simd_level(backend.simd_levels()[0])


@needs_cpu
def test_ctrl_c_stops_float64_packing():
    Y = np.random.default_rng(0).random((400000, 256))
    X = Y[:2000]
    elapsed = interrupt_after(0.2, lambda: ops.knn(X, Y, 5, "l2"))
    assert elapsed < 10, f"knn kept running {elapsed:.1f}s after Ctrl-C"


def test_numpy_reference_memory_is_bounded_by_bytes():
    """20 queries x 3000 x 40000 uint8 once added 2.7 GB (16-24x the training set)."""
    rng = np.random.default_rng(0)
    Y = rng.integers(0, 256, (3000, 40000), dtype=np.uint8)
    X = rng.integers(0, 256, (20, 40000), dtype=np.uint8)
    tracemalloc.start()
    try:
        for metric in ("sqeuclidean", "l1"):
            ops.knn(X[:2] if metric == "l1" else X, Y, 3, metric, backend="numpy")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 0.5 * Y.nbytes * 8 / 2, f"peak {peak / 1e6:.0f} MB for a {Y.nbytes / 1e6:.0f} MB training set"



@pytest.mark.parametrize("dtype", [np.float32, np.uint8], ids=lambda t: np.dtype(t).name)
def test_knn_large_k_over_many_tiles(config, rng, dtype):
    """k up to 2048 against more training rows than one GPU distance tile holds."""
    Y = make(rng, 20000, 40, dtype)
    X = make(rng, 9, 40, dtype)
    for k in (1000, 2048):
        for metric in ("l1", "sqeuclidean"):
            dist, idx = config.ops.knn(X, Y, k, metric)
            assert_knn_valid(dist, idx, X, Y, k, metric, exact=dtype == np.uint8)


@pytest.mark.parametrize("dtype", [np.float32, np.uint8], ids=lambda t: np.dtype(t).name)
def test_knn_one_query_and_many_chunks(config, rng, dtype):
    Y = make(rng, 3000, 33, dtype)
    Y[1500:1520] = Y[0]  # duplicate rows: ties broken by index
    for nq in (1, 20000):  # one query; more queries than one chunk
        X = make(rng, nq, 33, dtype)
        X[0] = Y[0]
        for metric in ("l1", "sqeuclidean"):
            dist, idx = config.ops.knn(X, Y, 10, metric)
            assert_knn_valid(dist, idx, X, Y, 10, metric, exact=dtype == np.uint8)
            d2, i2 = config.ops.knn(X, Y, 10, metric)
            np.testing.assert_array_equal(i2, idx)  # identical run to run
            np.testing.assert_array_equal(d2, dist)
