"""Checks shared by the tests: results against the float64 ground truth, Ctrl-C."""
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest


def exact_distances(X, Y, metric):
    """float64 distances computed directly (the ground truth for ranking)."""
    X = X.reshape(len(X), -1).astype(np.float64)
    Y = Y.reshape(len(Y), -1).astype(np.float64)
    out = np.empty((len(X), len(Y)))
    for i in range(len(X)):
        diff = Y - X[i]
        out[i] = np.abs(diff).sum(1) if metric == "l1" else (diff * diff).sum(1)
    return np.sqrt(out) if metric == "l2" else out


def assert_knn_valid(dist, idx, X, Y, k, metric, exact=False, rtol=1e-6):
    """The k returned neighbours are the true k nearest under the float64 distances,
    ordered by (distance, index); rows may differ from a reference only where float64
    distances differ by less than rtol (relative).  exact=True: identical to the
    (distance, index) ground truth."""
    D = exact_distances(X, Y, metric)
    order = np.lexsort((np.broadcast_to(np.arange(D.shape[1]), D.shape), D), axis=1)[:, :k]
    ref_d = np.take_along_axis(D, order, 1)
    assert dist.shape == (len(X), k) and idx.shape == (len(X), k)
    assert idx.dtype == np.int64
    if exact:
        np.testing.assert_array_equal(idx, order)
        if dist.dtype.kind == "f":  # float outputs carry one rounding of their own dtype
            np.testing.assert_allclose(dist.astype(np.float64), ref_d, rtol=1e-6)
        else:
            np.testing.assert_array_equal(dist, ref_d)
        return
    got = np.take_along_axis(D, idx, 1)  # true distances of what was returned
    tol = rtol * np.maximum(ref_d, 1e-30) + 1e-12
    assert np.all(np.abs(got - ref_d) <= tol), "returned neighbours are not the nearest ones"
    # the reported distances are those of the returned rows
    np.testing.assert_allclose(dist.astype(np.float64), got, rtol=2e-6 if dist.dtype == np.float32 else 1e-9,
                               atol=1e-3 if dist.dtype == np.float32 else 1e-9)
    # where the ground truth has no near-tie, the very same index is returned
    lo = np.concatenate([np.full((len(X), 1), -np.inf), ref_d[:, :-1]], 1)
    hi_full = np.sort(D, axis=1)[:, 1:k + 1] if D.shape[1] > k else np.concatenate(
        [ref_d[:, 1:], np.full((len(X), 1), np.inf)], 1)
    isolated = (ref_d - lo > tol) & (hi_full - ref_d > tol)
    assert np.all(idx[isolated] == order[isolated])
    for row in idx:
        assert len(set(row.tolist())) == k, "a training row was returned twice"


def interrupt_after(seconds, fn):
    """Run fn, send SIGINT after ``seconds``; returns how long fn ran."""
    timer = threading.Timer(seconds, lambda: os.kill(os.getpid(), signal.SIGINT))
    t0 = time.perf_counter()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            fn()
    finally:
        timer.cancel()
    return time.perf_counter() - t0


def blobs(rng, n=300, d=20, C=4):
    centers = rng.standard_normal((C, d)) * 3
    y = rng.integers(0, C, n)
    return centers[y] + rng.standard_normal((n, d)), y


def source_dir():
    """The imgclf source tree (for tests that read README.md or binding sources): the
    IMGCLF_SOURCE_DIR environment variable where the tests run from a copy (CI), else the
    folder above tests/; None when neither holds the sources."""
    src = os.environ.get("IMGCLF_SOURCE_DIR")
    candidates = [Path(src)] if src else []
    candidates.append(Path(__file__).resolve().parents[1])
    for c in candidates:
        if (c / "README.md").is_file() and (c / "csrc").is_dir():
            return c
    return None


def kernel_calls(op, config, monkeypatch):
    """A counter of ``op``'s compiled-kernel calls when config is a SIMD level (the registry
    would otherwise fall back to the reference unnoticed); None for the other configs."""
    if config.level is None:
        return None
    calls = []
    usable, run = op.impls["cpu"]
    monkeypatch.setitem(op.impls, "cpu", (usable, lambda *a: calls.append(1) or run(*a)))
    return calls
