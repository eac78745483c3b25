"""The edges: inputs a hostile user would try.  No crash, no silent wrong answer, no lost
file; each case here once crashed, answered wrongly or lost data."""
import io
import json
import os
import pickle
import signal
import subprocess
import sys
import tarfile
import threading
import time
import tracemalloc

import numpy as np
import pytest

import imgclf
from imgclf import backend, datasets, features, metrics, ops
from imgclf.model_selection import cross_validate_k

from helpers import assert_knn_valid, exact_distances

needs_cpu = pytest.mark.skipif(not backend.cpu_available(), reason="compiled CPU module not built")


# ---- float32 extremes: crashes and wrong neighbours ----------------------------------------

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
    dist, idx = ops.knn(X, Y, 5, metric, backend=config)
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
    dist, idx = ops.knn(q, Y, 1, "l2", backend=config)
    D = exact_distances(q, Y, "l2")
    assert idx[0, 0] == int(np.argmin(D[0])) and np.isfinite(dist[0, 0])
    np.testing.assert_allclose(dist[0, 0], D[0].min(), rtol=1e-6)
    P = ops.pairwise_distances(np.array([[0.0]], np.float32), np.array([[1e20]], np.float32), "l2",
                               backend=config)
    np.testing.assert_allclose(P, [[1e20]], rtol=1e-7)


@pytest.mark.parametrize("exponent", [-75, -40, 0, 62, 100])
@pytest.mark.parametrize("metric", ["l2", "sqeuclidean", "l1"])
def test_float32_pairwise_over_the_whole_range(config, rng, exponent, metric):
    X = np.ldexp(rng.standard_normal((7, 9)), exponent).astype(np.float32)
    Y = np.ldexp(rng.standard_normal((11, 9)), exponent).astype(np.float32)
    D = ops.pairwise_distances(X, Y, metric, backend=config)
    with np.errstate(over="ignore"):
        ref = exact_distances(X, Y, metric).astype(np.float32)
    np.testing.assert_allclose(D, ref, rtol=2e-6, atol=0)


@pytest.mark.parametrize("scale", [2.0 ** 600, 2.0 ** -600])
def test_float64_extremes_are_scaled_not_overflowed(config, rng, scale):
    X = rng.standard_normal((6, 5)) * scale
    Y = rng.standard_normal((40, 5)) * scale
    dist, idx = ops.knn(X, Y, 3, "l2", backend=config)
    Xs, Ys = X / scale, Y / scale  # exact: powers of two
    ref_d, ref_i = ops.knn(Xs, Ys, 3, "l2", backend=config)
    np.testing.assert_array_equal(idx, ref_i)
    np.testing.assert_allclose(dist, ref_d * scale, rtol=1e-12)
    P = ops.pairwise_distances(X, Y, "l1", backend=config)
    np.testing.assert_allclose(P, ops.pairwise_distances(Xs, Ys, "l1", backend=config) * scale, rtol=1e-12)


def test_nan_reaching_the_kernel_is_refused_not_returned():
    """The compiled module itself (below the ops checks) refuses NaN rather than returning
    a training index that does not exist."""
    if not backend.cpu_available():
        pytest.skip("compiled CPU module not built")
    from imgclf import _cpu

    X = np.full((2, 3), np.nan, np.float32)
    Y = np.ones((5, 3), np.float32)
    d, i = np.empty((2, 2), np.float32), np.empty((2, 2), np.int64)
    with pytest.raises(ValueError, match="NaN"):
        _cpu.knn(X, Y, 2, 1, d, i)


# ---- uint8 beyond int32 ---------------------------------------------------------------------

