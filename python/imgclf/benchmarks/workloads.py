"""What each family's cases hold, what imgclf runs on them, and how an answer is checked.

Every check compares with imgclf's answer on the same data.  Tolerances are rounding
bounds of a float32 computation (2^-24 is float32's unit roundoff): a float32 sum of d
terms is off by at most d * 2^-24 times the sum of the terms' magnitudes.  Anything
further away is a different answer and fails.
"""
from __future__ import annotations

import numpy as np

from .cases import SHAPES, U32, Case, images

# ---- helpers --------------------------------------------------------------------------------


def _cached(case, key, make):
    store = case.__dict__.setdefault("_check_cache", {})
    if key not in store:
        store[key] = make()
    return store[key]


def _fail(case, what):
    raise AssertionError(f"{case.group}: {what}")


def _array(case, a, name, shape=None, kind="f"):
    a = np.asarray(a)
    if shape is not None and a.shape != tuple(shape):
        _fail(case, f"{name} has shape {a.shape}, expected {tuple(shape)}")
    if kind == "f" and not (a.dtype.kind in "fiu" and np.isfinite(a).all()):
        _fail(case, f"{name} must be finite real numbers (dtype {a.dtype})")
    return a


def _close_norm(case, name, got, want, rtol, atol=0.0):
    """Norm-wise: ||got - want|| <= rtol * ||want|| + atol."""
    got = _array(case, got, name, np.shape(want)).astype(np.float64)
    want = np.asarray(want, dtype=np.float64)
    err = float(np.linalg.norm(got - want))
    bound = rtol * float(np.linalg.norm(want)) + atol
    if not err <= bound:
        _fail(case, f"{name} differs from imgclf's: ||difference|| = {err:.3g} > {bound:.3g} "
                    f"(relative tolerance {rtol:g})")


def _close_scalar(case, name, got, want, rtol):
    try:
        got = float(got)
    except (TypeError, ValueError):
        _fail(case, f"{name} must be a number, got {type(got).__name__}")
    if not abs(got - want) <= rtol * max(1.0, abs(want)):
        _fail(case, f"{name} = {got!r} but imgclf's is {want!r} (relative tolerance {rtol:g})")


class _Spec:
    """One family: make(case) -> inputs, impl(case) -> imgclf's function, bind, check."""

    family = None

    def bind(self, case, fn):
        inp = case.inputs
        return lambda: fn(**inp)


# ---- kNN ------------------------------------------------------------------------------------

def _pair_distances(Q, T, idx, metric):
    """Exact distances of query i to training rows idx[i] (float64; the data are integers,
    so every sum is exact).  Squared for "l2"."""
    out = np.empty(idx.shape, dtype=np.float64)
    for s in range(0, Q.shape[0], 128):
        q = Q[s:s + 128].astype(np.float64)[:, None, :]
        diff = T[idx[s:s + 128]].astype(np.float64) - q
        out[s:s + 128] = np.einsum("ijk,ijk->ij", diff, diff) if metric == "l2" else np.abs(diff).sum(-1)
    return out


