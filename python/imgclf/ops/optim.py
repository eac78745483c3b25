"""The optim family: optimizer steps, in place, on one array or on lists of arrays (the
multi-tensor form: one call updates every parameter of a model).

Layers: this module -> imgclf._cpu.optim_step (csrc/bindings/cpu/optim.cpp) ->
csrc/cpu/optim_impl.h; imgclf._cuda.optim_step (csrc/cuda/optim.cu) for CuPy arrays; the
spec is imgclf._reference.sgd_step ... adam_step.
"""
from __future__ import annotations

import numpy as np

from .. import _gpu, _reference
from .. import backend as _backend
from .._validation import FLOATS, check_int, check_real
from .dispatch import Op, Params, enum

__all__ = ["sgd_step", "momentum_step", "nesterov_step", "adagrad_step", "rmsprop_step", "adam_step"]

OPTIM_STEP = Op("optim_step")

# the state arrays of each kind, by the names its public function gives them
STATE_NAMES = {"sgd": (), "momentum": ("velocity",), "nesterov": ("velocity",),
               "adagrad": ("cache",), "rmsprop": ("cache",), "adam": ("m", "v")}


def _kernel_lists(params, grads, sts):
    """Every array is a C-contiguous NumPy array of one float dtype (what one kernel call
    takes); the binding checks the rest (shapes, writeability, overlap) before writing."""
    arrays = params + grads + [a for st in sts for a in st]
    dt = params[0].dtype if params and type(params[0]) is np.ndarray else None
    return dt in FLOATS and all(type(a) is np.ndarray and a.dtype == dt and a.flags.c_contiguous for a in arrays)


@OPTIM_STEP.register("cpu", usable=lambda kind, params, grads, sts, names, multi, h: _kernel_lists(params, grads, sts))
def _step_cpu(kind, params, grads, sts, names, multi, h):
    cpu = _backend.cpu_module()
    try:
        cpu.optim_step(enum(cpu, "OptimKind", kind), params, grads, sts[0] if sts else None,
                       sts[1] if len(sts) > 1 else None, **h)
    except (TypeError, ValueError):
        # the binding refused before writing anything: say what, naming the argument
        _check_arrays(params, grads, sts, names, multi)
        raise


@OPTIM_STEP.register("cuda")
def _step_cuda(kind, params, grads, sts, names, multi, h):
    _check_arrays(params, grads, sts, names, multi, xp=_gpu.cupy())
    _gpu.optim_step(kind, params, grads, sts, h)


@OPTIM_STEP.register("numpy")
def _step_reference(kind, params, grads, sts, names, multi, h):
    _check_arrays(params, grads, sts, names, multi)
    for i, p in enumerate(params):
        _reference.optim_step(kind, p, grads[i], [st[i] for st in sts], **h)


def _check_arrays(params, grads, sts, names, multi, xp=np):
    """Every array of one step, checked before any is written: types, dtypes, shapes,
    writeability, and no array written by the step sharing memory with another."""
    if len(grads) != len(params):
        raise ValueError(f"grad holds {len(grads)} arrays but param holds {len(params)}")
    for st, nm in zip(sts, names):
        if len(st) != len(params):
            raise ValueError(f"{nm} holds {len(st)} arrays but param holds {len(params)}")
    kind = "a NumPy" if xp is np else "a CuPy"
    arrays = []  # (name, array, written)
    for i, p in enumerate(params):
        where = f"[{i}]" if multi else ""
        if not isinstance(p, xp.ndarray):
            raise TypeError(f"param{where} must be {kind} array (updated in place), got {type(p).__name__}")
        if p.dtype not in FLOATS:
            raise TypeError(f"param{where} must be float32 or float64, got {p.dtype}")
        for name, a, written in [("param", p, True), ("grad", grads[i], False)] + [
                (nm, st[i], True) for st, nm in zip(sts, names)]:
            if not isinstance(a, xp.ndarray) or a.shape != p.shape or a.dtype != p.dtype:
                got = f"{a.shape} {a.dtype}" if isinstance(a, xp.ndarray) else type(a).__name__
                raise ValueError(f"{name}{where} must be an array with param{where}'s shape {p.shape} "
                                 f"and dtype {p.dtype}, got {got}")
            if written and xp is np and not a.flags.writeable:
                raise ValueError(f"{name}{where} is read-only (it is updated in place)")
            arrays.append((f"{name}{where}", a, written))
    for x in range(len(arrays)):
        for y in range(x + 1, len(arrays)):
            (na, a, wa), (nb, b, wb) = arrays[x], arrays[y]
            if (wa or wb) and a.size and b.size and xp.shares_memory(a, b):
                raise ValueError(f"{na} and {nb} share memory: each array of a step must be "
                                 "its own (pass copies)")


def _step(kind, param, grad, states, backend, **h):
    """One update of (param, grad, state...) arrays or lists of arrays; nothing is written
    unless every array passes its checks.  ``h``: checked hyperparameters (kernel_hyper)."""
    names = STATE_NAMES[kind]
    multi = isinstance(param, (list, tuple))

    def as_list(a, name):
        if isinstance(a, (list, tuple)) != multi:
            form = "a list of arrays, one per param," if multi else "an array like param"
            raise TypeError(f"{name} must be {form} (got {type(a).__name__})")
        return list(a) if multi else [a]

    params = as_list(param, "param")
    grads = as_list(grad, "grad")
    sts = [as_list(st, nm) for st, nm in zip(states, names)]
    if not params:
        return
    OPTIM_STEP.run(backend, params[0], kind, params, grads, sts, names, multi, h)