@pytest.mark.parametrize("metric", ["sqeuclidean", "l1", "l2"])
def test_uint8_wide_rows_stay_exact(config, metric):
    d = 33100  # 255^2 * 33100 > 2^31
    X = np.zeros((2, d), np.uint8)
    Y = np.zeros((3, d), np.uint8)
    X[0] = 255
    Y[1, : d // 2] = 255
    Y[2] = 1
    dist, idx = ops.knn(X, Y, 3, metric, backend=config)
    P = ops.pairwise_distances(X, Y, metric, backend=config)
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


# ---- aliasing ---------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_output_aliasing_an_input(config, rng, dtype):
    S = rng.standard_normal((40, 40)).astype(dtype)
    ref = S @ S
    out = ops.gemm(S, S, out=S, backend=config)
    assert out is S
    np.testing.assert_allclose(S, ref, rtol=1e-4 if dtype == np.float32 else 1e-12, atol=1e-4)
    T = rng.standard_normal((50, 40)).astype(dtype)
    ref = 2.0 * T[:40] @ T[10:50].T + 0.5 * T[5:45]
    view = T[5:45]  # out overlaps both inputs, shifted
    ops.gemm(T[:40], T[10:50], out=view, trans_b=True, alpha=2.0, beta=0.5, backend=config)
    np.testing.assert_allclose(view, ref, rtol=1e-4 if dtype == np.float32 else 1e-12, atol=1e-4)


def test_optimizer_refuses_arrays_that_share_memory(config, rng):
    p = rng.standard_normal(100)
    g = rng.standard_normal(100)
    m, v = np.zeros(100), np.zeros(100)
    before = p.copy()
    with pytest.raises(ValueError, match="share memory"):
        ops.adam_step(p, g, m, m, step=1, backend=config)  # m is v
    with pytest.raises(ValueError, match="share memory"):
        ops.sgd_step([p, p], [g, g], lr=0.1, backend=config)  # one param twice
    buf = np.zeros(150)
    with pytest.raises(ValueError, match="share memory"):
        ops.momentum_step([buf[:100], buf[50:]], [g, g], [np.zeros(100), np.zeros(100)], lr=0.1,
                          backend=config)  # overlapping views
    np.testing.assert_array_equal(p, before)
    assert not buf.any() and not m.any()
    # a gradient read twice is fine: it is never written
    q = rng.standard_normal(100)
    ops.sgd_step([p, q], [g, g], lr=0.5, backend=config)
    np.testing.assert_allclose(p, before - 0.5 * g)


def test_optimizer_validates_every_array_before_writing_any(config, rng):
    p1, p2 = rng.standard_normal(10), rng.standard_normal(10)
    g1, g2 = rng.standard_normal(10), rng.standard_normal(10)
    v1, v2 = np.zeros(10), np.zeros(10)
    v2.flags.writeable = False
    b1, b2 = p1.copy(), p2.copy()
    with pytest.raises(ValueError, match=r"velocity\[1\] is read-only"):
        ops.momentum_step([p1, p2], [g1, g2], [v1, v2], lr=0.1, backend=config)
    np.testing.assert_array_equal(p1, b1)
    np.testing.assert_array_equal(p2, b2)
    assert not v1.any()
    m, v = np.zeros(10), np.zeros(9)
    with pytest.raises(ValueError, match="v must be an array with param's shape"):
        ops.adam_step(p1, g1, m, v, step=1, weight_decay=0.1, backend=config)
    np.testing.assert_array_equal(p1, b1)  # weight decay did not run first
    with pytest.raises(TypeError, match="grad must be an array like param"):
        ops.sgd_step(p1, g1.tolist(), lr=0.1, backend=config)


# ---- argument checks that used to guess ------------------------------------------------------

def test_affine_rows_refuses_masks_and_float_indices(rng):
    X = rng.integers(0, 255, (6, 4), dtype=np.uint8)
    with pytest.raises(TypeError, match="rows must be integer row indices, got a boolean mask"):
        ops.affine_rows(X, np.array([True, False, True, False, False, False]))
    with pytest.raises(TypeError, match="rows must be integer row indices"):
        ops.affine_rows(X, np.array([0.0, 2.0]))
    W, b = np.zeros((4, 3)), np.zeros(3)
    with pytest.raises(TypeError, match="rows"):
        ops.linear_loss(X, np.array([0, 1]), W, b, rows=np.array([True, False, True, False, False, False]))


def test_linear_loss_refuses_a_nan_margin(rng):
    X = rng.standard_normal((5, 4))
    W, b = rng.standard_normal((4, 3)), np.zeros(3)
    y = np.array([0, 1, 2, 0, 1])
    with pytest.raises(ValueError, match="margin must be finite"):
        ops.linear_loss(X, y, W, b, "svm", margin=np.nan)
    with pytest.raises(ValueError, match="scale must be finite"):
        ops.linear_loss(X, y, W, b, "svm", scale=np.inf)


def test_metrics_refuse_what_they_would_misread():
    with pytest.raises(TypeError, match="y_true must hold integers"):
        metrics.confusion_matrix([0, 1.7], [0, 1])
    with pytest.raises(ValueError, match=r"y_true must be class indices in \[0, 3\)"):
        metrics.top_k_accuracy([0, 5], np.ones((2, 3)), 2)
    with pytest.raises(ValueError, match="empty"):
        metrics.top_k_accuracy(np.array([], int), np.ones((0, 3)), 2)
    with pytest.raises(ValueError, match="empty"):
        metrics.confusion_matrix([], [])
    assert metrics.confusion_matrix([], [], n_classes=2).tolist() == [[0, 0], [0, 0]]
    X = np.random.default_rng(0).standard_normal((30, 3))
    with pytest.raises(TypeError, match="ks must be an int"):
        cross_validate_k(X, np.arange(30) % 2, ks=[2.7])


def test_features_refuse_bad_arguments_with_clear_errors(rng):
    img = rng.integers(0, 255, (2, 16, 16, 3), dtype=np.uint8)
    with pytest.raises(TypeError, match="pixels_per_cell must be an int"):
        features.hog(img, pixels_per_cell=2.5)
    with pytest.raises(ValueError, match="orientations must be >= 1"):
        features.hog(img, orientations=0)
    bad = img.astype(np.float32)
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="images contains NaN"):
        features.color_histogram_hsv(bad)
    with pytest.raises(ValueError, match="1 .grey. or 3 .RGB. channels, got 2"):
        features.color_histogram_hsv(img[..., :2])


