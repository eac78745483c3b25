"""imgclf: fast, trustworthy classic image classification.

k-nearest neighbours with exact uint8 distances, linear classifiers (SVM, softmax), a
two-layer network, their optimizers and trainer, all on fused C++ kernels behind
scikit-learn-compatible estimators and a drop-in array API (:mod:`imgclf.ops`).
"""
from importlib.metadata import PackageNotFoundError, version as _version

from . import backend, gradcheck, ops, optim
from .backend import get_num_threads, set_num_threads
from .linear import LinearClassifier, LinearSVM, SoftmaxClassifier
from .neighbors import KNearestNeighbor
from .network import TwoLayerNet
from .train import Trainer


def patch_sklearn():
    """Make ``sklearn.neighbors.KNeighborsClassifier``, ``KNeighborsRegressor``,
    ``NearestNeighbors``, ``kneighbors_graph`` and ``sklearn.metrics.pairwise_distances``
    use imgclf's kernels (see :mod:`imgclf.sklearn`).  Call it before importing them."""
    from .sklearn import patch_sklearn as _patch

    return _patch()


def unpatch_sklearn():
    """Undo :func:`patch_sklearn`."""
    from .sklearn import unpatch_sklearn as _unpatch

    return _unpatch()


try:
    __version__ = _version("imgclf")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["KNearestNeighbor", "LinearClassifier", "LinearSVM", "SoftmaxClassifier", "TwoLayerNet",
           "Trainer", "ops", "optim", "gradcheck", "backend", "set_num_threads", "get_num_threads", "patch_sklearn", "unpatch_sklearn", "__version__"]
