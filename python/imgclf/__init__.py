"""imgclf: fast, trustworthy classic image classification.

k-nearest neighbours with exact uint8 distances, linear classifiers (SVM, softmax),
fully connected networks of any depth, their optimizers and trainer, all on fused C++ kernels behind
scikit-learn-compatible estimators and a drop-in array API (:mod:`imgclf.ops`).
"""
from ._version import __version__  # noqa: I001 (first: the modules below may report it)
from . import backend, gradcheck, ops, optim
from .backend import get_num_threads, set_num_threads
from .linear import LinearClassifier, LinearSVM, SoftmaxClassifier
from .neighbors import KNearestNeighbor
from .network import NeuralNet, TwoLayerNet
from .train import Trainer


def patch_sklearn() -> list[str]:
    """Make ``sklearn.neighbors.KNeighborsClassifier``, ``KNeighborsRegressor``,
    ``NearestNeighbors``, ``kneighbors_graph`` and ``sklearn.metrics.pairwise_distances``
    use imgclf's kernels (see :mod:`imgclf.sklearn`).  Call it before importing them.
    Idempotent; returns the patched names."""
    from .sklearn import patch_sklearn as _patch

    return _patch()


def unpatch_sklearn() -> None:
    """Undo :func:`patch_sklearn`."""
    from .sklearn import unpatch_sklearn as _unpatch

    _unpatch()


__all__ = ["KNearestNeighbor", "LinearClassifier", "LinearSVM", "SoftmaxClassifier", "NeuralNet", "TwoLayerNet",
           "Trainer", "ops", "optim", "gradcheck", "backend", "set_num_threads", "get_num_threads", "patch_sklearn", "unpatch_sklearn", "__version__"]
