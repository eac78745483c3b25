"""The implementations a user would otherwise pick, each at its best configuration.

Every peer is a :class:`Peer`: ``impl`` (the library: "imgclf", "numpy", "scipy",
"sklearn", "torch", "faiss"), ``config`` (what exactly runs), the families it applies to,
and ``prepare(case)``, which does the untimed setup (dtype conversion, building an index,
wrapping arrays as tensors) and returns the callable that is timed.  Peers whose library
is not installed are reported by :meth:`Peer.unavailable` and skipped.

"Best configuration" here means: the fastest way we know to get the same answer from that
library with its documented API: float32 data converted once before timing (these
libraries have no exact uint8 kernels), indexes built before timing, train norms computed
inside the timed call (imgclf computes everything inside its call), torch's fused
optimizers where torch has them, and NumPy written with matmul, argpartition, bincount and
in-place ufuncs rather than the reference's exact loops.  Thread pools are pinned by
:func:`imgclf.benchmarks.set_threads` before timing.
"""
from __future__ import annotations

import importlib
import os
import warnings

import numpy as np

__all__ = ["PEERS", "Peer", "peers_for"]


class Peer:
    def __init__(self, impl, config, families, prepare, requires=(), applies=None, id=None):
        self.impl = impl
        self.config = config
        self.families = tuple(families)
        self._prepare = prepare
        self.requires = tuple(requires)
        self._applies = applies
        self.id = id or impl  # the pytest id; unique within a family

    def __repr__(self):
        return f"<Peer {self.impl}: {self.config}>"

    def applies(self, case):
        return case.family in self.families and (self._applies is None or self._applies(case))

    def unavailable(self):
        """None when the peer's libraries import, else why not (the reason a test skips with)."""
        for mod in self.requires:
            try:
                _import(mod)
            except Exception as exc:  # noqa: BLE001 (ImportError, or a broken install: OSError, ...)
                return f"{mod} is not available: {type(exc).__name__}: {exc}"
        return None

    def prepare(self, case):
        return self._prepare(case)


def _import(mod):
    if mod == "faiss":  # see _faiss()
        return _faiss()
    return importlib.import_module(mod)


def _faiss():
    """faiss-cpu bundles its own OpenBLAS, which reads OPENBLAS_CORETYPE when it loads.  That
    build misdetects some CPUs (on a Zen 4 it ran the Fashion-MNIST L2 search 5-6x slower
    than with OPENBLAS_CORETYPE=SkylakeX); where the CPU has AVX-512 and the variable is
    unset, it is set for faiss's sake before faiss loads.  NumPy's own OpenBLAS is already
    loaded by then and keeps its own choice."""
    import sys

    if "faiss" not in sys.modules and "OPENBLAS_CORETYPE" not in os.environ:
        from imgclf import backend

        if "avx512" in backend.simd_levels():
            os.environ["OPENBLAS_CORETYPE"] = "SkylakeX"
    import faiss

    return faiss


PEERS = []


def peer(impl, families, config, requires=(), applies=None, id=None):
    def deco(prepare):
        PEERS.append(Peer(impl, config, families if isinstance(families, tuple) else (families,), prepare,
                          requires, applies, id))
        return prepare
    return deco


def peers_for(case):
    """imgclf first, then every peer that applies to the case's family."""
    return [p for p in PEERS if p.applies(case)]


# ---- imgclf itself --------------------------------------------------------------------------------

@peer("imgclf", ("knn", "pairwise", "vote", "loss", "linear_loss", "optim", "gemm", "epoch", "estimator"),
      "imgclf.ops / estimators (compiled kernels)")
def _imgclf(case):
    return case.imgclf()


# ---- kNN --------------------------------------------------------------------------------------------

_CHUNK = 256  # queries per block: the block's distance matrix stays bounded


def _f32(a):
    return np.ascontiguousarray(a, dtype=np.float32)


