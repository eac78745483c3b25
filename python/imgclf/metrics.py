"""Classification metrics: accuracy, top-k accuracy, confusion matrix."""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ._validation import check_int, check_int_array, check_labels

__all__ = ["accuracy", "top_k_accuracy", "confusion_matrix"]


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Share of predictions equal to the true labels."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D of equal length, got {y_true.shape} and {y_pred.shape}")
    if y_true.size == 0:
        raise ValueError("y_true is empty")
    return float(np.mean(y_true == y_pred))


def top_k_accuracy(y_true: ArrayLike, scores: ArrayLike, k: int = 5) -> float:
    """Share of samples whose true class index is among the k highest scores.

    scores: (n, n_classes), columns in class-index order; y_true: class indices in
    [0, n_classes).  Ties at the k-th score count in the sample's favour only if the true
    class is among the first k by a stable sort (so the result never depends on luck)."""
    scores = np.asarray(scores)
    if scores.ndim != 2 or scores.shape[1] == 0:
        raise ValueError(f"scores must be (n_samples, n_classes), got shape {scores.shape}")
    if scores.dtype.kind not in "biuf":
        raise TypeError(f"scores must hold real numbers, got dtype {scores.dtype}")
    y_true = check_labels(y_true, "y_true", scores.shape[1])
    if scores.shape[0] != y_true.shape[0]:
        raise ValueError(f"scores has {scores.shape[0]} rows but y_true has {y_true.shape[0]} labels")
    if y_true.size == 0:
        raise ValueError("y_true is empty: top-k accuracy of no samples is undefined")
    if np.isnan(scores).any():
        raise ValueError("scores contains NaN")
    k = min(check_int(k, "k", low=1), scores.shape[1])
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return float(np.mean((top == y_true[:, None]).any(axis=1)))


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, n_classes: int | None = None) -> np.ndarray:
    """(n_classes, n_classes) counts: row = true class index, column = predicted.
    Labels must be integer class indices (floats such as 1.7 are refused, not truncated)."""
    y_true = check_int_array(y_true, "y_true").astype(np.int64)
    y_pred = check_int_array(y_pred, "y_pred").astype(np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got {y_true.shape[0]} and {y_pred.shape[0]}")
    if n_classes is None:
        if y_true.size == 0:
            raise ValueError("y_true is empty: pass n_classes to get an all-zero matrix")
        n = int(max(y_true.max(), y_pred.max())) + 1
    else:
        n = check_int(n_classes, "n_classes", low=1)
    check_labels(y_true, "y_true", n)
    check_labels(y_pred, "y_pred", n)
    return np.bincount(y_true * n + y_pred, minlength=n * n).reshape(n, n)
