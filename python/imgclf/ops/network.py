"""The network family: the loss and gradients of a fully connected network on one
minibatch, every layer in one call (network_loss); training steps on consecutive
minibatches, each its loss and one optimizer step, in one call (network_train).

Layers: this module -> imgclf._cpu.network_loss (csrc/bindings/cpu/network.cpp) ->
csrc/cpu/network_impl.h, which composes the dense, loss and regularize kernels of one SIMD
level without returning to Python between them; the spec ("numpy") and the GPU path
("cuda", on CuPy arrays) are the same composition of the public ops, each running its own
kernel (the products on cuBLAS through CuPy, bias + activation, dropout and the loss on
imgclf's CUDA kernels).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import _gpu
from .. import backend as _backend
from .._validation import (
    FLOATS,
    KERNEL_DTYPES,
    array_module,
    as_matrix,
    check_choice,
    check_int,
    check_real,
    class_labels,
    int_rows,
)
from .dense import ACTIVATIONS, act_backward, affine_rows, bias_act, gemm
from .dispatch import Array, Op, enum
from .loss import LOSSES, PENALTIES, NonFiniteScores, penalty, softmax_loss, svm_loss
from .optim import STATE_NAMES, _step, kernel_hyper
from .regularize import dropout as dropout_op
from .regularize import max_norm as max_norm_op

__all__ = ["network_loss", "network_train"]

NETWORK_LOSS = Op("network_loss")
NETWORK_TRAIN = Op("network_train")


def _buf(ws, name, shape, dtype, xp):
    """Scratch kept in the caller's workspace dict from batch to batch (fresh large arrays
    cost page faults every time); an entry of another shape, dtype or device, or one that
    is not a writeable C-contiguous array, is replaced."""
    a = ws.get(name)
    if (a is None or array_module(a) is not xp or not isinstance(a, xp.ndarray) or a.shape != shape
            or a.dtype != dtype or not a.flags.c_contiguous or (xp is np and not a.flags.writeable)):
        a = ws[name] = xp.empty(shape, dtype)
    return a


def _numpy_arrays(X, y, W, b, rows, h, ws):
    return all(type(a) is np.ndarray for a in [X, y, *W, *b])


def _kernel_args(cpu, X, rows, y, W, b, dW, db, h, ws, n):
    """The arguments network_loss's and network_train's bindings share, in their order:
    the input, the layers, the workspace buffers for batches of n rows, the enums."""
    L, dt = len(W), W[0].dtype
    widths = [W[0].shape[0]] + [w.shape[1] for w in W]
    act = [_buf(ws, f"h{i}", (n, widths[i]), dt, np) for i in range(1, L)]
    dh = [_buf(ws, f"dh{i}", (n, widths[i]), dt, np) for i in range(1, L)]
    drop = [_buf(ws, f"hd{i}", (n, widths[i]), dt, np) for i in range(1, L)] if h["seeds"] is not None else None
    return (X, rows, h["scale"], h["shift"], y, W, b, dW, db, _buf(ws, "x", (n, widths[0]), dt, np), act, drop,
            _buf(ws, "s", (n, widths[-1]), dt, np), _buf(ws, "ds", (n, widths[-1]), dt, np), dh,
            enum(cpu, "Activation", h["activation"]), h["slope"], enum(cpu, "LossKind", h["loss"]), h["margin"],
            enum(cpu, "PenaltyKind", h["penalty"]), h["reg"], h["beta"], h["p"], h["seeds"])


@NETWORK_LOSS.register("cpu", usable=_numpy_arrays)
def _network_loss_cpu(X, y, W, b, rows, h, ws):
    cpu = _backend.cpu_module()
    W = [np.ascontiguousarray(w) for w in W]  # (no copy when they are, as a model's are)
    b = [np.ascontiguousarray(v) for v in b]
    n = X.shape[0] if rows is None else rows.shape[0]
    dW = [np.empty_like(w) for w in W]  # fresh: a caller may keep the gradients
    db = [np.empty_like(v) for v in b]
    value = cpu.network_loss(*_kernel_args(cpu, X, rows, y, W, b, dW, db, h, ws, n))
    return value, dW, db


def _compose(X, y, W, b, rows, h, ws, backend):
    """The network's batch as a sequence of the public ops (each on ``backend``): the spec
    of the fused kernel, and the GPU path (CuPy arrays)."""
    xp = array_module(W[0])
    L, dt = len(W), W[0].dtype
    seeds, act_name, slope = h["seeds"], h["activation"], h["slope"]
    n = X.shape[0] if rows is None else rows.shape[0]
    x = affine_rows(X, rows, h["scale"], h["shift"], dtype=dt, out=_buf(ws, "x", (n, W[0].shape[0]), dt, xp),
                    backend=backend)
    acts, inputs = [], [x]
    for i in range(1, L):
        a = gemm(inputs[-1], W[i - 1], _buf(ws, f"h{i}", (n, W[i - 1].shape[1]), dt, xp), backend=backend)
        bias_act(a, b[i - 1], act_name, slope=slope, backend=backend)
        acts.append(a)
        if seeds is not None:
            hd = _buf(ws, f"hd{i}", a.shape, dt, xp)
            xp.copyto(hd, a)
            dropout_op(hd, h["p"], int(seeds[i - 1]), backend=backend)
            inputs.append(hd)
        else:
            inputs.append(a)
    s = gemm(inputs[-1], W[-1], backend=backend)
    s += b[-1]
    if h["loss"] == "softmax":
        value, ds = softmax_loss(s, y, backend=backend)
    else:
        value, ds = svm_loss(s, y, h["margin"], squared=h["loss"] == "squared_svm", backend=backend)
    dW, db = [None] * L, [None] * L
    dW[-1], db[-1] = gemm(inputs[-1], ds, trans_a=True, backend=backend), ds.sum(axis=0)
    dh = ds
    if L > 1:
        dh = gemm(ds, W[-1], _buf(ws, f"dh{L - 1}", acts[-1].shape, dt, xp), trans_b=True, backend=backend)
    for i in range(L - 1, 0, -1):
        if seeds is not None:  # the same mask on the gradient: dropout's backward pass
            dropout_op(dh, h["p"], int(seeds[i - 1]), backend=backend)
        db[i - 1] = act_backward(dh, acts[i - 1], act_name, slope=slope, backend=backend)
        dW[i - 1] = gemm(inputs[i - 1], dh, trans_a=True, backend=backend)
        if i > 1:
            dh = gemm(dh, W[i - 1], _buf(ws, f"dh{i - 1}", acts[i - 2].shape, dt, xp), trans_b=True,
                      backend=backend)
    if h["reg"]:
        for i in range(L):
            rv, _ = penalty(W[i], h["reg"], h["penalty"], beta=h["beta"], grad=dW[i], backend=backend)
            value = value + rv
    return value, dW, db


@NETWORK_LOSS.register("cuda")
def _network_loss_cuda(X, y, W, b, rows, h, ws):
    return _compose(X, y, W, b, rows, h, ws, "auto")


@NETWORK_LOSS.register("numpy")
def _network_loss_reference(X, y, W, b, rows, h, ws):
    # NumPy: every op on the reference.  CuPy without imgclf._cuda lands here too: its ops
    # then run the reference on CuPy ("numpy" would refuse CuPy arrays)
    return _compose(X, y, W, b, rows, h, ws, "numpy" if array_module(W[0]) is np else "auto")


def _checked(X, y, W, b, rows, scale, shift, activation, slope, loss, margin, reg, penalty, beta, dropout, seeds,
             workspace, batch):
    """network_loss's and network_train's arguments, checked (batch None: network_loss)."""
    if not isinstance(W, (list, tuple)) or not isinstance(b, (list, tuple)) or len(W) < 1 or len(b) != len(W):
        raise ValueError("W and b must be lists of the same length >= 1 (one weight matrix and bias per layer)")
    xp = array_module(W[0])
    W = [xp.asarray(w) for w in W]
    b = [xp.asarray(v) for v in b]
    dt = W[0].dtype
    if dt not in FLOATS:
        raise TypeError(f"W[0] must be float32 or float64, got {dt}")
    for i, w in enumerate(W):
        if w.ndim != 2 or w.dtype != dt:
            raise ValueError(f"W[{i}] must be a 2-D {dt} array")
        if i and w.shape[0] != W[i - 1].shape[1]:
            raise ValueError(f"W[{i}] has {w.shape[0]} rows but W[{i - 1}] has {W[i - 1].shape[1]} columns")
        if b[i].shape != (w.shape[1],) or b[i].dtype != dt:
            raise ValueError(f"b[{i}] must have shape ({w.shape[1]},) and W's dtype {dt}")
    X = as_matrix(X, "X")
    if X.dtype not in KERNEL_DTYPES:
        X = X.astype(np.float64)
    X = array_module(X).ascontiguousarray(X)
    if X.shape[1] != W[0].shape[0]:
        raise ValueError(f"X has {X.shape[1]} features but W[0] has {W[0].shape[0]} rows")
    if rows is not None:
        rows = int_rows(rows, X.shape[0]) if xp is np else xp.asarray(int_rows(_gpu.to_host(rows), X.shape[0]))
    n = X.shape[0] if rows is None else rows.shape[0]
    if n == 0:
        raise ValueError("the minibatch is empty")
    if batch is None:  # network_loss: one label per row of the batch
        y = class_labels(y, n, W[-1].shape[1], xp=xp)
    else:  # network_train: one label per row of X
        y = class_labels(y, X.shape[0], W[-1].shape[1], xp=xp)
        if rows is not None:
            y = y[rows]
    if shift is not None:
        shift = xp.ascontiguousarray(xp.asarray(shift), dtype=dt).reshape(-1)
        if shift.shape[0] != X.shape[1]:
            raise ValueError(f"shift must have {X.shape[1]} values (one per feature)")
    check_choice(activation, "activation", ACTIVATIONS[:-1])  # not "identity": a hidden layer's
    check_choice(loss, "loss", LOSSES)
    check_choice(penalty, "penalty", PENALTIES)
    p = check_real(dropout, "dropout")
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    if p > 0:
        if seeds is None:
            raise ValueError("dropout > 0 needs seeds (one per hidden layer)")
        s = np.asarray(_gpu.to_host(seeds)).reshape(-1)  # host values (CuPy ones copied)
        if s.dtype.kind not in "iu" or (s.dtype.kind == "i" and bool((s < 0).any())):
            raise ValueError("seeds must be non-negative integers below 2**64, one per hidden layer")
        seeds = s.astype(np.uint64)
        count = 1 if batch is None else -(-n // batch)
        if seeds.shape[0] != count * (len(W) - 1):
            what = "one seed per hidden layer" if batch is None else "one row per batch, one column per hidden layer"
            raise ValueError(f"seeds must hold {what} ({count * (len(W) - 1)} in all), got {seeds.shape[0]}")
        if batch is not None:
            seeds = seeds.reshape(count, len(W) - 1)
    else:
        seeds = None
    h = {"scale": check_real(scale, "scale"), "shift": shift, "activation": activation,
         "slope": check_real(slope, "slope"), "loss": loss, "margin": check_real(margin, "margin"),
         "penalty": penalty, "reg": check_real(reg, "reg", low=0.0), "beta": check_real(beta, "beta", low=0.0),
         "p": p, "seeds": seeds}
    ws = {} if workspace is None else workspace
    if not isinstance(ws, dict):
        raise TypeError(f"workspace must be a dict (or None), got {type(ws).__name__}")
    if xp is np:  # inputs that are the workspace's own buffers would be overwritten as they are read
        held = [v for v in ws.values() if isinstance(v, np.ndarray)]
        if any(np.may_share_memory(X, v) for v in held):
            X = X.copy()
        if shift is not None and any(np.may_share_memory(shift, v) for v in held):
            h["shift"] = shift.copy()
    return X, y, W, b, rows, h, ws


@_gpu.accepts_torch
def network_loss(X: Array, y: Array, W: list[Array], b: list[Array], *, rows: Array | None = None,
                 scale: float = 1.0, shift: Array | None = None, activation: str = "relu", slope: float = 0.01,
                 loss: str = "softmax", margin: float = 1.0, reg: float = 0.0, penalty: str = "l2",
                 beta: float = 0.5, dropout: float = 0.0, seeds: Array | None = None,
                 workspace: dict[str, Any] | None = None, backend: str = "auto") -> tuple[float, list, list]:
    """Mean loss (+ ``reg`` times the penalty of every weight matrix) of a fully connected
    network on the minibatch ``x = scale * X[rows] - shift``, and the gradient of every
    weight and bias.  Returns ``(loss, dW, db)`` (lists, one array per layer).

    Layers: W[l] (widths[l], widths[l+1]), b[l] (widths[l+1],), one float dtype; the hidden
    layers (all but the last) are ``act(in W + b)`` with ``activation`` ("relu",
    "leaky_relu" with ``slope``, "tanh", "sigmoid"), followed while training by inverted
    dropout of probability ``dropout`` with the mask of ``seeds[l]`` (one seed per hidden
    layer, :func:`imgclf.ops.dropout`); the last layer gives the class scores for ``loss``
    ("softmax", "svm", "squared_svm"; ``margin``).  ``penalty`` / ``beta``: as
    :func:`imgclf.ops.penalty`.  ``workspace``: a dict the caller keeps between calls, where
    the op keeps its scratch buffers (the layer activations of the last call are there as
    "h1", "h2", ...).  On the compiled CPU backend the whole batch is one kernel call.
    """
    X, y, W, b, rows, h, ws = _checked(X, y, W, b, rows, scale, shift, activation, slope, loss, margin, reg,
                                       penalty, beta, dropout, seeds, workspace, batch=None)
    return NETWORK_LOSS.run(backend, W[0], X, y, W, b, rows, h, ws)


def _interleave(W, b):
    return [a for pair in zip(W, b) for a in pair]


def _train_arrays(X, y, W, b, rows, h, ws, tr):
    arrays = [X, y, rows, *W, *b] + [a for st in tr["states"] for part in st for a in part]
    return all(type(a) is np.ndarray for a in arrays)


@NETWORK_TRAIN.register("cpu", usable=_train_arrays)
def _network_train_cpu(X, y, W, b, rows, h, ws, tr):
    cpu = _backend.cpu_module()
    dt, batch = W[0].dtype, tr["batch"]
    dW = [_buf(ws, f"dW{i}", w.shape, dt, np) for i, w in enumerate(W)]
    db = [_buf(ws, f"db{i}", v.shape, dt, np) for i, v in enumerate(b)]
    states = [_interleave(*st) for st in tr["states"]]
    count = -(-rows.shape[0] // batch)
    losses = np.empty(count)
    done, interrupted = cpu.network_train(
        *_kernel_args(cpu, X, rows, y, W, b, dW, db, h, ws, min(batch, rows.shape[0])), batch,
        enum(cpu, "OptimKind", tr["kind"]), states[0] if states else None, states[1] if len(states) > 1 else None,
        step=tr["step"], max_norm=tr["max_norm"] or 0.0, losses=losses, **tr["hyper"])
    if interrupted:
        exc = KeyboardInterrupt("network_train interrupted")
        exc.losses = losses[:done].copy()
        raise exc
    return losses[:done + (done < count)].copy()  # (a non-finite loss stopped it: that one last)


def _train_compose(X, y, W, b, rows, h, ws, tr, backend):
    """network_train as the public ops, batch after batch: network_loss's composition, then
    the optimizer's step op, then max_norm: the spec of the kernel, and the GPU path."""
    batch, kind, seeds = tr["batch"], tr["kind"], h["seeds"]
    params = _interleave(W, b)
    states = [_interleave(*st) for st in tr["states"]]
    losses, stepped = [], 0
    try:
        for k in range(-(-rows.shape[0] // batch)):
            r = rows[k * batch:(k + 1) * batch]
            try:
                value, dW, db = _compose(X, y[k * batch:(k + 1) * batch], W, b, r,
                                         dict(h, seeds=None if seeds is None else seeds[k]), ws, backend)
            except NonFiniteScores:  # the loss ops refuse them; the kernel's loss is then not finite
                value = float("nan")
            losses.append(float(value))
            if not np.isfinite(losses[-1]):
                break
            extra = {"step": tr["step"] + k} if kind == "adam" else {}
            _step(kind, params, _interleave(dW, db), states, backend, **extra, **tr["hyper"])
            stepped += 1
            if tr["max_norm"]:
                for w in W:
                    max_norm_op(w, tr["max_norm"], backend=backend)
    except KeyboardInterrupt as exc:
        exc.losses = np.array(losses[:stepped])
        raise
    return np.array(losses)


@NETWORK_TRAIN.register("cuda")
def _network_train_cuda(X, y, W, b, rows, h, ws, tr):
    return _train_compose(X, y, W, b, rows, h, ws, tr, "auto")


@NETWORK_TRAIN.register("numpy")
def _network_train_reference(X, y, W, b, rows, h, ws, tr):
    return _train_compose(X, y, W, b, rows, h, ws, tr, "numpy" if array_module(W[0]) is np else "auto")


@_gpu.accepts_torch
def network_train(X: Array, y: Array, W: list[Array], b: list[Array], *, rows: Array | None = None,
                  batch_size: int, optimizer: str = "sgd", hyper: dict[str, float] | None = None,
                  states: list[tuple[list, list]] | None = None, step: int = 1, max_norm: float | None = None,
                  scale: float = 1.0, shift: Array | None = None, activation: str = "relu", slope: float = 0.01,
                  loss: str = "softmax", margin: float = 1.0, reg: float = 0.0, penalty: str = "l2",
                  beta: float = 0.5, dropout: float = 0.0, seeds: Array | None = None,
                  workspace: dict[str, Any] | None = None, backend: str = "auto") -> np.ndarray:
    """Training steps of a fully connected network, in place: the rows ``rows`` of X (None:
    all, in order) in consecutive minibatches of ``batch_size`` (the last one shorter), each
    :func:`network_loss` on its rows and then one step of ``optimizer`` on every W and b
    (then, with ``max_norm``, :func:`imgclf.ops.max_norm` on every W).  ``y``: one label per
    row of X.  Returns the batches' losses (NumPy float64).

    ``optimizer`` is the name of a step op ("sgd", "momentum", "nesterov", "adagrad",
    "rmsprop", "adam") and ``hyper`` its keyword arguments (e.g. {"lr": 1e-3} for adam;
    ``step``: the first batch's step number, counted from 1, which adam's bias correction
    uses).  ``states``: the op's state arrays, one (list for W, list for b) pair per state
    (momentum's velocity; adam's m, then v), updated in place.  ``seeds``: with dropout,
    one row per batch of one seed per hidden layer.  The other arguments are
    :func:`network_loss`'s.  On the compiled CPU backend it is one kernel call, running the
    same kernels as network_loss and the step op would one batch at a time.

    A batch whose loss is not finite stops it before its step: its loss is the last one
    returned.  Ctrl-C stops it and raises KeyboardInterrupt, whose ``losses`` attribute holds
    the losses of the batches stepped (on the compiled CPU backend a batch's loss and step
    are taken whole or not at all).
    """
    batch = check_int(batch_size, "batch_size", low=1)
    kind = optimizer
    h_kernel = kernel_hyper(kind, dict(hyper or {}))
    X, y, W, b, rows, h, ws = _checked(X, y, W, b, rows, scale, shift, activation, slope, loss, margin, reg,
                                       penalty, beta, dropout, seeds, workspace, batch=batch)
    xp = array_module(W[0])
    if rows is None:
        rows = xp.arange(X.shape[0], dtype=np.int64)
    step = check_int(step, "step", low=1)
    if max_norm is not None:
        max_norm = check_real(max_norm, "max_norm")
        if not max_norm > 0:
            raise ValueError(f"max_norm must be > 0 (or None), got {max_norm}")
    names = STATE_NAMES[kind]
    states = list(states or [])
    if len(states) != len(names):
        raise ValueError(f"{kind} needs {len(names)} states ({', '.join(names) or 'none'}), got {len(states)}")
    written = [(f"W[{i}]", w) for i, w in enumerate(W)] + [(f"b[{i}]", v) for i, v in enumerate(b)]
    for nm, st in zip(names, states):
        if not isinstance(st, (list, tuple)) or len(st) != 2 or any(len(part) != len(W) for part in st):
            raise ValueError(f"the {nm} state must be a pair (a list for W, a list for b), one array per layer")
        for part, params, pn in ((st[0], W, "W"), (st[1], b, "b")):
            for i, (a, p) in enumerate(zip(part, params)):
                where = f"{nm} of {pn}[{i}]"
                if not isinstance(a, xp.ndarray) or a.shape != p.shape or a.dtype != p.dtype:
                    raise ValueError(f"the {where} must be an array of {pn}[{i}]'s shape {p.shape} and dtype {p.dtype}")
                if xp is np and not (a.flags.writeable and a.flags.c_contiguous):
                    raise ValueError(f"the {where} must be a writeable C-contiguous array (updated in place)")
                written.append((f"the {where}", a))
    if xp is np:  # every array a step writes must be its own
        for i, w in enumerate(W + b):
            if not w.flags.writeable:
                raise ValueError(f"{written[i][0]} is read-only (it is updated in place)")
        others = [("X", X), ("shift", h["shift"])] + [(k, v) for k, v in ws.items() if isinstance(v, np.ndarray)]
        for i, (na, a) in enumerate(written):
            for nb, c in written[i + 1:] + [o for o in others if o[1] is not None]:
                if np.may_share_memory(a, c):
                    raise ValueError(f"{na} and {nb} share memory: each array a step writes must be its own")
    tr = {"batch": batch, "kind": kind, "hyper": h_kernel, "states": [tuple(st) for st in states],
          "step": step, "max_norm": max_norm}
    return NETWORK_TRAIN.run(backend, W[0], X, y, W, b, rows, h, ws, tr)
