"""Choosing hyperparameters: the one-search-per-fold cross-validation over k for kNN, and
validation-split search (grid or random) for the trained models."""
from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from . import _gpu, ops
from ._validation import array_module, check_int
from .metrics import accuracy

__all__ = ["cross_validate_k", "validation_search"]


def _bar(it, show, desc, total=None):
    if show == "auto":
        show = sys.stderr.isatty()
    if not show:
        return it
    from tqdm.auto import tqdm

    return tqdm(it, desc=desc, total=total, leave=False)


def cross_validate_k(X: ArrayLike, y: ArrayLike, ks: Sequence[int], folds: int = 5, metric: str = "l2",
                     weights: str = "uniform", tie_break: str = "nearest", random_state: int | None = 0,
                     progress: bool | str = "auto", backend: str = "auto") -> dict[str, Any]:
    """k-fold cross-validation of kNN over every k in ``ks`` at the cost of one search per fold.

    Each fold runs one fused :func:`imgclf.ops.knn` with k = max(ks); every k is then scored
    from the first k columns of those sorted neighbour lists (scikit-learn's GridSearchCV
    would recompute the distances for every k).  Folds are stratified.

    Returns a dict: ks, mean, std (per k), scores (folds x len(ks)), best_k, seconds.
    """
    from sklearn.model_selection import StratifiedKFold

    if isinstance(ks, (str, bytes)) or not hasattr(ks, "__iter__"):
        raise TypeError(f"ks must be a list of ints, got {type(ks).__name__}")
    ks = sorted({check_int(k, "each value of ks", low=1) for k in ks})
    if not ks:
        raise ValueError("ks is empty: give at least one k")
    folds = check_int(folds, "folds", low=2)
    xp = array_module(X)  # CuPy data stay on the GPU: only index arrays and labels move
    X = xp.asarray(X)
    X = X.reshape(len(X), -1)
    y = _gpu.to_host(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
    classes, yi = np.unique(y, return_inverse=True)
    if np.bincount(yi).min() < folds:
        raise ValueError(f"the smallest class has fewer than folds={folds} samples")
    kmax = ks[-1]
    if kmax > len(X) - (len(X) + folds - 1) // folds:
        raise ValueError(f"max(ks)={kmax} exceeds the training part of a fold")
    t0 = time.perf_counter()
    scores = np.zeros((folds, len(ks)))
    # (the folds depend on the labels only: X is not handed to scikit-learn, wherever it lives)
    split = StratifiedKFold(folds, shuffle=True, random_state=random_state).split(np.zeros((len(yi), 1)), yi)
    yd = yi if xp is np else xp.asarray(yi)
    for f, (tr, va) in enumerate(_bar(split, progress, f"cv {metric}", folds)):
        if xp is not np:
            tr, va = xp.asarray(tr), xp.asarray(va)
        dist, idx = ops.knn(X[va], X[tr], kmax, metric, backend=backend)
        lab = yd[tr][idx]
        for j, k in enumerate(ks):
            pred, _ = ops.vote(xp.ascontiguousarray(lab[:, :k]), len(classes), dist[:, :k], weights,
                               tie_break=tie_break, backend=backend)
            scores[f, j] = accuracy(yi[_gpu.to_host(va)], _gpu.to_host(pred))
    mean, std = scores.mean(0), scores.std(0)
    return {"ks": ks, "mean": mean, "std": std, "scores": scores, "best_k": ks[int(np.argmax(mean))],
            "metric": metric, "folds": folds, "seconds": time.perf_counter() - t0}


def validation_search(make_estimator: Callable[..., Any], X_train: ArrayLike, y_train: ArrayLike, X_val: ArrayLike,
                      y_val: ArrayLike, params: dict[str, Sequence[Any]], n_iter: int | None = None,
                      random_state: int | None = 0, progress: bool | str = "auto") -> tuple[Any, list[dict[str, Any]]]:
    """Fit ``make_estimator(**p)`` on the training split for each parameter setting p and
    score it on the validation split.

    params: a dict of lists (every combination: scikit-learn's ParameterGrid) or, with
    ``n_iter``, of lists / scipy distributions sampled ``n_iter`` times (ParameterSampler).
    Returns (best_estimator, results): results is a list of dicts {params, val_acc, seconds},
    best first.
    """
    from sklearn.model_selection import ParameterGrid, ParameterSampler

    settings = list(ParameterGrid(params) if n_iter is None
                    else ParameterSampler(params, n_iter, random_state=random_state))
    results, best, best_acc = [], None, -1.0
    for p in _bar(settings, progress, "search", len(settings)):
        t = time.perf_counter()
        est = make_estimator(**p).fit(X_train, y_train)
        acc = float(est.score(X_val, y_val))
        results.append({"params": p, "val_acc": acc, "seconds": time.perf_counter() - t})
        if acc > best_acc:
            best, best_acc = est, acc
    results.sort(key=lambda r: -r["val_acc"])
    return best, results