def _topk_rows(D, k):
    part = np.argpartition(D, k - 1, axis=1)[:, :k]
    return np.take_along_axis(part, np.argsort(np.take_along_axis(D, part, 1), axis=1, kind="stable"), 1)


def numpy_knn_l2(Q, T, k):
    """Plain NumPy kNN by squared L2: float32 matmul per block of queries (|q|^2 is left out:
    it does not change a row's ranking), then argpartition + argsort of the k."""
    tn = np.einsum("ij,ij->i", T, T)
    out = np.empty((Q.shape[0], k), np.int64)
    for s in range(0, Q.shape[0], _CHUNK):
        D = Q[s:s + _CHUNK] @ T.T
        D *= -2
        D += tn
        out[s:s + _CHUNK] = _topk_rows(D, k)
    return out


def numpy_l1_block(q, T, tile=64):
    """L1 distances of a few queries to every training row, in tiles that stay in cache
    (float32 rows, or int16 rows of uint8 images: exact, and half the bytes)."""
    D = np.empty((q.shape[0], T.shape[0]), np.float32 if q.dtype.kind == "f" else np.int64)
    for t in range(0, T.shape[0], tile):
        D[:, t:t + tile] = np.abs(q[:, None, :] - T[None, t:t + tile, :]).sum(-1)
    return D


def numpy_knn_l1(Q, T, k, block=8):
    """Plain NumPy kNN by L1: broadcast |q - t| over tiles of (block queries x 64 rows),
    sum, then argpartition (the fastest of the NumPy forms measured, bench/NOTES.md).
    Q and T float32, or int16 copies of uint8 images."""
    out = np.empty((Q.shape[0], k), np.int64)
    for s in range(0, Q.shape[0], block):
        out[s:s + block] = _topk_rows(numpy_l1_block(Q[s:s + block], T), k)
    return out


def numpy_knn_inputs(queries, train, metric):
    """The copies the NumPy kNN works on: float32, except int16 for L1 on uint8 images."""
    dt = np.int16 if metric == "l1" and queries.dtype == np.uint8 else np.float32
    return np.ascontiguousarray(queries, dtype=dt), np.ascontiguousarray(train, dtype=dt)


@peer("numpy", "knn", "float32 matmul + argpartition per 256 queries (L2); tiled broadcast |q - t| "
      "(L1; int16 for uint8 images)")
def _numpy_knn(case):
    inp = case.inputs
    Q, T = numpy_knn_inputs(inp["queries"], inp["train"], inp["metric"])
    k = inp["k"]
    fn = numpy_knn_l2 if inp["metric"] == "l2" else numpy_knn_l1
    return lambda: fn(Q, T, k)


@peer("scipy", "knn", "scipy.spatial.distance.cdist (float64) per 256 queries + argpartition", ["scipy"])
def _scipy_knn(case):
    from scipy.spatial.distance import cdist

    inp = case.inputs
    Q, T = (np.ascontiguousarray(inp[n], dtype=np.float64) for n in ("queries", "train"))
    k = inp["k"]
    metric = "sqeuclidean" if inp["metric"] == "l2" else "cityblock"

    def run():
        out = np.empty((Q.shape[0], k), np.int64)
        for s in range(0, Q.shape[0], _CHUNK):
            out[s:s + _CHUNK] = _topk_rows(cdist(Q[s:s + _CHUNK], T, metric), k)
        return out
    return run


@peer("sklearn", "knn", "NearestNeighbors(algorithm='brute').kneighbors, float32", ["sklearn"])
def _sklearn_knn(case):
    from sklearn.neighbors import NearestNeighbors

    inp = case.inputs
    nn = NearestNeighbors(n_neighbors=inp["k"], algorithm="brute",
                          metric="euclidean" if inp["metric"] == "l2" else "manhattan").fit(_f32(inp["train"]))
    Q = _f32(inp["queries"])
    return lambda: nn.kneighbors(Q, return_distance=False)


