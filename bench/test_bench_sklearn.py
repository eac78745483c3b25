"""pytest-benchmark: unmodified scikit-learn code, plain and patched by imgclf, on
Fashion-MNIST kNN (needs `apt-get install dataset-fashion-mnist`).

    python3 -m pytest bench/test_bench_sklearn.py --benchmark-only --benchmark-group-by=group

Every workload is the same scikit-learn code (`KNeighborsClassifier(n_neighbors=5,
metric=...).fit(X_train, y_train).predict(X_test)`), run once as it is (impl "sklearn")
and once after `imgclf.patch_sklearn()` (impl "imgclf"); before a workload is timed, both
are run once and must predict the same labels.  scikit-learn's L1 search is slow, so
the L1 groups use fewer queries.  bench/sklearn_report.py times the same comparison with
each side in its own process.
"""
import gzip
import os

import imgclf
import numpy as np
import pytest

DATA = "/usr/share/datasets/fashion-mnist"
pytestmark = pytest.mark.skipif(not os.path.isdir(DATA), reason="Fashion-MNIST is not installed")

# (metric, pixels, queries): "uint8" as read; "float32/255" scaled to [0, 1] (integer-valued
# floats would be searched as uint8 by imgclf, which is exact and faster)
WORKLOADS = [("manhattan", "uint8", 100), ("euclidean", "uint8", 1000), ("euclidean", "float32/255", 1000)]
_agreed = set()


def _read(name):
    with gzip.open(os.path.join(DATA, name)) as f:
        raw = f.read()
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(raw[3])]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * raw[3]).reshape(shape)


@pytest.fixture(scope="module")
def fashion():
    return (_read("train-images-idx3-ubyte.gz").reshape(60000, -1), _read("train-labels-idx1-ubyte.gz"),
            _read("t10k-images-idx3-ubyte.gz").reshape(10000, -1))


def user_code(X_train, y_train, X_test, metric):
    """What a scikit-learn user writes; the import happens at call time, as in a script."""
    from sklearn.neighbors import KNeighborsClassifier

    clf = KNeighborsClassifier(n_neighbors=5, metric=metric)
    return clf.fit(X_train, y_train).predict(X_test)


def _run(impl, *args):
    if impl == "imgclf":
        imgclf.patch_sklearn()
    try:
        return user_code(*args)
    finally:
        imgclf.unpatch_sklearn()


@pytest.mark.parametrize("impl", ["sklearn", "imgclf"])
@pytest.mark.parametrize("metric,dtype,queries", WORKLOADS)
def test_fashion_knn(benchmark, fashion, impl, metric, dtype, queries):
    Xtr, ytr, Xte = fashion
    prep = (lambda a: a) if dtype == "uint8" else (lambda a: a.astype(np.float32) / np.float32(255))
    args = (prep(Xtr), ytr, prep(Xte[:queries]), metric)
    key = (metric, dtype, queries)
    if key not in _agreed:  # first check that both give the same predictions
        np.testing.assert_array_equal(_run("imgclf", *args), _run("sklearn", *args))
        _agreed.add(key)
    benchmark.group = f"fashion-mnist kNN k=5 {metric} {dtype}: 60000 train x {queries} queries"
    benchmark.extra_info["impl"] = impl
    benchmark.extra_info["queries"] = queries
    benchmark.pedantic(_run, args=(impl, *args), rounds=3, iterations=1)