def _unit(x, name):
    x = check_real(x, name)
    if not 0.0 <= x < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {x}")
    return x


# the keyword arguments of each public step function (its hyperparameters, step aside)
HYPER = {"sgd": ("lr",), "momentum": ("lr", "rho"), "nesterov": ("lr", "rho"), "adagrad": ("lr", "eps"),
         "rmsprop": ("lr", "decay", "eps"), "adam": ("lr", "beta1", "beta2", "eps", "weight_decay")}


def kernel_hyper(kind: str, hyper: dict) -> dict:
    """The hyperparameters of ``kind``'s public step function (``hyper``: its keyword
    arguments, e.g. {"lr": 0.1, "rho": 0.9} for momentum_step), checked and named as the
    kernels take them."""
    if kind not in HYPER:
        raise ValueError(f"optimizer must be one of {tuple(HYPER)}, got {kind!r}")
    unknown = set(hyper) - set(HYPER[kind])
    if unknown:
        raise TypeError(f"{kind} takes {', '.join(HYPER[kind])}, not {', '.join(sorted(unknown))}")
    if "lr" not in hyper:
        raise TypeError(f"{kind} needs lr")
    out = {"lr": hyper["lr"]}
    if kind in ("momentum", "nesterov"):
        out["momentum"] = _unit(hyper.get("rho", 0.9), "rho")
    if kind == "rmsprop":
        out["decay"] = _unit(hyper.get("decay", 0.99), "decay")
    if kind in ("adagrad", "rmsprop", "adam"):
        out["eps"] = hyper.get("eps", 1e-8)
    if kind == "adam":
        out["beta1"] = _unit(hyper.get("beta1", 0.9), "beta1")
        out["beta2"] = _unit(hyper.get("beta2", 0.999), "beta2")
        out["weight_decay"] = check_real(hyper.get("weight_decay", 0.0), "weight_decay", low=0.0)
    out["lr"] = check_real(out["lr"], "lr", low=0.0)
    if "eps" in out:
        out["eps"] = check_real(out["eps"], "eps", low=0.0)
    return out


@_gpu.accepts_torch
def sgd_step(param: Params, grad: Params, *, lr: float, backend: str = "auto") -> None:
    """In place: param -= lr * grad.  Every argument may be one array or a list of arrays
    (the multi-tensor form: one call updates every parameter of a model)."""
    _step("sgd", param, grad, [], backend, **kernel_hyper("sgd", {"lr": lr}))


@_gpu.accepts_torch
def momentum_step(param: Params, grad: Params, velocity: Params, *, lr: float, rho: float = 0.9,
                  backend: str = "auto") -> None:
    """In place: velocity = rho * velocity - lr * grad; param += velocity."""
    _step("momentum", param, grad, [velocity], backend, **kernel_hyper("momentum", {"lr": lr, "rho": rho}))


@_gpu.accepts_torch
def nesterov_step(param: Params, grad: Params, velocity: Params, *, lr: float, rho: float = 0.9,
                  backend: str = "auto") -> None:
    """In place, Nesterov momentum in its change-of-variables form:
    v_old = velocity; velocity = rho * velocity - lr * grad;
    param += -rho * v_old + (1 + rho) * velocity."""
    _step("nesterov", param, grad, [velocity], backend, **kernel_hyper("nesterov", {"lr": lr, "rho": rho}))


@_gpu.accepts_torch
def adagrad_step(param: Params, grad: Params, cache: Params, *, lr: float, eps: float = 1e-8,
                 backend: str = "auto") -> None:
    """In place: cache += grad**2; param -= lr * grad / (sqrt(cache) + eps)."""
    _step("adagrad", param, grad, [cache], backend, **kernel_hyper("adagrad", {"lr": lr, "eps": eps}))


@_gpu.accepts_torch
def rmsprop_step(param: Params, grad: Params, cache: Params, *, lr: float, decay: float = 0.99, eps: float = 1e-8,
                 backend: str = "auto") -> None:
    """In place: cache = decay * cache + (1 - decay) * grad**2;
    param -= lr * grad / (sqrt(cache) + eps)."""
    _step("rmsprop", param, grad, [cache], backend,
          **kernel_hyper("rmsprop", {"lr": lr, "decay": decay, "eps": eps}))


@_gpu.accepts_torch
def adam_step(param: Params, grad: Params, m: Params, v: Params, *, step: int, lr: float = 1e-3,
              beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0,
              backend: str = "auto") -> None:
    """In place Adam with bias correction and decoupled weight decay (AdamW):
    param *= 1 - lr * weight_decay; m = beta1 m + (1 - beta1) grad;
    v = beta2 v + (1 - beta2) grad**2;
    param -= lr * (m / (1 - beta1**step)) / (sqrt(v / (1 - beta2**step)) + eps).
    ``step`` counts updates from 1 (the first call passes step=1)."""
    step = check_int(step, "step", low=1)
    _step("adam", param, grad, [m, v], backend, step=step,
          **kernel_hyper("adam", {"lr": lr, "beta1": beta1, "beta2": beta2, "eps": eps,
                                  "weight_decay": weight_decay}))
