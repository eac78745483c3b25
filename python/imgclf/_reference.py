"""NumPy reference of every imgclf op: the specification the compiled kernels must meet.

Written against an array module ``xp`` (NumPy, or CuPy when given CuPy arrays), so the
same code also runs on a GPU when the CUDA module is missing.  Favoured: clarity and
exactness over speed.  Inputs arrive already validated by :mod:`imgclf.ops`.
"""
from __future__ import annotations

import numpy as np

__all__ = ["optim_step", "gemm", "activate", "derivative", "bias_act", "act_backward", "max_norm", "dropout", "dropout_keep",
           "affine_rows", "bias_relu", "relu_backward", "get_xp", "pairwise_distances", "knn", "vote", "distance_dtype", "u8_fits_int32", "softmax_loss", "svm_loss",
           "penalty", "linear_loss", "sgd_step", "momentum_step", "nesterov_step", "adagrad_step",
           "rmsprop_step", "adam_step"]


def get_xp(a):
    """The array module (numpy or cupy) that owns ``a``."""
    mod = type(a).__module__
    if mod.startswith("cupy"):
        import cupy

        return cupy
    return np


# uint8 distances are exact integers.  int32 holds them while every possible value fits:
# 255^2 d < 2^31 (squared L2) and 255 d < 2^31 (L1); wider rows give int64.
U8_SQ_INT32_MAX_FEATURES = 33025
U8_L1_INT32_MAX_FEATURES = 8421504


def u8_fits_int32(metric, n_features):
    """True when uint8 distances of ``metric`` over ``n_features`` always fit int32."""
    limit = U8_L1_INT32_MAX_FEATURES if metric == "l1" else U8_SQ_INT32_MAX_FEATURES
    return n_features <= limit


def distance_dtype(dtype, metric, n_features=1):
    """Result dtype of a distance: float32 -> float32, float64 -> float64; uint8 gives exact
    integers for "l1" and "sqeuclidean" (int32 while every value fits, see
    :func:`u8_fits_int32`, else int64) and float64 for "l2" (the square root of an exact
    integer, correctly rounded)."""
    dtype = np.dtype(dtype)
    if dtype == np.uint8:
        if metric == "l2":
            return np.dtype(np.float64)
        return np.dtype(np.int32 if u8_fits_int32(metric, n_features) else np.int64)
    return dtype


# float64 temporaries of the reference are bounded by this many bytes per block (plus the
# (queries x train) float64 rows that knn sorts, at least one query's row)
BLOCK_BYTES = 1 << 26


