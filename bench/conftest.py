# imgclf's benchmark hooks (the quick / full markers, threads and SIMD level in the report
# header and in --benchmark-json's machine_info) for every suite in bench/.
from imgclf.benchmarks.plugin import (  # noqa: F401
    pytest_benchmark_update_machine_info,
    pytest_configure,
    pytest_report_header,
)
