#!/usr/bin/env bash
# On a GPU machine with nvcc, CuPy and PyTorch (no network needed): build imgclf with its
# CUDA module, run the GPU tests (also under compute-sanitizer memcheck), then the GPU
# benchmarks, and print one table.
#
#   bash bench/gpu.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" != "--no-build" ]; then
  IMGCLF_CUDA=ON python3 -m pip install --no-build-isolation --quiet .
fi
python3 -c "import imgclf; from imgclf import backend; print('GPU:', backend.gpu_status())"
(cd /tmp && python3 -m pytest -q -rs "$OLDPWD/tests/test_gpu.py")
# every kernel once more under compute-sanitizer memcheck (the small cases: it is slow)
if command -v compute-sanitizer > /dev/null; then
  (cd /tmp && compute-sanitizer --tool memcheck --error-exitcode 1 \
     python3 -m pytest -q -x "$OLDPWD/tests/test_gpu.py" -k "not many_and_one and not large_k and not memory")
else
  echo "compute-sanitizer not found: memcheck not run"
fi
python3 bench/gpu_peers.py
