"""Classification metrics: accuracy, top-k accuracy, confusion matrix."""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

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

    scores: (n, n_classes), columns in class-index order; y_true: class indices.  Ties at
    the k-th score count in the sample's favour only if the true class is among the first
    k by a stable sort (so the result never depends on luck)."""
    y_true, scores = np.asarray(y_true), np.asarray(scores)
    if scores.ndim != 2 or scores.shape[0] != y_true.shape[0]:
        raise ValueError(f"scores must be (n_samples, n_classes) with n_samples = len(y_true), got {scores.shape}")
    if not 1 <= k:
        raise ValueError(f"k must be >= 1, got {k}")
    k = min(k, scores.shape[1])
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return float(np.mean((top == y_true[:, None]).any(axis=1)))


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, n_classes: int | None = None) -> np.ndarray:
    """(n_classes, n_classes) counts: row = true class index, column = predicted."""
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError("y_true and y_pred must have the same length")
    n = int(n_classes if n_classes is not None else max(y_true.max(initial=-1), y_pred.max(initial=-1)) + 1)
    if y_true.size and (y_true.min() < 0 or y_pred.min() < 0 or y_true.max() >= n or y_pred.max() >= n):
        raise ValueError(f"labels must be class indices in [0, {n})")
    return np.bincount(y_true * n + y_pred, minlength=n * n).reshape(n, n)
