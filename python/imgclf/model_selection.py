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


def _fold_scores(X, yi, tr, va, ks, n_classes, metric, weights, tie_break, backend):
    """The accuracy of every k in ks on one fold: one search with k = max(ks).  X may be on a
    GPU (CuPy): the search, the labels of the neighbours and the vote stay there; yi (host
    labels), tr and va (host indices) are moved as needed."""
    xp = array_module(X)
    yd = yi
    if xp is not np:
        tr, va, yd = xp.asarray(tr), xp.asarray(va), xp.asarray(yi)
    dist, idx = ops.knn(X[va], X[tr], ks[-1], metric, backend=backend)
    lab = yd[tr][idx]
    yv = yi[_gpu.to_host(va)]
    out = np.zeros(len(ks))
    for j, k in enumerate(ks):
        pred, _ = ops.vote(xp.ascontiguousarray(lab[:, :k]), n_classes, dist[:, :k], weights,
                           tie_break=tie_break, backend=backend)
        out[j] = accuracy(yv, _gpu.to_host(pred))
    return out


def _dask_client(client):
    """The dask.distributed Client to run folds on: ``client``, else the active one (only
    looked for when distributed was imported), else None."""
    if client is None and "distributed" not in sys.modules:
        return None
    from .dask import active_client

    return active_client(client)


def cross_validate_k(X: ArrayLike, y: ArrayLike, ks: Sequence[int], folds: int = 5, metric: str = "l2",
                     weights: str = "uniform", tie_break: str = "nearest", random_state: int | None = 0,
                     progress: bool | str = "auto", backend: str = "auto", client: Any = None) -> dict[str, Any]:
    """k-fold cross-validation of kNN over every k in ``ks`` at the cost of one search per fold.

    Each fold runs one fused :func:`imgclf.ops.knn` with k = max(ks); every k is then scored
    from the first k columns of those sorted neighbour lists (scikit-learn's GridSearchCV
    would recompute the distances for every k).  Folds are stratified.

    client: a dask.distributed Client; when one is given or active in this process
    (``Client(...)`` was created), the folds run as tasks on its workers: X and y are
    scattered once to the workers, each task runs one fold's search and scoring, and only
    the scores come back.  The result is the same as run here.

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
    args = (ks, len(classes), metric, weights, tie_break, backend)
    client = _dask_client(client) if xp is np else None
    if client is not None:
        from distributed import as_completed

        # hash=False: fresh keys, so a second call never reuses data the first is releasing
        Xf, yf = client.scatter([X, yi], broadcast=True, hash=False)
        futs = {client.submit(_fold_scores, Xf, yf, tr, va, *args, pure=False): f
                for f, (tr, va) in enumerate(split)}
        for fut in _bar(as_completed(futs), progress, f"cv {metric} (dask)", folds):
            scores[futs[fut]] = fut.result()
    else:
        for f, (tr, va) in enumerate(_bar(split, progress, f"cv {metric}", folds)):
            scores[f] = _fold_scores(X, yi, tr, va, *args)
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
