"""pytest hooks of imgclf's benchmarks: the ``quick`` and ``full`` markers, a report header
(threads, SIMD level) and the same facts in pytest-benchmark's machine_info.

The shipped suite's conftest.py loads these hooks, so ``pytest --pyargs imgclf.benchmarks``
needs nothing from a source tree; another suite loads them with
``pytest_plugins = ["imgclf.benchmarks.plugin"]`` in its top-level conftest.py.
"""
from __future__ import annotations

import pytest

MARKERS = {
    "quick": "imgclf benchmark case of the quick set (minutes; CI runs it with --benchmark-disable)",
    "full": "imgclf benchmark case of the full set (the published tables; an hour or more)",
}


def pytest_configure(config):
    for name, doc in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {doc}")


def _facts():
    from imgclf import __version__, backend

    from .cases import bench_threads

    return {"imgclf": __version__, "imgclf_simd": backend.simd_level(),
            "imgclf_compiled": backend.cpu_available(), "bench_threads": bench_threads()}


def pytest_report_header(config):
    f = _facts()
    return (f"imgclf {f['imgclf']} benchmarks: SIMD {f['imgclf_simd']}, compiled {f['imgclf_compiled']}, "
            f"every implementation pinned to {f['bench_threads']} thread(s) (IMGCLF_BENCH_THREADS)")


@pytest.hookimpl(optionalhook=True)
def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info.update(_facts())