@peer("torch", "knn", "float32 mm (L2) or cdist p=1 (L1) per 1000 queries + topk", ["torch"])
def _torch_knn(case):
    import torch

    inp = case.inputs
    Q, T, k = torch.from_numpy(_f32(inp["queries"])), torch.from_numpy(_f32(inp["train"])), inp["k"]
    l2 = inp["metric"] == "l2"

    def run():
        out = []
        with torch.no_grad():
            tn = (T * T).sum(1) if l2 else None
            for s in range(0, Q.shape[0], 1000):
                q = Q[s:s + 1000]
                D = torch.addmm(tn, q, T.T, alpha=-2.0) if l2 else torch.cdist(q, T, p=1.0)
                out.append(torch.topk(D, k, largest=False, sorted=True).indices)
        return torch.cat(out).numpy()
    return run


@peer("faiss", "knn", "IndexFlatL2 / IndexFlat(METRIC_L1), float32", ["faiss"])
def _faiss_knn(case):
    faiss = _faiss()
    inp = case.inputs
    T = _f32(inp["train"])
    index = faiss.IndexFlatL2(T.shape[1]) if inp["metric"] == "l2" else faiss.IndexFlat(T.shape[1], faiss.METRIC_L1)
    index.add(T)
    Q, k = _f32(inp["queries"]), inp["k"]
    return lambda: index.search(Q, k)[1]


# ---- pairwise distances ------------------------------------------------------------------------------

@peer("numpy", "pairwise", "float32 |x|^2 + |y|^2 - 2 x y^T with matmul (L2); tiled broadcast (L1; int16 "
      "for uint8 images)")
def _numpy_pairwise(case):
    inp = case.inputs
    X, Y = _f32(inp["X"]), _f32(inp["Y"])
    if inp["metric"] == "l1" and inp["X"].dtype == np.uint8:
        X, Y = inp["X"].astype(np.int16), inp["Y"].astype(np.int16)

    def l2():
        D = X @ Y.T
        D *= -2
        D += np.einsum("ij,ij->i", X, X)[:, None]
        D += np.einsum("ij,ij->i", Y, Y)[None, :]
        np.maximum(D, 0, out=D)
        return np.sqrt(D, out=D)

    def l1():
        out = np.empty((X.shape[0], Y.shape[0]), np.float32 if X.dtype.kind == "f" else np.int64)
        for s in range(0, X.shape[0], 8):
            out[s:s + 8] = numpy_l1_block(X[s:s + 8], Y)
        return out
    return l2 if inp["metric"] == "l2" else l1


@peer("scipy", "pairwise", "scipy.spatial.distance.cdist (float64)", ["scipy"])
def _scipy_pairwise(case):
    from scipy.spatial.distance import cdist

    inp = case.inputs
    X, Y = (np.ascontiguousarray(inp[n], dtype=np.float64) for n in ("X", "Y"))
    metric = "euclidean" if inp["metric"] == "l2" else "cityblock"
    return lambda: cdist(X, Y, metric)


@peer("sklearn", "pairwise", "sklearn.metrics.pairwise_distances, float32", ["sklearn"])
def _sklearn_pairwise(case):
    from sklearn.metrics import pairwise_distances

    inp = case.inputs
    X, Y = _f32(inp["X"]), _f32(inp["Y"])
    metric = "euclidean" if inp["metric"] == "l2" else "manhattan"
    return lambda: pairwise_distances(X, Y, metric=metric)


@peer("torch", "pairwise", "torch.cdist, float32", ["torch"])
def _torch_pairwise(case):
    import torch

    inp = case.inputs
    X, Y = torch.from_numpy(_f32(inp["X"])), torch.from_numpy(_f32(inp["Y"]))
    p = 2.0 if inp["metric"] == "l2" else 1.0

    def run():
        with torch.no_grad():
            return torch.cdist(X, Y, p=p).numpy()
    return run


