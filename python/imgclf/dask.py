"""imgclf on Dask: sharded k-nearest-neighbour search, blockwise prediction, distributed
L-BFGS and cross-validation on a cluster.

Importing this module registers the ``"dask"`` backend of :mod:`imgclf.ops`: afterwards
:func:`imgclf.ops.knn` and :func:`imgclf.ops.pairwise_distances` accept dask arrays (the
queries, the training set or both) and return dask arrays, and the estimators accept dask
arrays in ``fit`` / ``predict`` (see :func:`knn`, :func:`fit_lbfgs`, :func:`predict_blockwise`).
The ops import it by themselves when they are given a dask array.

Every task runs the single-machine kernel (:func:`imgclf.ops.knn` on the blocks it is given,
on NumPy chunks, or CuPy chunks on workers with GPUs); partial results carry global training
indices and merge in a tree, so the answer is the single-machine answer, ties included.

Needs the optional dependencies ``pip install 'imgclf[dask]'`` (dask[array], distributed).
"""
from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

try:
    import dask
    import dask.array as da
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "imgclf's Dask support needs Dask: install the extra with  pip install 'imgclf[dask]'  "
        f"(dask[array] and distributed); the import failed with: {exc}") from exc

from . import _reference, ops
from ._validation import as_matrix, check_choice, check_int, common_dtype
from .ops.knn import KNN, PAIRWISE

__all__ = ["is_dask", "knn", "pairwise_distances", "knn_with_labels", "predict_blockwise", "fit_lbfgs",
           "active_client", "as_dask", "QUIET"]

#: Dask settings for a cluster that runs imgclf's compute-bound kernels: Dask's own monitoring
#: made quieter.  By default every worker samples its threads' stacks every 10 ms (the
#: profile behind the dashboard's "Profile" page) and every scheduler, client and worker
#: event loop wakes every 20 ms to measure its own latency; on an idle 2-core LocalCluster of
#: two workers that costs ~6 % of the machine (0.23 CPU-seconds per 1.75 s), taken from the
#: searches.  With these settings: ~2 %.  Give them to the workers when they start, e.g.
#: ``with dask.config.set(imgclf.dask.QUIET): cluster = LocalCluster(...)``, or in the
#: workers' Dask configuration file (``distributed: {worker: {profile: {enabled: false}},
#: admin: {tick: {interval: 500ms}}}``).  Nothing else changes (work stealing, the
#: dashboard's task stream and memory pages stay as they are).
QUIET: dict[str, Any] = {"distributed.worker.profile.enabled": False, "distributed.admin.tick.interval": "500ms"}


def is_dask(a: Any) -> bool:
    """True for a dask array (or any dask collection)."""
    return type(a).__module__.startswith("dask")


def active_client(client: Any = None) -> Any:
    """``client`` itself, else the dask.distributed Client active in this process, else None.
    (distributed is only asked when it was imported already: a process that never started a
    client pays nothing.)"""
    if client is not None:
        return client
    if "distributed" not in sys.modules:
        return None
    from distributed import default_client

    try:
        return default_client()
    except ValueError:
        return None


# ---- inputs ----------------------------------------------------------------------------------

BLOCK_BYTES = 64 << 20  # NumPy input is cut into blocks of whole rows of about this size