def test_vote_refuses_complex_distances():
    with pytest.raises(TypeError, match="distances must hold real numbers"):
        ops.vote(np.array([[0, 1]]), 2, np.array([[1 + 1j, 2]]), "distance")


def test_set_num_threads_refuses_absurd_counts():
    before = imgclf.get_num_threads()
    with pytest.raises(ValueError, match="n must be in"):
        imgclf.set_num_threads(2 ** 31)
    with pytest.raises(ValueError, match="n must be in"):
        imgclf.set_num_threads(backend.max_threads() + 1)
    with pytest.raises(TypeError, match="n must be an int"):
        imgclf.set_num_threads(2.5)
    assert imgclf.get_num_threads() == before


def test_idx_header_with_huge_dims_names_the_file(tmp_path):
    p = tmp_path / "evil-idx4-ubyte"
    p.write_bytes(bytes([0, 0, 8, 4]) + (65536).to_bytes(4, "big") * 4 + b"\0" * 16)
    with pytest.raises(ValueError, match="evil-idx4-ubyte"):
        datasets.read_idx(str(p))


# ---- CIFAR batches that lie ----------------------------------------------------------------

def _cifar_dir(tmp_path, data, labels, name="cifar-10-batches-py"):
    d = tmp_path / name
    d.mkdir()
    for f in ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"]:
        with open(d / f, "wb") as fh:
            pickle.dump({b"data": data, b"labels": labels}, fh, protocol=2)
    with open(d / "batches.meta", "wb") as fh:
        pickle.dump({b"label_names": [f"c{i}".encode() for i in range(10)]}, fh, protocol=2)
    return str(tmp_path)


