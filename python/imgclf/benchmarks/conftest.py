# The hooks of imgclf's benchmarks (markers, report header), for `pytest --pyargs imgclf.benchmarks`.
from imgclf.benchmarks.plugin import (  # noqa: F401
    pytest_benchmark_update_machine_info,
    pytest_configure,
    pytest_report_header,
)