# ---- vote -------------------------------------------------------------------------------------------------

@peer("numpy", "vote", "one bincount over (row * n_classes + label), weights 1/d, argmax")
def _numpy_vote(case):
    inp = case.inputs
    L, C, D = inp["neighbor_labels"], inp["n_classes"], inp["distances"]
    uniform = inp["weights"] == "uniform"
    n = L.shape[0]
    rows = C * np.arange(n)[:, None]

    def run():  # (weights and flat indices inside the timed call, as imgclf computes them)
        flat = (L + rows).ravel()
        w = None if uniform else np.reciprocal(D).ravel()
        scores = np.bincount(flat, weights=w, minlength=n * C).reshape(n, C)
        return scores.argmax(axis=1), scores
    return run


@peer("scipy", "vote", "scipy.stats.mode (uniform weights only)", ["scipy"],
      applies=lambda c: c.params["weights"] == "uniform")
def _scipy_vote(case):
    from scipy import stats

    L = case.inputs["neighbor_labels"]
    return lambda: stats.mode(L, axis=1, keepdims=False).mode


@peer("sklearn", "vote", "sklearn.utils.extmath.weighted_mode", ["sklearn"])
def _sklearn_vote(case):
    from sklearn.utils.extmath import weighted_mode

    inp = case.inputs
    L, D, uniform = inp["neighbor_labels"], inp["distances"], inp["weights"] == "uniform"
    return lambda: weighted_mode(L, np.ones(L.shape) if uniform else 1.0 / D, axis=1)[0].ravel().astype(np.int64)


@peer("torch", "vote", "scatter_add_ into (n, n_classes), argmax", ["torch"])
def _torch_vote(case):
    import torch

    inp = case.inputs
    L, C, D = torch.from_numpy(inp["neighbor_labels"]), inp["n_classes"], torch.from_numpy(inp["distances"])
    uniform = inp["weights"] == "uniform"

    def run():
        W = torch.ones(L.shape, dtype=torch.float64) if uniform else D.reciprocal()
        scores = torch.zeros((L.shape[0], C), dtype=torch.float64).scatter_add_(1, L, W)
        return scores.argmax(dim=1).numpy(), scores.numpy()
    return run


# ---- softmax / SVM loss ----------------------------------------------------------------------------------

def numpy_softmax_loss(S, y):
    n = S.shape[0]
    r = np.arange(n)
    Z = S - S.max(axis=1, keepdims=True)
    E = np.exp(Z)
    s = E.sum(axis=1)
    loss = float(np.mean(np.log(s) - Z[r, y]))
    E /= s[:, None]
    E[r, y] -= 1
    E /= n
    return loss, E


def numpy_svm_loss(S, y, margin=1.0):
    n = S.shape[0]
    r = np.arange(n)
    M = S - S[r, y][:, None]
    M += margin
    M[r, y] = 0
    np.maximum(M, 0, out=M)
    loss = float(M.sum(dtype=np.float64) / n)
    G = (M > 0).astype(S.dtype)
    G[r, y] = -G.sum(axis=1)
    G /= n
    return loss, G


@peer("numpy", "loss", "vectorized (the CS231n *_loss_vectorized form, in place where possible)")
def _numpy_loss(case):
    inp = case.inputs
    S, y = inp["scores"], inp["y"]
    fn = numpy_softmax_loss if inp["loss"] == "softmax" else numpy_svm_loss
    return lambda: fn(S, y)


def torch_softmax_loss(S, y):
    import torch

    n = S.shape[0]
    P = torch.softmax(S, dim=1)
    loss = torch.nn.functional.cross_entropy(S, y)
    P[torch.arange(n), y] -= 1
    P /= n
    return loss, P


