"""The CUDA backend against the NumPy reference, on CuPy arrays.  Skipped, with the reason,
where no GPU is usable (a successful import proves nothing: a probe kernel must run)."""
import numpy as np
import pytest

from imgclf import _reference as R
from imgclf import backend, ops

from helpers import assert_knn_valid

_ok, _why = backend.gpu_status()
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not _ok, reason=f"no usable GPU: {_why}")]
cp = pytest.importorskip("cupy") if _ok else None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,C", [(1, 2), (7, 3), (65536, 10), (33, 100), (5, 1000)])
def test_losses_on_gpu_match_reference(rng, dtype, n, C):
    S = (rng.standard_normal((n, C)) * 3).astype(dtype)
    y = rng.integers(0, C, n)
    tol = dict(rtol=2e-5, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-13)
    for name, f, ref in [("softmax", ops.softmax_loss, lambda: R.softmax_loss(S, y)),
                         ("svm", ops.svm_loss, lambda: R.svm_loss(S, y, 1.0, False)),
                         ("squared", lambda s, t: ops.svm_loss(s, t, squared=True), lambda: R.svm_loss(S, y, 1.0, True))]:
        loss, d = f(cp.asarray(S), cp.asarray(y))
        assert isinstance(d, cp.ndarray) and d.dtype == dtype
        want_l, want_d = ref()
        np.testing.assert_allclose(float(loss), want_l, **tol)
        np.testing.assert_allclose(cp.asnumpy(d), want_d, **tol)
        again, _ = f(cp.asarray(S), cp.asarray(y))
        assert float(again) == float(loss)  # identical run to run


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"])
def test_optimizer_steps_on_gpu_match_reference(rng, dtype, kind):
    shapes = [(1,), (7, 3), (70001,), (128, 129)] + [(5,)] * 60  # more tensors than one launch holds
    P = [rng.standard_normal(s).astype(dtype) for s in shapes]
    ns = {"sgd": 0, "adam": 2}.get(kind, 1)
    S = [[np.zeros(s, dtype) for s in shapes] for _ in range(ns)]
    Pg = [cp.asarray(p) for p in P]
    Sg = [[cp.asarray(a) for a in c] for c in S]
    f = getattr(ops, kind + "_step")
    for t in range(1, 4):
        G = [rng.standard_normal(s).astype(dtype) for s in shapes]
        kw = {"lr": 0.01}
        if kind == "adam":
            kw.update(step=t, weight_decay=0.05)
        f(Pg, [cp.asarray(g) for g in G], *Sg, **kw)
        f(P, G, *S, backend="numpy", **kw)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    for a, b in zip(Pg, P):
        np.testing.assert_allclose(cp.asnumpy(a), b, **tol)


# ---- distances, k-nearest neighbours, vote ------------------------------------------------

def _data(rng, n, d, dtype):
    if dtype == np.uint8:
        return rng.integers(0, 256, size=(n, d), dtype=np.uint8)
    return rng.standard_normal((n, d)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.uint8, np.float64], ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("d", [1, 7, 63, 64, 65, 784, 3072])
@pytest.mark.parametrize("metric", ["l1", "l2", "sqeuclidean"])
def test_knn_on_gpu_matches_reference(rng, dtype, d, metric):
    Y = _data(rng, 1501, d, dtype)
    Y[700:720] = Y[0]  # duplicate rows: ties broken by index
    X = _data(rng, 77, d, dtype)
    X[3] = Y[0]
    for k in (1, 5, 64):
        dist, idx = ops.knn(cp.asarray(X), cp.asarray(Y), k, metric)
        assert isinstance(idx, cp.ndarray) and isinstance(dist, cp.ndarray)
        assert_knn_valid(cp.asnumpy(dist), cp.asnumpy(idx), X, Y, k, metric, exact=dtype == np.uint8)
        d2, i2 = ops.knn(cp.asarray(X), cp.asarray(Y), k, metric)
        np.testing.assert_array_equal(cp.asnumpy(i2), cp.asnumpy(idx))  # identical run to run
        np.testing.assert_array_equal(cp.asnumpy(d2), cp.asnumpy(dist))


