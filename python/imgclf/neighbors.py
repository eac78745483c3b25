"""KNearestNeighbor: the k-nearest-neighbour classifier on imgclf's fused kernels."""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from . import backend as _backend
from . import ops
from ._validation import ESTIMATOR_DTYPES, check_device_samples, flatten_images, validate_data

__all__ = ["KNearestNeighbor"]


def _is_cupy(a):
    return type(a).__module__.startswith("cupy")


def _is_dask(a):
    return type(a).__module__.startswith("dask")


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

    Dask arrays stay on the cluster: ``fit`` on a dask X keeps the training shards persisted
    on the workers (never gathered to the client; only the distinct labels come back), and
    ``predict``, ``predict_proba``, ``kneighbors`` and ``score`` run the sharded search of
    :func:`imgclf.dask.knn` there (dask queries give dask results; NumPy queries against a
    model on the cluster give NumPy results).  A model fitted on NumPy arrays predicts dask
    queries block by block, the model sent to each worker once.

    CuPy arrays stay on the GPU: ``fit`` on a CuPy X keeps it there, and ``predict``,
    ``predict_proba`` and ``kneighbors`` of CuPy queries run the CUDA kernels and return
    CuPy arrays (labels too, unless they are strings, which only NumPy holds).

    Attributes
    ----------
    classes_ : ndarray of the distinct labels (any hashable values, strings too).
    n_features_in_ : int
    """

    def __init__(self, k: int = 5, metric: str = "l2", weights: str = "uniform", tie_break: str = "nearest",
                 backend: str = "auto") -> None:
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

    def fit(self, X: ArrayLike, y: ArrayLike) -> KNearestNeighbor:
        """Memorize the training images X (n_samples, ...) and their labels y."""
        self._check_params()
        X = flatten_images(X)
        if _is_dask(X) or _is_dask(y):
            return self._fit_dask(X, y)
        if _is_cupy(X):
            X = check_device_samples(self, X, reset=True)
            y = y.get() if _is_cupy(y) else np.asarray(y)
            if y.ndim != 1 or y.shape[0] != X.shape[0]:
                raise ValueError(f"y must be 1-D with one label per sample ({X.shape[0]}), got shape {y.shape}")
        else:
            X, y = validate_data(self, X, y, dtype=ESTIMATOR_DTYPES, order="C", y_numeric=False)
        check_classification_targets(y)
        self.classes_, self._y = np.unique(y, return_inverse=True)
        self._y = self._y.astype(np.int64)
        self._X = X
        if _is_cupy(X):
            import cupy

            self._y_gpu = cupy.asarray(self._y)
        return self

    def _fit_dask(self, X, y):
        from . import dask as _dk

        X = _dk.as_dask(X, "X")
        if X.dtype not in ESTIMATOR_DTYPES:
            if X.dtype.kind not in "biuf":
                raise TypeError(f"X must hold real numbers, got dtype {X.dtype}")
            X = X.astype(np.float64)
        y = y if _is_dask(y) else _dk.da.from_array(np.asarray(y), chunks=(X.chunks[0],))
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise ValueError(f"y must be 1-D with one label per sample ({X.shape[0]}), got shape {y.shape}")
        self.classes_, yi = _dk.encode_labels(y.rechunk((X.chunks[0],)))
        check_classification_targets(self.classes_)
        self.n_features_in_ = X.shape[1]
        self._X, self._y = _dk.persist(X, yi)  # the shards stay where they are computed
        return self

    def _query(self, X):
        check_is_fitted(self, "_X")
        self._check_params()
        X = flatten_images(X)
        if _is_dask(self._X):
            if _is_cupy(X):
                raise TypeError("this model was fitted on dask arrays; pass NumPy or dask queries")
            if X.shape[1] != self.n_features_in_:
                raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                                 f"{self.n_features_in_} features as input")
            if self.k > self._X.shape[0]:
                raise ValueError(f"k={self.k} is larger than the {self._X.shape[0]} training samples")
            return X
        if _is_cupy(X) != _is_cupy(self._X):
            where = "CuPy (GPU)" if _is_cupy(self._X) else "NumPy (host)"
            raise TypeError(f"this model was fitted on {where} arrays; pass the queries the same way")
        if _is_cupy(X):
            X = check_device_samples(self, X, reset=False)
        else:
            X = validate_data(self, X, reset=False, dtype=ESTIMATOR_DTYPES, order="C")
        if self.k > self._X.shape[0]:
            raise ValueError(f"k={self.k} is larger than the {self._X.shape[0]} training samples")
        return X

    def kneighbors(self, X: ArrayLike, n_neighbors: int | None = None,
                   return_distance: bool = True) -> tuple[np.ndarray, np.ndarray] | np.ndarray:
        """Distances and training indices of the nearest neighbours of each row of X,
        ordered by (distance, index)."""
        if _is_dask(X) and not _is_dask(getattr(self, "_X", None)):
            from .dask import predict_blockwise

            check_is_fitted(self, "_X")
            k = self.k if n_neighbors is None else n_neighbors
            dist = predict_blockwise(self, "_kneighbors_distances", X, ncols=k, extra=(k,))
            idx = predict_blockwise(self, "_kneighbors_indices", X, ncols=k, extra=(k,))
            return (dist, idx) if return_distance else idx
        local = not _is_dask(X)
        X = self._query(X)
        k = self.k if n_neighbors is None else n_neighbors
        dist, idx = ops.knn(X, self._X, k, self.metric, backend=self.backend)
        if _is_dask(dist) and local:  # NumPy queries against a model on a cluster
            import dask as _dask

            dist, idx = _dask.compute(dist, idx)
        return (dist, idx) if return_distance else idx

    def _kneighbors_distances(self, X, k):
        return self.kneighbors(X, k)[0]

    def _kneighbors_indices(self, X, k):
        return self.kneighbors(X, k, return_distance=False)

    def _on_cluster(self, X, what):
        """predict / predict_proba where the model or the queries are dask arrays (None
        when neither is)."""
        model_dask = _is_dask(getattr(self, "_X", None))
        if not (model_dask or _is_dask(X)):
            return None
        from . import dask as _dk

        check_is_fitted(self, "_X")
        if not model_dask:  # a local model, dask queries: block by block, the model sent once
            if what == "labels":
                return _dk.predict_blockwise(self, "predict", X, dtype=self.classes_.dtype)
            return _dk.predict_blockwise(self, "predict_proba", X, ncols=len(self.classes_), dtype=np.float64)
        local = not _is_dask(X)
        out = _dk.knn_vote(self, self._query(X), what)
        return out.compute() if local else out

    def _vote(self, X):
        dist, idx = self.kneighbors(X)
        y = self._y_gpu if _is_cupy(idx) else self._y
        return ops.vote(y[idx], len(self.classes_), dist, self.weights,
                        tie_break=self.tie_break, backend=self.backend)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Most voted label of each image."""
        out = self._on_cluster(X, "labels")
        if out is not None:
            return out
        labels, _ = self._vote(X)
        if _is_cupy(labels):
            if self.classes_.dtype.kind in "biuf":
                import cupy

                return cupy.asarray(self.classes_)[labels]
            return self.classes_[labels.get()]  # strings live on the host
        return self.classes_[labels]

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Share of the (weighted) votes each class receives; columns follow classes_."""
        out = self._on_cluster(X, "proba")
        if out is not None:
            return out
        _, scores = self._vote(X)
        total = scores.sum(axis=1, keepdims=True)
        total[total == 0] = 1.0
        return scores / total

    def score(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """Mean accuracy; for CuPy inputs it is computed on the GPU, for dask inputs (or a
        model fitted on dask arrays) on the cluster (one value comes back)."""
        if (_is_dask(X) or _is_dask(getattr(self, "_X", None))) and sample_weight is None:
            from . import dask as _dk

            return _dk.accuracy(self.predict(X), y)
        if _is_cupy(X) and sample_weight is None:
            import cupy

            pred = self.predict(X)
            y = cupy.asarray(y) if _is_cupy(pred) else (y.get() if _is_cupy(y) else np.asarray(y))
            return float((pred == y).mean())
        return super().score(X, y, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
