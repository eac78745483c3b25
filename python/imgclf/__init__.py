"""imgclf: fast, trustworthy classic image classification.

k-nearest neighbours with exact uint8 distances and fused C++ kernels, behind
scikit-learn-compatible estimators and a drop-in array API (:mod:`imgclf.ops`).
"""
from importlib.metadata import PackageNotFoundError, version as _version

from . import backend, ops
from .backend import get_num_threads, set_num_threads
from .neighbors import KNearestNeighbor

try:
    __version__ = _version("imgclf")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["KNearestNeighbor", "ops", "backend", "set_num_threads", "get_num_threads", "__version__"]