def _step(per_row_bytes, budget=BLOCK_BYTES):
    return max(1, int(budget // max(1, per_row_bytes)))


def _exact_block(Xc, Y, metric, xp):
    """float64 distances of a block of queries to all of Y (sqeuclidean or l1), computed over
    blocks of Y so that no temporary exceeds about BLOCK_BYTES."""
    nq, d = Xc.shape
    out = xp.empty((nq, Y.shape[0]), dtype=xp.float64)
    if metric == "sqeuclidean" and Xc.dtype == np.uint8:
        # the norms identity is exact on integers below 2^53, and fast (one GEMM per block)
        Xf = Xc.astype(xp.float64)
        xx = (Xf * Xf).sum(axis=1)[:, None]
        tb = _step(8 * (d + nq))
        for j in range(0, Y.shape[0], tb):
            Yf = Y[j : j + tb].astype(xp.float64)
            D = xx + (Yf * Yf).sum(axis=1)[None, :] - 2.0 * (Xf @ Yf.T)
            out[:, j : j + tb] = xp.maximum(D, 0.0)
        return out
    # floats: differences first, so no cancellation between large norms
    tb = _step(16 * d)
    for j in range(0, Y.shape[0], tb):
        Yf = Y[j : j + tb].astype(xp.float64)
        for i in range(nq):
            diff = Yf - Xc[i].astype(xp.float64)
            if metric == "l1":
                xp.abs(diff, out=diff)
            else:
                xp.multiply(diff, diff, out=diff)
            out[i, j : j + tb] = diff.sum(axis=1)
    return out


def _finish(D, dtype, metric, xp, n_features):
    if np.dtype(dtype) == np.uint8:
        D = xp.rint(D)  # exact integers
        if metric == "l2":
            return xp.sqrt(D)
        return D.astype(distance_dtype(dtype, metric, n_features))
    if metric == "l2":
        D = xp.sqrt(D)
    with np.errstate(over="ignore"):  # beyond float32's range is inf: the correct rounding
        return D.astype(dtype)


def pairwise_distances(X, Y, metric="l2"):
    """Full (n_X, n_Y) distance matrix.  metric: "l1", "l2" or "sqeuclidean"."""
    xp = get_xp(X)
    base = "l1" if metric == "l1" else "sqeuclidean"
    d = X.shape[1]
    out = xp.empty((X.shape[0], Y.shape[0]), dtype=distance_dtype(X.dtype, metric, d))
    step = _step(8 * Y.shape[0])
    for s in range(0, X.shape[0], step):
        D = _exact_block(X[s : s + step], Y, base, xp)
        out[s : s + step] = _finish(D, X.dtype, metric, xp, d)
    return out


def knn(queries, train, k, metric="l2"):
    """k nearest training rows of each query: (distances, indices), each (n_queries, k),
    every row ordered by (distance, training index)."""
    xp = get_xp(queries)
    base = "l1" if metric == "l1" else "sqeuclidean"
    nq, d = queries.shape
    dist = xp.empty((nq, k), dtype=distance_dtype(queries.dtype, metric, d))
    idx = xp.empty((nq, k), dtype=xp.int64)
    step = _step(8 * train.shape[0])
    for s in range(0, nq, step):
        D = _exact_block(queries[s : s + step], train, base, xp)
        if queries.dtype == np.uint8:
            D = xp.rint(D)
        # a stable sort keeps equal distances in training-index order
        order = xp.argsort(D, axis=1, kind="stable")[:, :k]
        dist[s : s + step] = _finish(xp.take_along_axis(D, order, axis=1), queries.dtype, metric, xp, d)
        idx[s : s + step] = order
    return dist, idx


def vote(neighbor_labels, n_classes, distances=None, weights="uniform", tie_break="nearest"):
    """Vote over each query's neighbour labels (columns ordered nearest first).

    Returns (labels, scores): int64 (n,) and float64 (n, n_classes).  weights "uniform"
    gives each neighbour 1; "distance" gives 1/d, except that when any neighbour is at
    distance 0 only those exact matches vote.  Ties: "nearest" picks the tied class met
    first in distance order, "smallest" the smallest tied label.
    """
    xp = get_xp(neighbor_labels)
    n, k = neighbor_labels.shape
    w = xp.ones((n, k), dtype=xp.float64)
    if weights == "distance":
        d = distances.astype(xp.float64)
        exact = (d == 0).any(axis=1, keepdims=True)
        with np.errstate(divide="ignore"):
            inv = 1.0 / d
        w = xp.where(exact, (d == 0).astype(xp.float64), inv)
    scores = xp.zeros((n, n_classes), dtype=xp.float64)
    rows = xp.arange(n)
    for t in range(k):  # column by column: the same summation order as the kernels
        scores[rows, neighbor_labels[:, t]] += w[:, t]
    best = scores.max(axis=1, keepdims=True)
    tied = scores == best
    if tie_break == "nearest":
        hit = xp.take_along_axis(tied, neighbor_labels, axis=1)  # (n, k): neighbour in a tied class
        first = xp.argmax(hit, axis=1)
        labels = xp.where(hit.any(axis=1), neighbor_labels[rows, first], xp.argmax(tied, axis=1))
    else:
        labels = xp.argmax(tied, axis=1)
    return labels.astype(xp.int64), scores


# ---- losses and penalties -------------------------------------------------------------

def softmax_loss(scores, y):
    """Mean cross-entropy of the rows of ``scores`` (n, C) against labels ``y``.

    L_i = logsumexp(s_i) - s_i[y_i], computed stably (the row maximum is subtracted first).
    Returns ``(loss, dscores)``; dscores = (softmax(s) - onehot(y)) / n, in scores' dtype.
    """
    xp = get_xp(scores)
    s = scores.astype(xp.float64)
    n = s.shape[0]
    s = s - s.max(axis=1, keepdims=True)
    e = xp.exp(s)
    z = e.sum(axis=1, keepdims=True)
    rows = xp.arange(n)
    loss = float((xp.log(z[:, 0]) - s[rows, y]).sum() / n)
    d = e / z
    d[rows, y] -= 1.0
    return loss, (d / n).astype(scores.dtype)


def svm_loss(scores, y, margin=1.0, squared=False):
    """Multiclass hinge: L_i = sum_{j != y_i} max(0, s_ij - s_iy + margin), squared
    per term when ``squared``; the mean over rows (not divided by the number of classes).
    The subgradient of max(0, m) at m = 0 is taken as 0.  Returns ``(loss, dscores)``."""
    xp = get_xp(scores)
    s = scores.astype(xp.float64)
    n = s.shape[0]
    rows = xp.arange(n)
    m = s - s[rows, y][:, None] + margin
    m[rows, y] = 0.0
    pos = m > 0
    hinge = xp.where(pos, m, 0.0)
    loss = float(((hinge * hinge) if squared else hinge).sum() / n)
    g = (2.0 * hinge) if squared else pos.astype(xp.float64)
    g[rows, y] = -g.sum(axis=1)
    return loss, (g / n).astype(scores.dtype)


def penalty(W, reg, kind="l2", beta=0.5):
    """``(reg * R(W), reg * R'(W))`` with R = sum W^2 ("l2"), sum |W| ("l1") or
    sum beta W^2 + |W| ("elasticnet"); sign(0) = 0."""
    xp = get_xp(W)
    w = W.astype(xp.float64)
    if kind == "l2":
        r, g = (w * w).sum(), 2.0 * w
    elif kind == "l1":
        r, g = xp.abs(w).sum(), xp.sign(w)
    else:
        r, g = (beta * w * w + xp.abs(w)).sum(), 2.0 * beta * w + xp.sign(w)
    return float(reg * r), (reg * g).astype(W.dtype)


def linear_loss(X, rows, scale, shift, W, b, y, loss="softmax", margin=1.0):
    """One minibatch of a linear classifier: x = scale * X[rows] - shift, scores = x W + b.
    Returns ``(data_loss, dW, db)`` in W's dtype."""
    Xb = X if rows is None else X[rows]
    x = Xb.astype(W.dtype) * W.dtype.type(scale)
    if shift is not None:
        x = x - shift
    scores = x @ W + b
    if loss == "softmax":
        value, ds = softmax_loss(scores, y)
    else:
        value, ds = svm_loss(scores, y, margin, squared=(loss == "squared_svm"))
    return value, (x.T @ ds).astype(W.dtype), ds.sum(axis=0).astype(W.dtype)


# ---- optimizer steps (in place) --------------------------------------------------------

def sgd_step(param, grad, lr):
    param -= lr * grad


def momentum_step(param, grad, velocity, lr, rho):
    velocity *= rho
    velocity -= lr * grad
    param += velocity


def nesterov_step(param, grad, velocity, lr, rho):
    v_old = velocity.copy()
    velocity *= rho
    velocity -= lr * grad
    param += -rho * v_old + (1 + rho) * velocity


def adagrad_step(param, grad, cache, lr, eps):
    xp = get_xp(param)
    cache += grad * grad
    param -= lr * grad / (xp.sqrt(cache) + eps)


def rmsprop_step(param, grad, cache, lr, decay, eps):
    xp = get_xp(param)
    cache *= decay
    cache += (1 - decay) * grad * grad
    param -= lr * grad / (xp.sqrt(cache) + eps)


def adam_step(param, grad, m, v, step, lr, beta1, beta2, eps, weight_decay):
    xp = get_xp(param)
    if weight_decay:
        param *= 1 - lr * weight_decay
    m *= beta1
    m += (1 - beta1) * grad
    v *= beta2
    v += (1 - beta2) * grad * grad
    mhat = m / (1 - beta1 ** step)
    vhat = v / (1 - beta2 ** step)
    param -= lr * mhat / (xp.sqrt(vhat) + eps)


def optim_step(kind, param, grad, states, lr, momentum=0.0, decay=0.0, beta1=0.0, beta2=0.0, eps=0.0,
               weight_decay=0.0, step=1):
    """One update of one array by the rule of ``kind`` (the fields of the kernels'
    OptimHyper, by name)."""
    if kind == "sgd":
        sgd_step(param, grad, lr)
    elif kind == "momentum":
        momentum_step(param, grad, states[0], lr, momentum)
    elif kind == "nesterov":
        nesterov_step(param, grad, states[0], lr, momentum)
    elif kind == "adagrad":
        adagrad_step(param, grad, states[0], lr, eps)
    elif kind == "rmsprop":
        rmsprop_step(param, grad, states[0], lr, decay, eps)
    else:
        adam_step(param, grad, states[0], states[1], step, lr, beta1, beta2, eps, weight_decay)


# ---- dense layers ------------------------------------------------------------------------

def gemm(A, B, out, trans_a=False, trans_b=False, alpha=1.0, beta=0.0):
    """out = alpha op(A) op(B) + beta out, in place; returns out."""
    r = alpha * ((A.T if trans_a else A) @ (B.T if trans_b else B))
    if beta:
        r += beta * out
    out[...] = r
    return out


def activate(x, activation, slope=0.01):
    """act(x) elementwise: relu, leaky_relu (slope for x <= 0), tanh, sigmoid, identity."""
    xp = get_xp(x)
    if activation == "relu":
        return xp.maximum(x, 0)
    if activation == "leaky_relu":
        return xp.where(x > 0, x, x * x.dtype.type(slope))
    if activation == "tanh":
        return xp.tanh(x)
    if activation == "sigmoid":
        return 1 / (1 + xp.exp(-x))
    return x


def derivative(y, activation, slope=0.01):
    """act'(x) from the output y = act(x)."""
    xp = get_xp(y)
    one = y.dtype.type(1)
    if activation == "relu":
        return (y > 0).astype(y.dtype)
    if activation == "leaky_relu":
        return xp.where(y > 0, one, y.dtype.type(slope))
    if activation == "tanh":
        return one - y * y
    if activation == "sigmoid":
        return y * (one - y)
    return xp.ones_like(y)


def bias_act(h, b, activation="relu", slope=0.01):
    """In place: h = act(h + b); returns h."""
    h += b
    h[...] = activate(h, activation, slope)
    return h


def act_backward(dh, h, activation="relu", slope=0.01):
    """In place: dh *= act'(x) (from the output h); returns the column sums of dh (the
    gradient of the layer's bias).  For relu, dh = 0 where h <= 0 (so 0 * inf stays 0)."""
    if activation == "relu":
        dh[h <= 0] = 0
    else:
        dh *= derivative(h, activation, slope)
    return dh.sum(axis=0)


def bias_relu(h, b, relu=True):
    """In place: h += b, then max(h, 0) when relu."""
    return bias_act(h, b, "relu" if relu else "identity")


def relu_backward(dh, h):
    """In place: dh = 0 where h <= 0; returns the column sums of dh (the bias gradient)."""
    return act_backward(dh, h, "relu")


def max_norm(W, c):
    """In place: each column of W with L2 norm above c is scaled to norm c; returns how
    many were scaled (norms summed in float64)."""
    xp = get_xp(W)
    norms = xp.sqrt((W.astype(xp.float64) ** 2).sum(axis=0))
    over = norms > c
    W *= xp.where(over, c / xp.where(over, norms, 1.0), 1.0).astype(W.dtype)
    return int(over.sum()) if xp is np else over.sum()


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def dropout_keep(seed, n, p, xp=np):
    """The dropout mask of n elements (csrc/include/imgclf/dropout.h): element i is kept
    when the top 24 bits of splitmix64(seed + (i + 1) * golden) are at least round(p 2^24)."""
    with np.errstate(over="ignore"):  # uint64 arithmetic wraps, as in C
        z = xp.uint64(seed) + (xp.arange(1, n + 1, dtype=xp.uint64) * _GOLDEN)
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(40)) >= np.uint64(int(p * 16777216.0 + 0.5))


def dropout(h, p, seed):
    """In place inverted dropout: kept elements scaled by 1 / (1 - p), the others zeroed;
    returns how many were kept."""
    xp = get_xp(h)
    keep = dropout_keep(seed, h.size, p, xp).reshape(h.shape)
    h *= keep.astype(h.dtype) * h.dtype.type(1.0 / (1.0 - p))
    return int(keep.sum()) if xp is np else keep.sum()


def affine_rows(X, rows, scale, shift, dtype):
    """scale * X[rows] - shift in ``dtype``."""
    Xb = X if rows is None else X[rows]
    x = Xb.astype(dtype) * dtype.type(scale)
    if shift is not None:
        x -= shift
    return x