def torch_svm_loss(S, y, margin=1.0):
    import torch

    n = S.shape[0]
    r = torch.arange(n)
    M = (S - S.gather(1, y[:, None]) + margin).clamp_(min=0)
    M[r, y] = 0
    G = (M > 0).to(S.dtype)
    G[r, y] = -G.sum(dim=1)
    return M.sum() / n, G / n


@peer("torch", "loss", "softmax / clamp with hand-written gradients (no autograd)", ["torch"])
def _torch_loss(case):
    import torch

    inp = case.inputs
    S, y = torch.from_numpy(inp["scores"]), torch.from_numpy(inp["y"])
    fn = torch_softmax_loss if inp["loss"] == "softmax" else torch_svm_loss

    def run():
        with torch.no_grad():
            loss, G = fn(S, y)
            return float(loss), G.numpy()
    return run


# ---- the fused linear minibatch ---------------------------------------------------------------------------

def numpy_linear_loss(x, y, W, b, loss, reg):
    """Loss and gradients of scores = x W + b for a float32 minibatch x, plus reg * sum W^2."""
    S = x @ W
    S += b
    value, dS = numpy_softmax_loss(S, y) if loss == "softmax" else numpy_svm_loss(S, y)
    dW = x.T @ dS
    dW += (2 * reg) * W
    return value + reg * float(np.einsum("ij,ij->", W, W, dtype=np.float64)), dW, dS.sum(axis=0)


@peer("numpy", "linear_loss", "float32 images prepared once (scale, shift); gather rows + matmul per batch")
def _numpy_linear_loss(case):
    inp = case.inputs
    Xf = inp["X"].astype(np.float32) * np.float32(inp["scale"]) - inp["shift"]
    rows, y, W, b, loss, reg = inp["rows"], inp["y"], inp["W"], inp["b"], inp["loss"], inp["reg"]
    return lambda: numpy_linear_loss(Xf[rows], y, W, b, loss, reg)


@peer("torch", "linear_loss", "float32 images prepared once; index_select + mm, hand-written gradients",
      ["torch"])
def _torch_linear_loss(case):
    import torch

    inp = case.inputs
    Xf = torch.from_numpy(inp["X"].astype(np.float32) * np.float32(inp["scale"]) - inp["shift"])
    rows, y = torch.from_numpy(inp["rows"]), torch.from_numpy(inp["y"])
    W, b, reg = torch.from_numpy(inp["W"]), torch.from_numpy(inp["b"]), inp["reg"]
    fn = torch_softmax_loss if inp["loss"] == "softmax" else torch_svm_loss

    def run():
        with torch.no_grad():
            x = Xf.index_select(0, rows)
            loss, dS = fn(torch.addmm(b, x, W), y)
            dW = torch.addmm(W, x.T, dS, beta=2 * reg)
            return float(loss) + reg * float((W * W).sum()), dW.numpy(), dS.sum(0).numpy()
    return run


# ---- optimizer steps --------------------------------------------------------------------------------------------

def _optim_copies(case):
    inp = case.inputs
    return ([a.copy() for a in inp["params"]], inp["grads"], [[a.copy() for a in col] for col in inp["states"]],
            dict(inp["hyper"]))