class KNN(_Spec):
    family = "knn"

    def make(self, case):
        p = case.params
        X, _ = images(p["nq"] + p["nt"], p["shape"], seed=p["seed"])
        X = X.astype(p["dtype"], copy=False)
        return {"queries": np.ascontiguousarray(X[:p["nq"]]), "train": np.ascontiguousarray(X[p["nq"]:]),
                "k": p["k"], "metric": p["metric"]}

    def impl(self, case):
        from imgclf import ops

        def imgclf_knn(queries, train, k, metric):
            return ops.knn(queries, train, k, "sqeuclidean" if metric == "l2" else "l1")
        return imgclf_knn

    def check(self, case, result):
        inp = case.inputs
        Q, T, k, metric = inp["queries"], inp["train"], inp["k"], inp["metric"]
        idx = result[1] if isinstance(result, tuple) else result
        idx = _array(case, idx, "indices", (Q.shape[0], k), kind="i")
        if idx.dtype.kind not in "iu":
            _fail(case, f"indices must be integers, got dtype {idx.dtype}")
        if idx.min() < 0 or idx.max() >= T.shape[0]:
            _fail(case, f"indices must lie in [0, {T.shape[0]})")
        srt = np.sort(idx, axis=1)
        if (srt[:, 1:] == srt[:, :-1]).any():
            q = int(np.nonzero((srt[:, 1:] == srt[:, :-1]).any(axis=1))[0][0])
            _fail(case, f"query {q} lists a training row twice: {idx[q].tolist()}")

        def truth():
            ans = case.answer[1]
            dist = np.sort(_pair_distances(Q, T, ans, metric), axis=1)
            q64, t64 = Q.astype(np.float64), T.astype(np.float64)
            if metric == "l2":
                scale = (q64 * q64).sum(1) + (t64 * t64).sum(1).max()
                tol = 2 * Q.shape[1] * U32 * scale
            else:
                scale = np.abs(q64).sum(1) + np.abs(t64).sum(1).max()
                tol = Q.shape[1] * U32 * scale
            return dist, tol
        want, tol = _cached(case, "truth", truth)
        got = np.sort(_pair_distances(Q, T, idx.astype(np.int64), metric), axis=1)
        bad = np.abs(got - want) > tol[:, None]
        if bad.any():
            q = int(np.nonzero(bad.any(axis=1))[0][0])
            _fail(case, f"{int(bad.any(axis=1).sum())} of {Q.shape[0]} queries have other neighbours than "
                        f"imgclf's beyond float32 rounding; query {q}: exact {'squared ' if metric == 'l2' else ''}"
                        f"distances {got[q].tolist()} against {want[q].tolist()} (tolerance {tol[q]:.3g})")


# ---- pairwise distances -------------------------------------------------------------------------

class Pairwise(_Spec):
    family = "pairwise"

    def make(self, case):
        p = case.params
        X, _ = images(p["n"] + p["m"], p["shape"], seed=p["seed"])
        X = X.astype(p["dtype"], copy=False)
        return {"X": np.ascontiguousarray(X[:p["n"]]), "Y": np.ascontiguousarray(X[p["n"]:]),
                "metric": p["metric"]}

    def impl(self, case):
        from imgclf import ops

        def imgclf_pairwise(X, Y, metric):
            return ops.pairwise_distances(X, Y, metric)
        return imgclf_pairwise

    def check(self, case, result):
        inp = case.inputs
        X, Y, metric = inp["X"], inp["Y"], inp["metric"]
        D = _array(case, result, "distances", (X.shape[0], Y.shape[0])).astype(np.float64)

        def truth():
            A = np.asarray(case.answer, dtype=np.float64)
            x64, y64 = X.astype(np.float64), Y.astype(np.float64)
            d = X.shape[1]
            if metric == "l2":  # compare squared distances; bound both float32 computations
                tol = 4 * d * U32 * ((x64 * x64).sum(1)[:, None] + (y64 * y64).sum(1)[None, :])
                return A * A, tol
            tol = 2 * d * U32 * (np.abs(x64).sum(1)[:, None] + np.abs(y64).sum(1)[None, :])
            return A, tol
        want, tol = _cached(case, "truth", truth)
        got = D * D if metric == "l2" else D
        bad = np.abs(got - want) > tol
        if bad.any():
            i, j = (int(v[0]) for v in np.nonzero(bad))
            _fail(case, f"{int(bad.sum())} distances differ from imgclf's beyond float32 rounding; "
                        f"[{i}, {j}]: {D[i, j]!r} against {float(np.sqrt(want[i, j]) if metric == 'l2' else want[i, j])!r}")


# ---- vote ---------------------------------------------------------------------------------------

