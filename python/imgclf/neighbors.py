"""KNearestNeighbor: the k-nearest-neighbour classifier on imgclf's fused kernels."""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from . import backend as _backend
from . import ops

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    def _validate_data(est, X, y=None, reset=True, **kw):
        if y is None:
            return est._validate_data(X, reset=reset, **kw)
        return est._validate_data(X, y, reset=reset, **kw)

__all__ = ["KNearestNeighbor"]

_DTYPES = [np.float64, np.float32, np.uint8]


def _flatten(X):
    """N x H x W [x C] images -> (N, H*W*C); anything array-like passes through."""
    if hasattr(X, "ndim") and X.ndim > 2:
        return X.reshape(X.shape[0], -1)
    return X


class KNearestNeighbor(ClassifierMixin, BaseEstimator):
    """k-nearest-neighbour classifier (memorizes the training set, votes among the k
    closest training images).

    Parameters
    ----------
    k : int, default=5
        Number of neighbours that vote.
    metric : {"l2", "l1", "sqeuclidean"}, default="l2"
        Distance between flattened images.
    weights : {"uniform", "distance"}, default="uniform"
        "distance" weighs each vote by 1/d; exact matches (d == 0) outvote everything.
    tie_break : {"nearest", "smallest"}, default="nearest"
        Among classes tied on votes, "nearest" takes the one whose member is closest;
        "smallest" takes the smallest label, as scikit-learn and CS231n do.
    backend : {"auto", "cpu", "numpy", "cuda"}, default="auto"
        Where the search runs; "auto" uses the compiled CPU kernels when they load.

    uint8 images are kept as uint8 (exact integer distances, a quarter of the memory of
    float32); images of shape (N, H, W[, C]) are flattened per sample.

    Attributes
    ----------
    classes_ : ndarray of the distinct labels (any hashable values, strings too).
    n_features_in_ : int
    """

    def __init__(self, k=5, metric="l2", weights="uniform", tie_break="nearest", backend="auto"):
        self.k = k
        self.metric = metric
        self.weights = weights
        self.tie_break = tie_break
        self.backend = backend

    def _check_params(self):
        if isinstance(self.k, bool) or not isinstance(self.k, (int, np.integer)) or self.k < 1:
            raise ValueError(f"k must be a positive int, got {self.k!r}")
        if self.metric not in ops.METRICS:
            raise ValueError(f"metric must be one of {ops.METRICS}, got {self.metric!r}")
        if self.weights not in ("uniform", "distance"):
            raise ValueError(f"weights must be 'uniform' or 'distance', got {self.weights!r}")
        if self.tie_break not in ("nearest", "smallest"):
            raise ValueError(f"tie_break must be 'nearest' or 'smallest', got {self.tie_break!r}")
        _backend.resolve(self.backend)

    def fit(self, X, y):
        """Memorize the training images X (n_samples, ...) and their labels y."""
        self._check_params()
        X = _flatten(X)
        X, y = _validate_data(self, X, y, dtype=_DTYPES, order="C", y_numeric=False)
        check_classification_targets(y)
        self.classes_, self._y = np.unique(y, return_inverse=True)
        self._y = self._y.astype(np.int64)
        self._X = X
        return self

    def _query(self, X):
        check_is_fitted(self, "_X")
        self._check_params()
        X = _flatten(X)
        X = _validate_data(self, X, reset=False, dtype=_DTYPES, order="C")
        if self.k > self._X.shape[0]:
            raise ValueError(f"k={self.k} is larger than the {self._X.shape[0]} training samples")
        return X

    def kneighbors(self, X, n_neighbors=None, return_distance=True):
        """Distances and training indices of the nearest neighbours of each row of X,
        ordered by (distance, index)."""
        X = self._query(X)
        k = self.k if n_neighbors is None else n_neighbors
        dist, idx = ops.knn(X, self._X, k, self.metric, backend=self.backend)
        return (dist, idx) if return_distance else idx

    def _vote(self, X):
        dist, idx = self.kneighbors(X)
        return ops.vote(self._y[idx], len(self.classes_), dist, self.weights,
                        tie_break=self.tie_break, backend=self.backend)

    def predict(self, X):
        """Most voted label of each image."""
        labels, _ = self._vote(X)
        return self.classes_[labels]

    def predict_proba(self, X):
        """Share of the (weighted) votes each class receives; columns follow classes_."""
        _, scores = self._vote(X)
        total = scores.sum(axis=1, keepdims=True)
        return scores / np.where(total > 0, total, 1.0)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