@peer("numpy", "optim", "in-place ufuncs (out=) with preallocated scratch, one array at a time")
def _numpy_optim(case):
    kind = case.params["kind"]
    P, G, S, h = _optim_copies(case)
    tmp = [np.empty_like(p) for p in P]
    tmp2 = [np.empty_like(p) for p in P]

    def run():
        lr = h["lr"]
        for i, (p, g, t) in enumerate(zip(P, G, tmp)):
            if kind == "sgd":
                np.multiply(g, lr, out=t)
                p -= t
            elif kind in ("momentum", "nesterov"):
                v, rho = S[0][i], h["rho"]
                if kind == "nesterov":
                    np.multiply(v, -rho, out=tmp2[i])
                v *= rho
                np.multiply(g, lr, out=t)
                v -= t
                if kind == "nesterov":
                    np.multiply(v, 1 + rho, out=t)
                    t += tmp2[i]
                    p += t
                else:
                    p += v
            elif kind in ("adagrad", "rmsprop"):
                c = S[0][i]
                np.multiply(g, g, out=t)
                if kind == "rmsprop":
                    c *= h["decay"]
                    t *= 1 - h["decay"]
                c += t
                np.sqrt(c, out=t)
                t += h["eps"]
                np.divide(g, t, out=t)
                t *= lr
                p -= t
            else:
                m, v, b1, b2, step = S[0][i], S[1][i], h["beta1"], h["beta2"], h["step"]
                m *= b1
                np.multiply(g, 1 - b1, out=t)
                m += t
                v *= b2
                np.multiply(g, g, out=t)
                t *= 1 - b2
                v += t
                np.multiply(v, 1.0 / (1.0 - b2 ** step), out=t)
                np.sqrt(t, out=t)
                t += h["eps"]
                np.divide(m, t, out=t)
                t *= lr / (1.0 - b1 ** step)
                p -= t
        if "step" in h:
            h["step"] += 1
        return P, S
    return run


@peer("torch", "optim", "torch.optim with fused=True (RMSprop: foreach=True, it has no fused CPU kernel)",
      ["torch"])
def _torch_optim(case):
    import torch

    kind = case.params["kind"]
    P, G, S, h = _optim_copies(case)
    tp = []
    for p, g in zip(P, G):
        t = torch.nn.Parameter(torch.from_numpy(p))  # shares memory: P is updated in place
        t.grad = torch.from_numpy(g)
        tp.append(t)
    lr = h["lr"]
    states = S
    if kind == "sgd":
        opt = torch.optim.SGD(tp, lr=lr, fused=True)
    elif kind in ("momentum", "nesterov"):
        opt = torch.optim.SGD(tp, lr=lr, momentum=h["rho"], nesterov=kind == "nesterov", fused=True)
        bufs = [(-v / lr).astype(np.float32) for v in S[0]]  # torch's buffer b: imgclf's velocity is -lr b
        for t, b in zip(tp, bufs):
            opt.state[t]["momentum_buffer"] = torch.from_numpy(b)

        def states():
            return [[-lr * b for b in bufs]]
    elif kind == "adagrad":
        opt = torch.optim.Adagrad(tp, lr=lr, eps=h["eps"], fused=True)
        for t, c in zip(tp, S[0]):
            opt.state[t]["sum"] = torch.from_numpy(c)
    elif kind == "rmsprop":
        opt = torch.optim.RMSprop(tp, lr=lr, alpha=h["decay"], eps=h["eps"], foreach=True)
        for t, c in zip(tp, S[0]):
            opt.state[t].update(step=torch.tensor(0.0), square_avg=torch.from_numpy(c))
    else:
        opt = torch.optim.Adam(tp, lr=lr, betas=(h["beta1"], h["beta2"]), eps=h["eps"], fused=True)
        for t, m, v in zip(tp, S[0], S[1]):  # torch counts the step up before it uses it
            opt.state[t].update(step=torch.tensor(float(h["step"] - 1)), exp_avg=torch.from_numpy(m),
                                exp_avg_sq=torch.from_numpy(v))
    if kind == "adagrad":
        for t in tp:
            opt.state[t]["step"] = torch.tensor(0.0)

    def run():
        opt.step()
        return P, states
    return run


# ---- gemm ---------------------------------------------------------------------------------------------------------

@peer("numpy", "gemm", "A @ B (NumPy's OpenBLAS sgemm)")
def _numpy_gemm(case):
    inp = case.inputs
    A = inp["A"].T if inp["trans_a"] else inp["A"]
    B = inp["B"].T if inp["trans_b"] else inp["B"]
    return lambda: A @ B