class Vote(_Spec):
    family = "vote"

    def make(self, case):
        p = case.params
        rng = np.random.default_rng(p["seed"])
        n, k, C = p["n"], p["k"], p["n_classes"]
        L = rng.integers(0, C, size=(n, k)).astype(np.int64)
        D = np.sort(rng.random((n, k)) + 1e-3, axis=1)  # positive: no exact matches
        return {"neighbor_labels": L, "n_classes": C, "distances": D, "weights": p["weights"]}

    def impl(self, case):
        from imgclf import ops

        def imgclf_vote(neighbor_labels, n_classes, distances, weights):
            return ops.vote(neighbor_labels, n_classes, distances, weights, tie_break="smallest")
        return imgclf_vote

    def check(self, case, result):
        inp = case.inputs
        n, C = inp["neighbor_labels"].shape[0], inp["n_classes"]
        labels = result[0] if isinstance(result, tuple) else result
        labels = _array(case, labels, "labels", (n,), kind="i")
        if labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() >= C:
            _fail(case, f"labels must be integers in [0, {C})")
        ans_labels, ans_scores = case.answer
        bad = labels != ans_labels
        if inp["weights"] == "distance":
            # sums of 1/d in another order may round differently: a class whose score is
            # within rounding of the winner's may win instead (uniform counts are exact,
            # so there the smallest tied label must win)
            r = np.arange(n)
            close = np.abs(ans_scores[r, labels] - ans_scores[r, ans_labels]) <= 1e-12 * ans_scores[r, ans_labels]
            bad &= ~close
        if bad.any():
            i = int(np.nonzero(bad)[0][0])
            _fail(case, f"{int(bad.sum())} of {n} labels differ from imgclf's (ties go to the smallest label); "
                        f"row {i}: {labels[i]} against {ans_labels[i]}, scores {ans_scores[i].tolist()}")
        if isinstance(result, tuple) and len(result) > 1 and result[1] is not None:
            _close_norm(case, "scores", result[1], ans_scores, 1e-9)


# ---- softmax / SVM loss ---------------------------------------------------------------------------

class Loss(_Spec):
    family = "loss"

    def make(self, case):
        p = case.params
        rng = np.random.default_rng(p["seed"])
        S = (rng.standard_normal((p["n"], p["n_classes"])) * 2).astype(p["dtype"])
        y = rng.integers(0, p["n_classes"], p["n"]).astype(np.int64)
        return {"scores": S, "y": y, "loss": p["loss"]}

    def impl(self, case):
        from imgclf import ops

        def imgclf_loss(scores, y, loss):
            return ops.softmax_loss(scores, y) if loss == "softmax" else ops.svm_loss(scores, y)
        return imgclf_loss

    def check(self, case, result):
        if not (isinstance(result, tuple) and len(result) == 2):
            _fail(case, "the result must be (loss, dscores)")
        loss, ds = case.answer
        _close_scalar(case, "loss", result[0], loss, 1e-5)
        _close_norm(case, "dscores", result[1], ds, 1e-5)


# ---- the fused linear minibatch -------------------------------------------------------------------

class LinearLoss(_Spec):
    family = "linear_loss"

    def make(self, case):
        p = case.params
        X, y_all = images(p["n_train"], p["shape"], seed=p["seed"])
        rng = np.random.default_rng(p["seed"] + 1)
        rows = rng.choice(p["n_train"], p["batch"], replace=False).astype(np.int64)
        d, C = X.shape[1], 10
        return {"X": X, "y": y_all[rows], "W": (0.05 * rng.standard_normal((d, C))).astype(np.float32),
                "b": (0.1 * rng.standard_normal(C)).astype(np.float32), "loss": p["loss"], "rows": rows,
                "scale": 1.0 / 255.0, "shift": (X.mean(axis=0) / 255.0).astype(np.float32), "reg": p["reg"]}

    def impl(self, case):
        from imgclf import ops

        def imgclf_linear_loss(X, y, W, b, loss, rows, scale, shift, reg):
            return ops.linear_loss(X, y, W, b, loss, rows=rows, scale=scale, shift=shift, reg=reg)
        return imgclf_linear_loss

    def check(self, case, result):
        if not (isinstance(result, tuple) and len(result) == 3):
            _fail(case, "the result must be (loss, dW, db)")
        loss, dW, db = case.answer
        _close_scalar(case, "loss", result[0], loss, 1e-5)
        _close_norm(case, "dW", result[1], dW, 1e-4)
        _close_norm(case, "db", result[2], db, 1e-4)


# ---- optimizer steps ------------------------------------------------------------------------------

OPTIM_STATES = {"sgd": 0, "momentum": 1, "nesterov": 1, "adagrad": 1, "rmsprop": 1, "adam": 2}
OPTIM_HYPER = {
    "sgd": {"lr": 1e-2},
    "momentum": {"lr": 1e-2, "rho": 0.9},
    "nesterov": {"lr": 1e-2, "rho": 0.9},
    "adagrad": {"lr": 1e-2, "eps": 1e-8},
    "rmsprop": {"lr": 1e-3, "decay": 0.99, "eps": 1e-8},
    "adam": {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "step": 10},
}


