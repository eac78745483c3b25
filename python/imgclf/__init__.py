"""imgclf: fast, trustworthy classic image classification.

k-nearest neighbours with exact uint8 distances, linear classifiers (SVM, softmax), a
two-layer network, their optimizers and trainer, all on fused C++ kernels behind
scikit-learn-compatible estimators and a drop-in array API (:mod:`imgclf.ops`).
"""
from ._version import __version__  # noqa: I001 (first: the modules below may report it)
from . import backend, gradcheck, ops, optim
from .backend import get_num_threads, set_num_threads
from .linear import LinearClassifier, LinearSVM, SoftmaxClassifier
from .neighbors import KNearestNeighbor
from .network import TwoLayerNet
from .train import Trainer

__all__ = ["KNearestNeighbor", "LinearClassifier", "LinearSVM", "SoftmaxClassifier", "TwoLayerNet",
           "Trainer", "ops", "optim", "gradcheck", "backend", "set_num_threads", "get_num_threads", "__version__"]
