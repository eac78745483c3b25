"""imgclf and its peers on every shipped case, one pytest-benchmark group per case.

    pytest --pyargs imgclf.benchmarks --benchmark-only -m quick --benchmark-group-by=group

Each test first checks that its implementation gives imgclf's answer (a fast wrong answer
fails), then times it.  Peers whose library is missing are skipped with the reason.
"""
import pytest

from imgclf.benchmarks.cases import cases
from imgclf.benchmarks.peers import peers_for


def _params():
    out = []
    for case in cases():
        for p in peers_for(case):
            out.append(pytest.param(case, p, id=f"{case.id}-{p.id}", marks=case.marks))
    return out


@pytest.mark.parametrize("case, impl", _params())
def test_benchmark(benchmark, case, impl):
    why = impl.unavailable()
    if why:
        pytest.skip(why)
    run = impl.prepare(case)
    case.label(benchmark, impl.impl, impl.config)
    case.measure(benchmark, run, reference=impl.impl == "imgclf")