class Optim(_Spec):
    family = "optim"

    def make(self, case):
        p = case.params
        rng = np.random.default_rng(p["seed"])
        params = [rng.standard_normal(s, dtype=np.float32) * 0.05 for s in p["shapes"]]
        grads = [rng.standard_normal(s, dtype=np.float32) * 0.01 for s in p["shapes"]]
        kind = p["kind"]
        states = []
        for j in range(OPTIM_STATES[kind]):
            if kind in ("momentum", "nesterov") or (kind == "adam" and j == 0):
                states.append([rng.standard_normal(s, dtype=np.float32) * 1e-3 for s in p["shapes"]])
            else:  # squared-gradient caches are >= 0
                states.append([rng.random(s, dtype=np.float32) * 1e-4 for s in p["shapes"]])
        return {"params": params, "grads": grads, "states": states, "hyper": dict(OPTIM_HYPER[kind])}

    def bind(self, case, fn):
        inp = case.inputs
        params = [a.copy() for a in inp["params"]]
        states = [[a.copy() for a in col] for col in inp["states"]]
        grads, hyper = inp["grads"], dict(inp["hyper"])
        first = hyper.get("step")

        def run():
            fn(params, grads, states, **hyper)
            if first is not None:
                hyper["step"] += 1
            return params, states
        return run

    def impl(self, case):
        from imgclf import ops

        kind = case.params["kind"]

        def imgclf_step(params, grads, states, **h):
            if kind == "sgd":
                ops.sgd_step(params, grads, lr=h["lr"])
            elif kind == "momentum":
                ops.momentum_step(params, grads, states[0], lr=h["lr"], rho=h["rho"])
            elif kind == "nesterov":
                ops.nesterov_step(params, grads, states[0], lr=h["lr"], rho=h["rho"])
            elif kind == "adagrad":
                ops.adagrad_step(params, grads, states[0], lr=h["lr"], eps=h["eps"])
            elif kind == "rmsprop":
                ops.rmsprop_step(params, grads, states[0], lr=h["lr"], decay=h["decay"], eps=h["eps"])
            else:
                ops.adam_step(params, grads, states[0], states[1], step=h["step"], lr=h["lr"],
                              beta1=h["beta1"], beta2=h["beta2"], eps=h["eps"])
        return imgclf_step

    def check(self, case, result):
        """The result of one step from the case's starting state: (params, states), where
        states may also be a callable returning them."""
        if not (isinstance(result, tuple) and len(result) == 2):
            _fail(case, "the result must be (params, states) after one step")
        got_p, got_s = result
        if callable(got_s):  # states kept in another form, converted only when checked
            got_s = got_s()
        inp = case.inputs
        ans_p, ans_s = case.answer
        for i, p0 in enumerate(inp["params"]):  # compare the updates, not the parameters
            _close_norm(case, f"the update of params[{i}]", np.asarray(got_p[i], np.float64) - p0,
                        np.asarray(ans_p[i], np.float64) - p0, 1e-4)
        for j, col in enumerate(ans_s):
            for i, s in enumerate(col):
                _close_norm(case, f"states[{j}][{i}]", got_s[j][i], s, 1e-5)


# ---- gemm -----------------------------------------------------------------------------------------

class Gemm(_Spec):
    family = "gemm"

    def make(self, case):
        p = case.params
        rng = np.random.default_rng(p["seed"])
        M, K, N = p["m"], p["k"], p["n"]
        A = rng.standard_normal((K, M) if p["trans_a"] else (M, K), dtype=np.float32)
        B = rng.standard_normal((N, K) if p["trans_b"] else (K, N), dtype=np.float32)
        return {"A": A, "B": B, "trans_a": p["trans_a"], "trans_b": p["trans_b"]}

    def impl(self, case):
        from imgclf import ops

        def imgclf_gemm(A, B, trans_a, trans_b):
            return ops.gemm(A, B, trans_a=trans_a, trans_b=trans_b)
        return imgclf_gemm

    def check(self, case, result):
        inp = case.inputs
        p = case.params
        C = _array(case, result, "the product", (p["m"], p["n"])).astype(np.float64)

        def bound():
            A = np.abs(inp["A"].astype(np.float64))
            B = np.abs(inp["B"].astype(np.float64))
            mag = (A.T if p["trans_a"] else A) @ (B.T if p["trans_b"] else B)
            return np.asarray(case.answer, np.float64), 2 * p["k"] * U32 * mag
        want, tol = _cached(case, "bound", bound)
        bad = np.abs(C - want) > tol
        if bad.any():
            i, j = (int(v[0]) for v in np.nonzero(bad))
            _fail(case, f"{int(bad.sum())} entries differ from imgclf's beyond float32 rounding; "
                        f"[{i}, {j}]: {C[i, j]!r} against {want[i, j]!r}")


