"""pytest-benchmark suite for imgclf's kNN ops (the peer comparison is report.py).

    python3 -m pytest bench/test_bench_knn.py --benchmark-only

Synthetic data sized like one fifth of Fashion-MNIST (2000 queries x 12000 train x 784),
so that the suite takes about a minute; report.py measures the full dataset against peers.
"""
import numpy as np
import pytest

from imgclf import backend, ops

NQ, NT, D, K = 2000, 12000, 784, 5


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return (rng.integers(0, 256, size=(NQ, D), dtype=np.uint8),
            rng.integers(0, 256, size=(NT, D), dtype=np.uint8))


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
@pytest.mark.parametrize("metric", ["sqeuclidean", "l1"])
@pytest.mark.parametrize("level", backend.simd_levels()[:2] or [None])
def test_knn(benchmark, data, dtype, metric, level):
    q, t = (a.astype(dtype) for a in data)
    if level is not None:
        prev = backend.simd_level()
        backend.set_simd_level(level)
    try:
        benchmark.extra_info["pairs_per_s"] = NQ * NT
        benchmark.pedantic(ops.knn, args=(q, t, K, metric), rounds=3, iterations=1)
    finally:
        if level is not None:
            backend.set_simd_level(prev)


def test_vote(benchmark):
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 10, size=(100000, 10))
    dist = np.sort(rng.random((100000, 10)), axis=1)
    benchmark(ops.vote, labels, 10, dist, "distance")