@peer("scipy", "gemm", "scipy.linalg.blas.sgemm (SciPy's OpenBLAS), C = (B^T A^T)^T without copies", ["scipy"])
def _scipy_gemm(case):
    from scipy.linalg.blas import sgemm

    inp = case.inputs
    A, B = inp["A"], inp["B"]
    # C-ordered X is the Fortran-ordered X^T: C^T = op(B)^T op(A)^T, all in Fortran order
    ta, tb = inp["trans_a"], inp["trans_b"]
    return lambda: sgemm(1.0, B.T, A.T, trans_a=tb, trans_b=ta).T


@peer("torch", "gemm", "torch.mm, float32", ["torch"])
def _torch_gemm(case):
    import torch

    inp = case.inputs
    A, B = torch.from_numpy(inp["A"]), torch.from_numpy(inp["B"])
    A = A.T if inp["trans_a"] else A
    B = B.T if inp["trans_b"] else B
    return lambda: torch.mm(A, B).numpy()


# ---- one epoch of training -------------------------------------------------------------------------------------------

def _prepared(inp):
    return inp["X"].astype(np.float32) * np.float32(inp["scale"]) - inp["shift"]


def numpy_epoch(Xf, y, params, order, model, batch_size, lr, reg):
    """One epoch of minibatch SGD (linear models) or Adam (the network) in plain NumPy."""
    losses = []
    if model != "net":
        W, b = params["W"], params["b"]
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            loss, dW, db = numpy_linear_loss(Xf[idx], y[idx], W, b, model, reg)
            dW *= lr
            W -= dW
            b -= lr * db
            losses.append(loss)
        return losses
    keys = ("W1", "b1", "W2", "b2")
    m = {k: np.zeros_like(params[k]) for k in keys}
    v = {k: np.zeros_like(params[k]) for k in keys}
    b1, b2, eps = 0.9, 0.999, 1e-8
    for t, s in enumerate(range(0, len(order), batch_size), start=1):
        idx = order[s:s + batch_size]
        x, P = Xf[idx], params
        h = x @ P["W1"]
        h += P["b1"]
        np.maximum(h, 0, out=h)
        S = h @ P["W2"]
        S += P["b2"]
        loss, dS = numpy_softmax_loss(S, y[idx])
        loss += reg * float(np.einsum("ij,ij->", P["W1"], P["W1"], dtype=np.float64)
                            + np.einsum("ij,ij->", P["W2"], P["W2"], dtype=np.float64))
        g = {"W2": h.T @ dS, "b2": dS.sum(0)}
        dh = dS @ P["W2"].T
        dh[h <= 0] = 0
        g["b1"] = dh.sum(0)
        g["W1"] = x.T @ dh
        g["W1"] += (2 * reg) * P["W1"]
        g["W2"] += (2 * reg) * P["W2"]
        c1, c2 = 1 - b1 ** t, 1 - b2 ** t
        for k in keys:
            m[k] *= b1
            m[k] += (1 - b1) * g[k]
            v[k] *= b2
            v[k] += (1 - b2) * g[k] * g[k]
            P[k] -= (lr / c1) * m[k] / (np.sqrt(v[k] / c2) + eps)
        losses.append(loss)
    return losses


@peer("numpy", "epoch", "float32 images prepared once; matmul, hand-written gradients, in-place updates")
def _numpy_epoch(case):
    inp = case.inputs
    Xf = _prepared(inp)
    kw = {k: inp[k] for k in ("model", "batch_size", "lr", "reg")}
    return case.bind(lambda X, y, params, order, **_: numpy_epoch(Xf, y, params, order, **kw))