# ---- one epoch of training --------------------------------------------------------------------------

class _Affine:
    """x = scale * X[rows] - shift, the input transform of imgclf's trained models."""

    def __init__(self, scale, shift):
        self.scale, self.shift = scale, shift

    def __call__(self, X, dtype, rows=None, out=None):
        from imgclf import ops

        return ops.affine_rows(X, rows, self.scale, self.shift, dtype=dtype, out=out)


class Epoch(_Spec):
    family = "epoch"

    def make(self, case):
        p = case.params
        X, y = images(p["n"], p["shape"], seed=p["seed"])
        rng = np.random.default_rng(p["seed"] + 1)
        d, C, H = X.shape[1], 10, p.get("hidden")
        if p["model"] == "net":
            params = {"W1": (rng.standard_normal((d, H)) * np.sqrt(2.0 / d)).astype(np.float32),
                      "b1": np.zeros(H, np.float32),
                      "W2": (rng.standard_normal((H, C)) * np.sqrt(2.0 / H)).astype(np.float32),
                      "b2": np.zeros(C, np.float32)}
        else:
            params = {"W": (1e-3 * rng.standard_normal((d, C))).astype(np.float32), "b": np.zeros(C, np.float32)}
        return {"X": X, "y": y, "params": params, "order": rng.permutation(p["n"]).astype(np.int64),
                "model": p["model"], "batch_size": p["batch_size"], "lr": p["lr"], "reg": p["reg"],
                "scale": 1.0 / 255.0, "shift": (X.mean(axis=0) / 255.0).astype(np.float32)}

    def bind(self, case, fn):
        inp = dict(case.inputs)
        start = inp.pop("params")
        X, y, order = inp.pop("X"), inp.pop("y"), inp.pop("order")

        def run():  # every call trains one epoch from the same starting parameters
            params = {k: v.copy() for k, v in start.items()}
            losses = fn(X, y, params, order, **inp)
            return np.asarray(losses, dtype=np.float64), params
        return run

    def impl(self, case):
        import imgclf
        from imgclf import ops
        from imgclf.network import NetModel

        nets = {}

        def imgclf_epoch(X, y, params, order, *, model, batch_size, lr, reg, scale, shift):
            losses = []
            if model != "net":
                W, b = params["W"], params["b"]
                for s in range(0, len(order), batch_size):
                    idx = order[s:s + batch_size]
                    loss, dW, db = ops.linear_loss(X, y[idx], W, b, model, rows=idx, scale=scale, shift=shift,
                                                   reg=reg)
                    ops.sgd_step([W, b], [dW, db], lr=lr)
                    losses.append(loss)
                return losses
            key = (X.shape[1], params["W1"].shape[1], params["W2"].shape[1], reg, scale, id(shift))
            net = nets.get(key)
            if net is None:  # (built once: its scratch buffers are reused from call to call)
                net = nets[key] = NetModel(key[0], key[1], key[2], reg=reg, rng=0, preprocess=_Affine(scale, shift))
            net.params = params
            opt = imgclf.optim.Adam(lr)
            for s in range(0, len(order), batch_size):
                idx = order[s:s + batch_size]
                loss, g = net.loss(X, y[idx], rows=idx)
                opt.step(net.params, g)
                losses.append(loss)
            return losses
        return imgclf_epoch

    def check(self, case, result):
        if not (isinstance(result, tuple) and len(result) == 2):
            _fail(case, "the result must be (losses, params)")
        losses, params = result
        ans_losses, ans_params = case.answer
        losses = _array(case, losses, "losses", ans_losses.shape)
        rel = np.abs(losses - ans_losses) / np.maximum(1.0, np.abs(ans_losses))
        if (rel > 1e-3).any():
            i = int(np.argmax(rel))
            _fail(case, f"minibatch {i}: loss {losses[i]!r} against imgclf's {ans_losses[i]!r}")
        start = case.inputs["params"]
        tol = 2e-2 if case.params["model"] == "net" else 1e-3
        for k, p0 in start.items():
            if k not in params:
                _fail(case, f"params has no {k!r}")
            _close_norm(case, f"the epoch's change of {k}", np.asarray(params[k], np.float64) - p0,
                        np.asarray(ans_params[k], np.float64) - p0, tol)