def _block_rows(a: np.ndarray) -> int:
    """Rows of the NumPy matrix ``a`` in a block of about BLOCK_BYTES (at least one)."""
    return max(1, BLOCK_BYTES // max(1, a.shape[1] * a.itemsize))


def as_dask(a: Any, name: str, rows_per_chunk: int | None = None) -> Any:
    """``a`` as a 2-D dask array whose blocks hold whole rows (the features of a sample are
    never split across blocks); NumPy input is cut into blocks of about 64 MiB (or
    ``rows_per_chunk`` rows)."""
    if not is_dask(a):
        a = as_matrix(a, name)
        rows = rows_per_chunk or _block_rows(a)
        return da.from_array(a, chunks=(min(rows, a.shape[0]), a.shape[1]))
    if any(math.isnan(c) for c in a.shape):
        raise ValueError(f"{name} has unknown chunk sizes (shape {a.shape}); call {name}.compute_chunk_sizes() "
                         "first (e.g. after boolean indexing)")
    a = as_matrix(a, name)
    if len(a.chunks[1]) != 1:
        a = a.rechunk({1: -1})
    return a


def prepare_pair(X: Any, Y: Any, xname: str, yname: str, keep_numpy: bool = False) -> tuple[Any, Any]:
    """Two dask sample matrices with the same number of features, in their common dtype
    (imgclf.ops' dtype rules).  Nothing is computed: NaN and infinity are reported by the
    task that meets them (the kernel's own check on its block).  ``keep_numpy``: a NumPy X
    stays a NumPy matrix (the kNN sends it to the workers itself, see :func:`knn`)."""
    if keep_numpy and not is_dask(X):
        X = as_matrix(X, xname)
    else:
        X = as_dask(X, xname)
    Y = as_dask(Y, yname)
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"{xname} has {X.shape[1]} features but {yname} has {Y.shape[1]}")
    dtype = common_dtype(X, Y)
    return X.astype(dtype, copy=False), Y.astype(dtype)


def _offsets(chunks):
    return np.concatenate([[0], np.cumsum(chunks)]).astype(np.int64)


# ---- the sharded kNN ---------------------------------------------------------------------------

def _block_metric(dtype, metric):
    """The metric each block runs: "l2" runs as "sqeuclidean" (rooted after the merge, as
    the single-machine kernel roots after its ranking) except for float32, whose kernel
    rounds the float64 distance after the root; float32 lists merge on recomputed float64
    distances instead (see _f64_key)."""
    if metric == "l2" and np.dtype(dtype) != np.float32:
        return "sqeuclidean"
    return metric