@pytest.mark.parametrize("labels", [[-7, 0], [255, 0]])
def test_cifar_labels_out_of_range_are_refused(tmp_path, labels):
    data = np.zeros((2, 3072), np.uint8)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\)"):
        datasets.load("cifar10", _cifar_dir(tmp_path, data, labels))


@pytest.mark.parametrize("data", [np.full((2, 3072), 300.7), np.full((2, 3072), -1.0),
                                  np.full((2, 3072), 300, np.int64)])
def test_cifar_pixels_that_would_wrap_are_refused(tmp_path, data):
    with pytest.raises(ValueError, match=r"pixels must be integers in \[0, 255\]"):
        datasets.load("cifar10", _cifar_dir(tmp_path, data, [0, 1]))


class _HugeShell:
    """Pickles as NumPy's array constructor asked for 300,040 images, with no data."""

    def __reduce__(self):
        from numpy._core.multiarray import _reconstruct

        return _reconstruct, (np.ndarray, (300040, 3072), b"B")


def test_cifar_batch_claiming_huge_data_allocates_nothing(tmp_path):
    raw = pickle.dumps({b"data": _HugeShell(), b"labels": [0]}, protocol=2)
    assert len(raw) < 400
    d = tmp_path / "cifar-10-batches-py"
    d.mkdir()
    (d / "data_batch_1").write_bytes(raw)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="refused an array of shape"):
            datasets.load("cifar10", str(tmp_path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50e6, f"{peak / 1e6:.0f} MB allocated for a {len(raw)}-byte file"


def test_real_cifar_pickles_still_load(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, (4, 3072), dtype=np.uint8)
    ds = datasets.load("cifar10", _cifar_dir(tmp_path, data, [0, 9, 3, 4]))
    assert ds.X_train.shape == (20, 32, 32, 3) and ds.X_train.dtype == np.uint8
    np.testing.assert_array_equal(ds.X_train[0], data[0].reshape(3, 32, 32).transpose(1, 2, 0))


# ---- Ctrl-C ------------------------------------------------------------------------------------

def _interrupt_after(seconds, fn):
    """Run fn, send SIGINT after ``seconds``; returns how long fn ran."""
    timer = threading.Timer(seconds, lambda: os.kill(os.getpid(), signal.SIGINT))
    t0 = time.perf_counter()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            fn()
    finally:
        timer.cancel()
    return time.perf_counter() - t0


@needs_cpu
def test_ctrl_c_stops_the_exact_float32_pass():
    """100k identical training rows: no candidate list can be proven, every query takes the
    exact pass, which must stop on Ctrl-C too (it once ran on for ~100 s)."""
    Y = np.tile(np.random.default_rng(0).random((1, 784), dtype=np.float32), (100000, 1))
    X = np.random.default_rng(1).random((300, 784), dtype=np.float32)
    elapsed = _interrupt_after(0.5, lambda: ops.knn(X, Y, 5, "l2"))
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
    elapsed = _interrupt_after(0.2, lambda: ops.knn(X, Y, 5, "l2"))
    assert elapsed < 10, f"knn kept running {elapsed:.1f}s after Ctrl-C"


@needs_cpu
def test_ctrl_c_stops_a_large_gemm():
    A = np.random.default_rng(0).random((3000, 3000), dtype=np.float32)
    elapsed = _interrupt_after(0.3, lambda: [ops.gemm(A, A) for _ in range(200)])
    assert elapsed < 10


# ---- memory ----------------------------------------------------------------------------------

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


def test_feature_memory_is_bounded_by_blocks():
    imgs = np.random.default_rng(0).integers(0, 256, (12000, 28, 28, 1), dtype=np.uint8)
    tracemalloc.start()
    try:
        F = features.hog(imgs, pixels_per_cell=7)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert F.shape == (12000, 144)
    # the float64 temporaries of 12000 images would be ~7 x 75 MB; blocks keep them small
    assert peak < 300e6, f"hog peaked at {peak / 1e6:.0f} MB"
    np.testing.assert_allclose(F[:100], features.hog(imgs[:100], pixels_per_cell=7), rtol=1e-6)