# ---- estimators on digits ---------------------------------------------------------------------------

class Estimator(_Spec):
    family = "estimator"

    def make(self, case):
        from imgclf.datasets import load

        ds = load("digits")
        n_tr, n_te = len(ds.X_train), len(ds.X_test)
        return {"X_train": ds.X_train.reshape(n_tr, -1), "y_train": ds.y_train,
                "X_test": ds.X_test.reshape(n_te, -1)}

    def impl(self, case):
        import imgclf

        model = case.params["model"]

        def imgclf_fit_predict(X_train, y_train, X_test):
            if model == "knn":
                est = imgclf.KNearestNeighbor(k=5, metric="l2", tie_break="smallest")
            elif model == "softmax":
                est = imgclf.SoftmaxClassifier(random_state=0, progress=False)
            elif model == "svm":
                est = imgclf.LinearSVM(random_state=0, progress=False)
            else:
                est = imgclf.TwoLayerNet(hidden=case.params["hidden"], random_state=0, progress=False)
            return est.fit(X_train, y_train).predict(X_test)
        return imgclf_fit_predict

    def _y_test(self):
        from imgclf.datasets import load

        return load("digits").y_test

    def check(self, case, result):
        y_test = _cached(case, "y_test", self._y_test)
        pred = _array(case, result, "predictions", y_test.shape, kind="i")
        ans = case.answer
        acc, ans_acc = float((pred == y_test).mean()), float((ans == y_test).mean())
        if case.params["model"] == "knn":  # the same search: the same labels but for distance ties
            agree = float((pred == ans).mean())
            if agree < 0.98:
                _fail(case, f"only {agree:.3f} of the predictions agree with imgclf's")
        slack = case.params["slack"]
        if acc < ans_acc - slack:
            _fail(case, f"test accuracy {acc:.4f} against imgclf's {ans_acc:.4f} (at most {slack} lower)")


SPECS = {s.family: s for s in (KNN(), Pairwise(), Vote(), Loss(), LinearLoss(), Optim(), Gemm(), Epoch(),
                               Estimator())}


# ---- the shipped cases -------------------------------------------------------------------------------

def _shape_tag(shape):
    return "fmnist" if shape.startswith("fashion") else "cifar"


def _knn_cases():
    out = []
    # (queries for L2, queries for L1, training rows): the L1 peers are slow, so the full
    # L1 cases take fewer queries
    sizes = {"quick": {"fashion-mnist-like": (200, 100, 5000), "cifar-like": (100, 50, 2000)},
             "full": {"fashion-mnist-like": (1000, 200, 60000), "cifar-like": (500, 100, 50000)}}
    for size, shapes in sizes.items():
        for shape, (nq2, nq1, nt) in shapes.items():
            d = int(np.prod(SHAPES[shape]))
            for metric in ("l2", "l1"):
                nq = nq2 if metric == "l2" else nq1
                for dtype in ("float32", "uint8"):
                    name = f"{metric} {dtype} {shape} ({nq}x{nt}x{d}, k=5)"
                    out.append(Case(SPECS["knn"], name, size,
                                    dict(nq=nq, nt=nt, shape=shape, metric=metric, dtype=dtype, k=5, seed=1,
                                         id=[metric, dtype, _shape_tag(shape), size]),
                                    rounds=3))
    return out