def _f64_key(Q, T, local_idx, metric):
    """float64 distances (squared for "l2") of each query to its candidates: the order the
    single-machine float32 kernel ranks by (its float32 outputs can tie where the float64
    distances do not).  Computed in slices: at most ~32 MiB of differences at a time."""
    xp = _reference.get_xp(Q)
    nq, k = local_idx.shape
    d = Q.shape[1]
    out = xp.empty((nq, k), dtype=xp.float64)
    step = max(1, (4 << 20) // max(1, k * d))
    for s in range(0, nq, step):
        diff = T[local_idx[s : s + step]].astype(xp.float64) - Q[s : s + step, None, :].astype(xp.float64)
        out[s : s + step] = xp.abs(diff).sum(axis=2) if metric == "l1" else (diff * diff).sum(axis=2)
    return out


def _local_topk(Q, T, labels, offset, k, metric, backend):
    """One task: the k nearest rows of training block T (global rows offset..) for every
    query of block Q, by the single-machine fused kernel.  Holds Q, T and (len(Q), k) lists,
    never a distance matrix.  Returns (dist, key, idx, lab): key is the ranking key where it
    differs from dist (float32), idx global int64, lab the candidates' labels (or None)."""
    kk = min(k, T.shape[0])
    dist, idx = ops.knn(Q, T, kk, _block_metric(T.dtype, metric), backend=backend)
    key = _f64_key(Q, T, idx, metric) if T.dtype == np.float32 else None
    lab = _reference.get_xp(idx).asarray(labels)[idx] if labels is not None else None
    return dist, key, idx + offset, lab


def _merge(k, *parts):
    """Merge partial lists of consecutive training ranges, given in index order: a stable
    sort on the key keeps equal distances in global-index order, so ties resolve to the
    lower global index exactly as the single-machine kernel does."""
    xp = _reference.get_xp(parts[0][0])
    dist = xp.concatenate([p[0] for p in parts], axis=1)
    key = dist if parts[0][1] is None else xp.concatenate([p[1] for p in parts], axis=1)
    idx = xp.concatenate([p[2] for p in parts], axis=1)
    order = xp.argsort(key, axis=1, kind="stable")[:, :k]
    take = lambda a: xp.take_along_axis(a, order, axis=1)  # noqa: E731
    lab = None if parts[0][3] is None else take(xp.concatenate([p[3] for p in parts], axis=1))
    return take(dist), (None if parts[0][1] is None else take(key)), take(idx), lab


def _finish(part, metric, dtype):
    """The merged list in ops.knn's output form: "l2" rooted as the single-machine kernel
    roots it (float64 for integer distances, in place for floats)."""
    dist, _, idx, lab = part
    if metric == "l2" and np.dtype(dtype) != np.float32:
        xp = _reference.get_xp(dist)
        dist = xp.sqrt(dist.astype(xp.float64)) if dist.dtype.kind != "f" else xp.sqrt(dist)
    return dist, idx, lab


def _merge_finish(k, metric, dtype, *parts):
    """The last merge and :func:`_finish` in one task (one scheduler round trip less)."""
    return _finish(_merge(k, *parts) if len(parts) > 1 else parts[0], metric, dtype)


def _tree(items, combine, split_every, last=None):
    """Reduce a list in a tree of fan-in split_every, keeping the order of the items;
    ``last`` (if given) combines the final group (of one item or up to split_every) instead."""
    while len(items) > split_every or (last is None and len(items) > 1):
        items = [combine(*items[i : i + split_every]) if len(items[i : i + split_every]) > 1 else items[i]
                 for i in range(0, len(items), split_every)]
    return last(*items) if last is not None else items[0]


def _query_blocks(X, Y, client):
    """The query blocks of :func:`knn_with_labels` and their row counts.  A dask X: its
    blocks.  A NumPy X: cut into blocks of about BLOCK_BYTES; with a distributed client, each
    block is sent once, straight from this process, to every worker that holds a block of
    Y (a scatter with broadcast: no hop through the scheduler, no worker-to-worker copy
    before the searches can start)."""
    if is_dask(X):
        return X.to_delayed().ravel(), list(X.chunks[0])
    rows = _block_rows(X)
    blocks = [X[s : s + rows] for s in range(0, max(1, X.shape[0]), rows)]
    sizes = [b.shape[0] for b in blocks]
    if client is None:
        return blocks, sizes
    keys = [k for blk in Y.__dask_keys__() for k in (blk if isinstance(blk, list) else [blk])]
    try:
        workers = sorted({w for ws in client.who_has(keys).values() for w in ws})
    except Exception:  # noqa: BLE001 - not persisted on this client: let the scheduler place the blocks
        workers = []
    futures = client.scatter(blocks, workers=workers or None, broadcast=True, hash=False)
    return futures, sizes


def _out_dtype(op, dtype, d, metric):
    """The dtype ops gives for these inputs (it depends on dtype, d and metric only)."""
    z = np.zeros((1, d), dtype=dtype)
    if op == "knn":
        return ops.knn(z, z, 1, metric)[0].dtype
    return ops.pairwise_distances(z, z, metric).dtype


def _check_k(k, n):
    k = check_int(k, "k")
    if not 1 <= k <= n:
        raise ValueError(f"k must be between 1 and the number of training samples ({n}), got {k}")
    return k


def knn_with_labels(queries: Any, train: Any, k: int, metric: str = "l2", labels: Any = None, *,
                    backend: str = "auto", split_every: int = 4) -> tuple[Any, Any, Any]:
    """:func:`knn` that also carries each candidate's label through the merge (``labels``: a
    1-D dask array chunked like ``train``'s rows), so that a vote needs no gathered labels.
    Returns dask arrays (dist, idx, neighbour labels or None)."""
    check_choice(metric, "metric", ops.METRICS)
    X, Y = prepare_pair(queries, train, "queries", "train", keep_numpy=True)
    k = _check_k(k, Y.shape[0])
    split_every = check_int(split_every, "split_every", low=2)
    if labels is not None:
        labels = labels.rechunk((Y.chunks[0],))
    dd = _out_dtype("knn", Y.dtype, Y.shape[1], metric)
    Qd, qrows = _query_blocks(X, Y, active_client())
    Td = Y.to_delayed().ravel()
    Ld = labels.to_delayed().ravel() if labels is not None else [None] * len(Td)
    offs = _offsets(Y.chunks[0])
    local = dask.delayed(_local_topk, pure=True)
    merge = dask.delayed(_merge, pure=True)
    last = dask.delayed(_merge_finish, pure=True, nout=3)
    dists, idxs, labs = [], [], []
    for i, q in enumerate(Qd):
        parts = [local(q, t, lab, int(offs[j]), k, metric, backend) for j, (t, lab) in enumerate(zip(Td, Ld))]
        dist, idx, lab = _tree(parts, lambda *p: merge(k, *p), split_every,
                               last=lambda *p: last(k, metric, Y.dtype, *p))
        n = qrows[i]
        dists.append(da.from_delayed(dist, shape=(n, k), dtype=dd))
        idxs.append(da.from_delayed(idx, shape=(n, k), dtype=np.int64))
        if labels is not None:
            labs.append(da.from_delayed(lab, shape=(n, k), dtype=labels.dtype))
    cat = lambda a: da.concatenate(a, axis=0)  # noqa: E731
    return cat(dists), cat(idxs), (cat(labs) if labels is not None else None)


def knn(queries: Any, train: Any, k: int, metric: str = "l2", *, backend: str = "auto",
        split_every: int = 4) -> tuple[Any, Any]:
    """:func:`imgclf.ops.knn` on dask arrays (queries, training set, or both; NumPy input is
    cut into blocks).  Returns dask arrays ``(distances, indices)`` (n_queries, k), equal to
    the single-machine result, ties included (lower global training index first).

    What each task holds:

    * a search task: one query block, one training block and that pair's top-k lists
      (query block rows x min(k, block rows) distances + global indices); it runs the
      fused single-machine kernel (``backend`` chooses it), which streams tiles and never
      stores the block-pair distance matrix;
    * a merge task: ``split_every`` partial lists of one query block (8 + 4 bytes, or
      8 + 8, per entry), merged by (distance, global index);
    * no task holds the queries x training matrix, the whole training set, or more than one
      block of either.

    Tasks run where their training block lives (persist the training set once:
    ``train = train.persist()``), so only query blocks and the small lists travel.
    """
    dist, idx, _ = knn_with_labels(queries, train, k, metric, backend=backend, split_every=split_every)
    return dist, idx


def _pairwise_block(A, B, metric, backend):
    return ops.pairwise_distances(A, B, metric, backend=backend)


def pairwise_distances(X: Any, Y: Any = None, metric: str = "l2", *, backend: str = "auto") -> Any:
    """:func:`imgclf.ops.pairwise_distances` on dask arrays: block (i, j) of the result is
    the single-machine kernel on row block i of X and row block j of Y.  Each task holds one
    block of X, one of Y and their distance block.  Returns a lazy dask array (n_X, n_Y):
    this op materializes every distance by definition, so compute only what you need."""
    check_choice(metric, "metric", ops.METRICS)
    X, Y = prepare_pair(X, X if Y is None else Y, "X", "Y")
    dd = _out_dtype("pairwise", Y.dtype, Y.shape[1], metric)
    return da.blockwise(_pairwise_block, "ij", X, "ik", Y, "jk", dtype=dd, concatenate=True,
                        meta=np.empty((0, 0), dtype=dd), metric=metric, backend=backend)


# the "dask" backend of imgclf.ops (ops hands dask inputs here, already prepared)
# (block_backend: the backend= the caller gave, which each task's kernel call uses)
KNN.register("dask")(lambda X, Y, k, metric, block_backend="auto": knn(X, Y, k, metric, backend=block_backend))
PAIRWISE.register("dask")(lambda X, Y, metric, block_backend="auto":
                          pairwise_distances(X, Y, metric, backend=block_backend))


# ---- estimators ------------------------------------------------------------------------------------

def persist(*arrays: Any) -> tuple[Any, ...]:
    """dask.persist: on a distributed cluster the blocks stay on the workers that computed
    them (the client keeps only futures)."""
    return dask.persist(*arrays)


def accuracy(pred: Any, y: Any) -> float:
    """Mean of pred == y, reduced where the predictions are (one number comes back)."""
    if is_dask(pred):
        y = y if is_dask(y) else da.from_array(np.asarray(y), chunks=pred.chunks)
        return float((pred == y.rechunk(pred.chunks)).mean().compute())
    return float(np.mean(pred == (y.compute() if is_dask(y) else np.asarray(y))))


def _call(block, est, method, *extra):
    return getattr(est, method)(block, *extra)


def predict_blockwise(est: Any, method: str, X: Any, ncols: int | None = None, dtype: Any = None,
                      extra: tuple = ()) -> Any:
    """``est.<method>(block, *extra)`` on each row block of the dask array X, on the
    workers.  The fitted estimator enters the graph once (one key, sent once to each worker
    that needs it), not once per block.  ``ncols``: columns of a 2-D result (None for 1-D)."""
    X = X if X.ndim == 2 else X.reshape(X.shape[0], -1)
    X = X.rechunk({1: -1})
    model = dask.delayed(est, pure=True, traverse=False)
    dtype = np.dtype(dtype) if dtype is not None else np.dtype(np.float64)
    if ncols is None:
        return X.map_blocks(_call, model, method, *extra, drop_axis=1, dtype=dtype,
                            meta=np.empty((0,), dtype=dtype))
    return X.map_blocks(_call, model, method, *extra, chunks=(X.chunks[0], (ncols,)), dtype=dtype,
                        meta=np.empty((0, 0), dtype=dtype))


def iter_blocks(X: Any, y: Any):
    """(X block, y block) pairs as NumPy arrays, one block computed at a time (y is
    rechunked to X's row blocks)."""
    X = as_dask(X, "X")
    y = y if is_dask(y) else da.from_array(np.asarray(y), chunks=(X.chunks[0],))
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} samples but y has {y.shape[0]}")
    y = y.rechunk((X.chunks[0],))
    for xb, yb in zip(X.to_delayed().ravel(), y.to_delayed().ravel()):
        yield dask.compute(xb, yb)


