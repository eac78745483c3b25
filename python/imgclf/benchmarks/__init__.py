"""imgclf's benchmark workloads, shipped with the package for pytest-benchmark.

Every case holds its data, its pytest-benchmark group, imgclf's own answer and a check::

    import pytest
    from imgclf.benchmarks import params

    @pytest.mark.parametrize("case", params("knn", metric="l2"))
    def test_my_knn(benchmark, case):
        run = case.bind(my_knn)            # my_knn(queries, train, k, metric) on the case's data
        case.check(run())                  # the same neighbours as imgclf, or the test fails
        case.label(benchmark, "mine")      # the case's group, extra_info["impl"], pinned threads
        benchmark(run)

The shipped suite (imgclf and its peers: NumPy, SciPy, scikit-learn, torch, faiss-cpu,
whichever are installed) runs with ``pytest --pyargs imgclf.benchmarks --benchmark-only
-m quick`` and ``python -m imgclf.benchmarks.table out.json`` prints the ratio table of a
``--benchmark-json`` file.  The calling convention of each family is in ``SIGNATURES``.
"""
from .cases import FAMILIES, SIGNATURES, Case, bench_threads, cases, params, set_threads

__all__ = ["FAMILIES", "SIGNATURES", "Case", "bench_threads", "cases", "params", "set_threads"]