def _pairwise_cases():
    out = []
    for size, (n, m), dtypes in (("quick", (250, 2000), ("float32",)), ("full", (2000, 10000), ("float32", "uint8"))):
        shape = "fashion-mnist-like"
        for metric in ("l2", "l1"):
            for dtype in dtypes:
                name = f"{metric} {dtype} {shape} ({n}x{m}x784)"
                out.append(Case(SPECS["pairwise"], name, size,
                                dict(n=n, m=m, shape=shape, metric=metric, dtype=dtype, seed=2,
                                     id=[metric, dtype, size]), rounds=3))
    return out


def _vote_cases():
    out = []
    for size, (n, k, C) in (("quick", (100000, 10, 10)), ("full", (200000, 50, 100))):
        for weights in ("uniform", "distance"):
            out.append(Case(SPECS["vote"], f"{weights} ({n}x{k}, {C} classes)", size,
                            dict(n=n, k=k, n_classes=C, weights=weights, seed=3, id=[weights, size])))
    return out


def _loss_cases():
    out = []
    for size, (n, C) in (("quick", (256, 10)), ("full", (16384, 100))):
        for loss in ("softmax", "svm"):
            out.append(Case(SPECS["loss"], f"{loss} float32 ({n}x{C})", size,
                            dict(n=n, n_classes=C, loss=loss, dtype="float32", seed=4, id=[loss, size])))
    return out


def _linear_loss_cases():
    out = []
    for size, n_train in (("quick", 10000), ("full", 60000)):
        for loss in ("softmax", "svm"):
            out.append(Case(SPECS["linear_loss"], f"{loss} uint8 minibatch 256 of {n_train}x784, 10 classes", size,
                            dict(n_train=n_train, batch=256, shape="fashion-mnist-like", loss=loss, reg=1e-3,
                                 seed=5, id=[loss, size])))
    return out


def _optim_cases():
    out = []
    net = [(784, 256), (256,), (256, 10), (10,)]
    for size, shapes, what in (("quick", net, "784-256-10 net, 4 tensors"),
                               ("full", [(10_000_000,)], "10M float32")):
        n = sum(int(np.prod(s)) for s in shapes)
        for kind in OPTIM_STATES:
            out.append(Case(SPECS["optim"], f"{kind} step ({what}, {n} params)", size,
                            dict(kind=kind, shapes=shapes, seed=6, id=[kind, size])))
    return out


def _gemm_cases():
    out = []
    shapes = {"quick": [(256, 784, 256, False, False, "x @ W1"), (784, 256, 256, True, False, "x.T @ dh")],
              "full": [(1024, 1024, 1024, False, False, "square"), (4096, 784, 256, False, False, "x @ W1, batch 4096")]}
    for size, lst in shapes.items():
        for m, k, n, ta, tb, what in lst:
            out.append(Case(SPECS["gemm"], f"float32 {m}x{k} @ {k}x{n} ({what})", size,
                            dict(m=m, k=k, n=n, trans_a=ta, trans_b=tb, seed=7,
                                 id=[f"{m}x{k}x{n}" + ("T" if ta else ""), size])))
    return out


def _epoch_cases():
    out = []
    for size, n in (("quick", 5000), ("full", 60000)):
        for model, lr, reg in (("softmax", 1e-3, 1e-4), ("svm", 1e-3, 1e-4), ("net", 1e-3, 1e-4)):
            what = "784-256-10 net, Adam" if model == "net" else f"{model}, SGD"
            out.append(Case(SPECS["epoch"], f"{what} ({n}x784 uint8, batch 256)", size,
                            dict(n=n, shape="fashion-mnist-like", model=model, hidden=256, batch_size=256,
                                 lr=lr, reg=reg, seed=8, id=[model, size]),
                            rounds=3 if size == "full" or model == "net" else None))
    return out


def _estimator_cases():
    return [Case(SPECS["estimator"], f"{what} fit+predict (digits)", "quick",
                 dict(model=model, hidden=256, slack=slack, id=[model]), rounds=3 if model == "net" else None)
            for model, what, slack in (("knn", "KNearestNeighbor k=5", 0.01), ("softmax", "SoftmaxClassifier", 0.03),
                                       ("svm", "LinearSVM", 0.03), ("net", "TwoLayerNet 256", 0.03))]


ALL = (_knn_cases() + _pairwise_cases() + _vote_cases() + _loss_cases() + _linear_loss_cases() + _optim_cases()
       + _gemm_cases() + _epoch_cases() + _estimator_cases())
