#!/usr/bin/env bash
# On a GPU machine with nvcc, CuPy and PyTorch (no network needed): build imgclf with its
# CUDA module, run the GPU tests, then the GPU benchmarks, and print one table.
#
#   bash bench/gpu.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" != "--no-build" ]; then
  IMGCLF_CUDA=ON python3 -m pip install --no-build-isolation --quiet .
fi
python3 -c "import imgclf; from imgclf import backend; print('GPU:', backend.gpu_status())"
(cd /tmp && python3 -m pytest -q -rs "$OLDPWD/tests/test_gpu.py")
python3 bench/gpu_peers.py