def _encode_block(y, classes):
    i = np.clip(np.searchsorted(classes, y), 0, len(classes) - 1)
    if len(y) and not np.all(classes[i] == y):
        raise ValueError(f"y has labels not seen in fit: {np.setdiff1d(np.unique(y), classes)[:5].tolist()}")
    return i.astype(np.int64)


def encode_labels(y: Any, classes: Any = None) -> tuple[np.ndarray, Any]:
    """(classes, y as int64 class indices) for a 1-D dask array of labels: the distinct
    labels come to the client (they are few), the encoded labels stay on the cluster."""
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {y.shape}")
    if classes is None:
        classes = np.asarray(da.unique(y).compute())
    return classes, y.map_blocks(_encode_block, classes, dtype=np.int64)


def _shard_loss(X, y, W, b, loss, scale, shift, margin):
    """One shard's data loss and gradients, summed (not averaged) over its rows."""
    n = X.shape[0]
    v, dW, db = ops.linear_loss(X, y, W, b, loss, scale=scale, shift=shift, margin=margin)
    return n * float(v), n * dW, n * db


def _add(*parts):
    return sum(p[0] for p in parts), sum(p[1] for p in parts), sum(p[2] for p in parts)


def fit_lbfgs(est: Any, X: Any, y: Any, *, split_every: int = 4) -> Any:
    """Full-batch L-BFGS of a linear classifier (LinearSVM, SoftmaxClassifier with
    optimizer="lbfgs") on dask arrays X (n, d) and y (n,), as Spark MLlib trains logistic
    regression: every iteration sends the parameters to the shards, each shard computes its
    summed loss and gradients with the fused kernel (:func:`imgclf.ops.linear_loss`) on the
    worker that holds it, and the sums meet in a tree; only parameters and gradients travel.
    The preprocessing statistics (mean image, scale) are reduced the same way.  The result
    equals single-machine L-BFGS on the same data up to float rounding of the sums."""
    from ._trained import Preprocess
    from .optim import lbfgs

    X = as_dask(X, "X")
    if not is_dask(y):
        y = da.from_array(np.asarray(y), chunks=(X.chunks[0],))
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} samples but y has {y.shape[0]}")
    y = y.rechunk((X.chunks[0],))
    if X.dtype not in (np.float32, np.float64, np.uint8):
        X = X.astype(np.float64)
    est._check_common()
    est._check_params()
    X = X.persist()
    classes, yi = encode_labels(y)
    yi = yi.persist()
    if len(classes) < 2:
        raise ValueError(f"{type(est).__name__} needs samples of at least 2 classes; got 1 class")
    n, d = X.shape
    dtype = np.dtype(est.dtype)
    if X.dtype == np.uint8:
        scale = 1.0 / 255.0
    else:
        sd = float(X.std(dtype=np.float64).compute())
        scale = 1.0 / sd if sd > 0 and np.isfinite(sd) else 1.0
    total = X.sum(axis=0, dtype=np.float64).compute()
    pre = Preprocess.from_stats(scale, total / n * scale, dtype)
    est.classes_ = classes
    est.n_features_in_ = d
    est._dtype = dtype
    est._pre = pre
    est._rng = np.random.default_rng(est.random_state)
    est.model_ = est._new_model(d, len(classes), est._rng)
    est.model_.preprocess = pre
    m = est.model_
    work = {key: v.astype(np.float64) for key, v in m.params.items()}
    shift = pre.shift.astype(np.float64)
    Xd, yd = X.to_delayed().ravel(), yi.to_delayed().ravel()
    shard = dask.delayed(_shard_loss, pure=True)
    add = dask.delayed(_add, pure=True)

    def f():
        W, b = dask.delayed(work["W"].copy()), dask.delayed(work["b"].copy())
        parts = [shard(xb, yb, W, b, m.loss_name, pre.scale, shift, m.margin) for xb, yb in zip(Xd, yd)]
        value, dW, db = dask.compute(_tree(parts, add, split_every))[0]
        value, dW, db = value / n, dW / n, db / n
        pen, dW = ops.penalty(work["W"], m.reg, m.penalty, beta=m.beta, grad=dW)
        return value + pen, {"W": dW, "b": db}

    res = lbfgs(f, work, maxiter=est.epochs * 20)
    for key, v in work.items():
        m.params[key][...] = v
    est.n_iter_ = int(res.nit)
    est.history_ = {"loss": [float(res.fun)], "train_acc": [], "val_acc": [], "lr": [],
                    "best_epoch": None, "stopped_early": False, "interrupted": False,
                    "seconds": 0.0, "lbfgs": {"success": bool(res.success), "message": str(res.message)}}
    est._opt = None
    return est


