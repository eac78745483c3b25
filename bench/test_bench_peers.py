"""imgclf against its peers on every shipped workload: the suite that ships in the package
as imgclf.benchmarks.test_suite, run from the source tree.

    python3 -m pytest bench --benchmark-only -m quick --benchmark-group-by=group --benchmark-json out.json
    python3 -m imgclf.benchmarks.table out.json

Conventions for every suite in bench/: each benchmark sits in a pytest-benchmark group per
workload, sets extra_info["impl"] (and "config", "threads") through Case.label, checks its
answer against imgclf's before timing, and is marked quick or full.
"""
from imgclf.benchmarks.test_suite import test_benchmark  # noqa: F401