def torch_epoch(Xf, y, params, order, model, batch_size, lr, reg):
    """One epoch in torch: hand-written gradients for the linear models, autograd and
    torch.optim.Adam(fused=True) for the network.  ``params`` are NumPy arrays updated in
    place (the tensors share their memory)."""
    import torch

    y, order = torch.from_numpy(y), torch.from_numpy(order)
    P = {k: torch.from_numpy(v) for k, v in params.items()}
    losses = []
    if model != "net":
        loss_fn = torch_softmax_loss if model == "softmax" else torch_svm_loss
        W, b = P["W"], P["b"]
        with torch.no_grad():
            for s in range(0, len(order), batch_size):
                idx = order[s:s + batch_size]
                x = Xf.index_select(0, idx)
                loss, dS = loss_fn(torch.addmm(b, x, W), y[idx])
                dW = torch.addmm(W, x.T, dS, beta=2 * reg)
                W.sub_(dW, alpha=lr)
                b.sub_(dS.sum(0), alpha=lr)
                losses.append(float(loss) + reg * float((W * W).sum()))
        return losses
    T = {k: torch.nn.Parameter(v) for k, v in P.items()}
    opt = torch.optim.Adam(T.values(), lr=lr, fused=True)
    for s in range(0, len(order), batch_size):
        idx = order[s:s + batch_size]
        x = Xf.index_select(0, idx)
        h = torch.relu(torch.addmm(T["b1"], x, T["W1"]))
        loss = torch.nn.functional.cross_entropy(torch.addmm(T["b2"], h, T["W2"]), y[idx])
        loss = loss + reg * ((T["W1"] * T["W1"]).sum() + (T["W2"] * T["W2"]).sum())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@peer("torch", "epoch", "float32 images prepared once; linear: hand-written gradients; net: autograd + "
      "Adam(fused=True)", ["torch"])
def _torch_epoch(case):
    import torch

    inp = case.inputs
    Xf = torch.from_numpy(_prepared(inp))
    kw = {k: inp[k] for k in ("model", "batch_size", "lr", "reg")}
    return case.bind(lambda X, y, params, order, **_: torch_epoch(Xf, y, params, order, **kw))


# ---- estimators on digits -----------------------------------------------------------------------------------------------

def _sk_estimator(model, variant):
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.svm import LinearSVC

    if model == "knn":
        return KNeighborsClassifier(n_neighbors=5, algorithm=variant)
    if variant == "sgd":  # the same budget as imgclf's defaults: 20 epochs, alpha = reg
        return SGDClassifier(loss="log_loss" if model == "softmax" else "hinge", alpha=1e-4, max_iter=20, tol=None,
                             random_state=0)
    if model == "softmax":
        return LogisticRegression(max_iter=200)
    if model == "svm":
        return LinearSVC()
    return MLPClassifier(hidden_layer_sizes=(256,), alpha=1e-4, batch_size=64, max_iter=20, random_state=0)


def _sklearn_estimator_peer(model, variant, config):
    @peer("sklearn", "estimator", config, ["sklearn"], applies=lambda c: c.params["model"] == model,
          id=f"sklearn-{variant}")
    def prepare(case):
        def fit_predict(X_train, y_train, X_test):
            from sklearn.exceptions import ConvergenceWarning

            est = _sk_estimator(model, variant)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                if model == "knn":
                    return est.fit(X_train, y_train).predict(X_test)
                return est.fit(X_train / 255.0, y_train).predict(X_test / 255.0)
        return case.bind(fit_predict)
    return prepare


for _model, _variant, _config in (
        ("knn", "brute", "KNeighborsClassifier(5, algorithm='brute')"),
        ("knn", "auto", "KNeighborsClassifier(5) (auto: a tree on 64 features)"),
        ("softmax", "sgd", "SGDClassifier(log_loss, 20 epochs), pixels / 255"),
        ("softmax", "lbfgs", "LogisticRegression (L-BFGS), pixels / 255"),
        ("svm", "sgd", "SGDClassifier(hinge, 20 epochs), pixels / 255"),
        ("svm", "liblinear", "LinearSVC, pixels / 255"),
        ("net", "adam", "MLPClassifier((256,), adam, 20 epochs, batch 64), pixels / 255")):
    _sklearn_estimator_peer(_model, _variant, _config)