# ---- KNearestNeighbor on a cluster ---------------------------------------------------------------

def _vote_block(lab, dist, n_classes, weights, tie_break, backend, classes, what):
    labels, scores = ops.vote(lab, n_classes, dist, weights, tie_break=tie_break, backend=backend)
    if what == "labels":
        return classes[labels]
    total = scores.sum(axis=1, keepdims=True)
    total[total == 0] = 1.0
    return scores / total


def knn_vote(est: Any, X: Any, what: str) -> Any:
    """predict ("labels") or predict_proba ("proba") of a KNearestNeighbor fitted on dask
    arrays: the search of :func:`knn_with_labels` against the persisted shards, then the
    vote on each query block, all on the workers."""
    dist, _, lab = knn_with_labels(X, est._X, est.k, est.metric, est._y, backend=est.backend)
    C = len(est.classes_)
    if what == "labels":
        return da.map_blocks(_vote_block, lab, dist, C, est.weights, est.tie_break, est.backend, est.classes_,
                             what, drop_axis=1, dtype=est.classes_.dtype,
                             meta=np.empty((0,), dtype=est.classes_.dtype))
    return da.map_blocks(_vote_block, lab, dist, C, est.weights, est.tie_break, est.backend, est.classes_, what,
                         chunks=(dist.chunks[0], (C,)), dtype=np.float64, meta=np.empty((0, 0)))