@pytest.mark.parametrize("dtype", [np.float32, np.uint8], ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("k", [1000, 2048])
def test_knn_on_gpu_large_k(rng, dtype, k):
    Y = _data(rng, 20000, 40, dtype)  # more rows than one distance tile
    X = _data(rng, 9, 40, dtype)
    for metric in ("l1", "sqeuclidean"):
        dist, idx = ops.knn(cp.asarray(X), cp.asarray(Y), k, metric)
        assert_knn_valid(cp.asnumpy(dist), cp.asnumpy(idx), X, Y, k, metric, exact=dtype == np.uint8)


@pytest.mark.parametrize("dtype", [np.float32, np.uint8], ids=lambda t: np.dtype(t).name)
def test_knn_on_gpu_many_and_one_query(rng, dtype):
    Y = _data(rng, 3000, 33, dtype)
    for nq in (1, 20000):  # one query; more queries than one chunk
        X = _data(rng, nq, 33, dtype)
        for metric in ("l1", "sqeuclidean"):
            dist, idx = ops.knn(cp.asarray(X), cp.asarray(Y), 10, metric)
            assert_knn_valid(cp.asnumpy(dist), cp.asnumpy(idx), X, Y, 10, metric, exact=dtype == np.uint8)


def test_knn_on_gpu_uint8_extremes_and_k_equal_n(rng):
    Y = np.concatenate([np.zeros((5, 3072), np.uint8), np.full((5, 3072), 255, np.uint8)])
    X = Y[[0, 9]].copy()
    for metric in ("l1", "sqeuclidean"):
        dist, idx = ops.knn(cp.asarray(X), cp.asarray(Y), 10, metric)
        assert_knn_valid(cp.asnumpy(dist), cp.asnumpy(idx), X, Y, 10, metric, exact=True)


def test_float32_near_ties_on_gpu_take_the_exact_fallback(rng):
    x = np.full(784, 100.0, np.float32)
    Y = np.repeat(x[None] + 1, 64, 0)
    Y[np.arange(64), rng.integers(0, 784, 64)] += np.float32(2.0**-10) * rng.integers(1, 4, 64)
    Y = np.concatenate([Y, (rng.random((500, 784)) * 255).astype(np.float32)])
    for metric in ("l1", "sqeuclidean"):
        dist, idx = ops.knn(cp.asarray(x[None]), cp.asarray(Y), 10, metric)
        assert_knn_valid(cp.asnumpy(dist), cp.asnumpy(idx), x[None], Y, 10, metric)


@pytest.mark.parametrize("dtype", [np.float32, np.uint8, np.float64], ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("metric", ["l1", "l2", "sqeuclidean"])
def test_pairwise_on_gpu_matches_reference(rng, dtype, metric):
    X, Y = _data(rng, 130, 67, dtype), _data(rng, 71, 67, dtype)
    got = cp.asnumpy(ops.pairwise_distances(cp.asarray(X), cp.asarray(Y), metric))
    want = R.pairwise_distances(X, Y, metric)
    assert got.dtype == want.dtype
    if dtype == np.uint8 and metric != "l2":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=2e-5 if dtype == np.float32 else 1e-12, atol=1e-4)


@pytest.mark.parametrize("weights", ["uniform", "distance"])
@pytest.mark.parametrize("tie_break", ["nearest", "smallest"])
def test_vote_on_gpu_matches_reference(rng, weights, tie_break):
    L = rng.integers(0, 4, (500, 6))
    D = np.sort(rng.integers(0, 4, (500, 6)).astype(np.float64), axis=1)  # exact zeros and ties
    got = ops.vote(cp.asarray(L), 4, cp.asarray(D), weights, tie_break=tie_break)
    want = R.vote(L, 4, D, weights, tie_break)
    np.testing.assert_array_equal(cp.asnumpy(got[0]), want[0])
    np.testing.assert_array_equal(cp.asnumpy(got[1]), want[1])


def test_estimator_on_gpu_keeps_cupy(rng):
    from imgclf import KNearestNeighbor

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


def test_torch_cuda_tensors_through_dlpack(rng):
    torch = pytest.importorskip("torch")
    X = torch.rand(50, 30, device="cuda")
    Y = torch.rand(300, 30, device="cuda")
    dist, idx = ops.knn(X, Y, 4, "l2")
    assert isinstance(idx, torch.Tensor) and idx.is_cuda
    assert_knn_valid(dist.cpu().numpy(), idx.cpu().numpy(), X.cpu().numpy(), Y.cpu().numpy(), 4, "l2")
    p = torch.zeros(10, device="cuda")
    ops.sgd_step(p, torch.ones(10, device="cuda"), lr=0.5)  # in place, through the shared memory
    assert torch.all(p == -0.5)


def test_out_of_memory_is_a_clear_error_and_the_process_keeps_working(rng):
    free, _ = cp.cuda.runtime.memGetInfo()
    n = int(free // 4 // 1000) + 1000  # a (n x 1000) float32 matrix that cannot fit
    X = cp.zeros((n, 1), cp.float32)
    Y = cp.zeros((1000, 1), cp.float32)
    with pytest.raises(MemoryError, match="MiB"):
        ops.pairwise_distances(X, Y)
    del X
    dist, idx = ops.knn(cp.asarray(_data(rng, 5, 8, np.float32)), cp.asarray(_data(rng, 50, 8, np.float32)), 3)
    assert idx.shape == (5, 3)
