"""Optimizers that hold their state and update a model's parameters in place.

Each ``step(params, grads)`` takes dicts (name -> array) or lists of arrays and updates every
parameter with one fused, multi-tensor call of the corresponding :mod:`imgclf.ops` step.
State (velocity, caches, moments) is created on the first step, one array per parameter.
``lr`` is a plain attribute, so a schedule (or :class:`imgclf.Trainer`) can change it.

:func:`lbfgs` minimizes a full-batch loss with SciPy's L-BFGS-B instead.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import ops
from ._validation import array_module

__all__ = ["Optimizer", "SGD", "AdaGrad", "RMSProp", "Adam", "lbfgs", "make_optimizer", "OPTIMIZERS"]


def _positive(x, name, allow_zero=False):
    x = float(x)
    if not np.isfinite(x) or x < 0 or (x == 0 and not allow_zero):
        raise ValueError(f"{name} must be a finite number {'>=' if allow_zero else '>'} 0, got {x}")
    return x


class Optimizer:
    """Base class: ``step(params, grads)`` updates params in place."""

    n_states = 0

    def __init__(self, lr: float) -> None:
        self.lr = _positive(lr, "lr")
        self.state = {}
        self.steps = 0

    @staticmethod
    def _pairs(params, grads):
        if isinstance(params, dict):
            if not isinstance(grads, dict) or set(grads) != set(params):
                raise ValueError("grads must be a dict with the same keys as params")
            keys = list(params)
            return keys, [params[k] for k in keys], [grads[k] for k in keys]
        params, grads = list(params), list(grads)
        if len(params) != len(grads):
            raise ValueError("params and grads must have the same length")
        return list(range(len(params))), params, grads

    def _states(self, keys, params):
        out = []
        for j in range(self.n_states):
            col = []
            for k, p in zip(keys, params):
                s = self.state.get((k, j))
                if s is None or s.shape != p.shape or s.dtype != p.dtype:
                    s = array_module(p).zeros_like(p, order="C")  # on p's device
                    self.state[(k, j)] = s
                col.append(s)
            out.append(col)
        return out

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        keys, p, g = self._pairs(params, grads)
        self.steps += 1
        self._update(p, g, self._states(keys, p))

    def _as_op(self) -> tuple[str, dict] | None:
        """(name of an imgclf.ops step op, its keyword arguments) when this optimizer's
        update is exactly that op with the state it keeps (so that a model can take many
        steps in one call, :func:`imgclf.ops.network_train`); None otherwise, as for a
        subclass with its own step, update or states."""
        return None

    def _is_plain(self, cls) -> bool:
        """step, _states and _update are those of Optimizer and of ``cls`` (no override)."""
        t = type(self)
        return t.step is Optimizer.step and t._states is Optimizer._states and t._update is cls._update

    def reset(self) -> None:
        """Forget the state (moments, caches) and the step count."""
        self.state.clear()
        self.steps = 0

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if k not in ("state", "steps"))
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum (rho) or Nesterov momentum.

    momentum=0: w -= lr g.  momentum=rho: v = rho v - lr g, w += v.  nesterov=True uses the
    change-of-variables form w += -rho v_old + (1 + rho) v.
    """

    def __init__(self, lr: float = 1e-2, momentum: float = 0.0, nesterov: bool = False) -> None:
        super().__init__(lr)
        self.momentum = float(momentum)
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0")
        self.nesterov = bool(nesterov)
        self.n_states = 1 if self.momentum > 0 else 0

    def _as_op(self):
        if not self._is_plain(SGD):
            return None
        if self.momentum == 0:
            return "sgd", {"lr": self.lr}
        return ("nesterov" if self.nesterov else "momentum"), {"lr": self.lr, "rho": self.momentum}

    def _update(self, p, g, st):
        if self.momentum == 0:
            ops.sgd_step(p, g, lr=self.lr)
        elif self.nesterov:
            ops.nesterov_step(p, g, st[0], lr=self.lr, rho=self.momentum)
        else:
            ops.momentum_step(p, g, st[0], lr=self.lr, rho=self.momentum)


class AdaGrad(Optimizer):
    """cache += g^2; w -= lr g / (sqrt(cache) + eps)."""

    n_states = 1

    def __init__(self, lr: float = 1e-2, eps: float = 1e-8) -> None:
        super().__init__(lr)
        self.eps = _positive(eps, "eps", allow_zero=True)

    def _as_op(self):
        return ("adagrad", {"lr": self.lr, "eps": self.eps}) if self._is_plain(AdaGrad) else None

    def _update(self, p, g, st):
        ops.adagrad_step(p, g, st[0], lr=self.lr, eps=self.eps)


class RMSProp(Optimizer):
    """cache = decay cache + (1 - decay) g^2; w -= lr g / (sqrt(cache) + eps)."""

    n_states = 1

    def __init__(self, lr: float = 1e-3, decay: float = 0.99, eps: float = 1e-8) -> None:
        super().__init__(lr)
        self.decay = float(decay)
        self.eps = _positive(eps, "eps", allow_zero=True)

    def _as_op(self):
        if not self._is_plain(RMSProp):
            return None
        return "rmsprop", {"lr": self.lr, "decay": self.decay, "eps": self.eps}

    def _update(self, p, g, st):
        ops.rmsprop_step(p, g, st[0], lr=self.lr, decay=self.decay, eps=self.eps)


class Adam(Optimizer):
    """Adam with bias correction (steps count from 1) and decoupled weight decay."""

    n_states = 2

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(lr)
        self.beta1, self.beta2 = float(beta1), float(beta2)
        self.eps = _positive(eps, "eps", allow_zero=True)
        self.weight_decay = _positive(weight_decay, "weight_decay", allow_zero=True)

    def _as_op(self):
        if not self._is_plain(Adam):
            return None
        return "adam", {"lr": self.lr, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps,
                        "weight_decay": self.weight_decay}

    def _update(self, p, g, st):
        ops.adam_step(p, g, st[0], st[1], step=self.steps, lr=self.lr, beta1=self.beta1,
                      beta2=self.beta2, eps=self.eps, weight_decay=self.weight_decay)


OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")


def make_optimizer(name: str, lr: float, momentum: float = 0.9) -> Optimizer:
    """An optimizer from its name (one of OPTIMIZERS) or an Optimizer instance."""
    if isinstance(name, Optimizer):
        return name
    if name == "sgd":
        return SGD(lr)
    if name == "momentum":
        return SGD(lr, momentum=momentum)
    if name == "nesterov":
        return SGD(lr, momentum=momentum, nesterov=True)
    if name == "adagrad":
        return AdaGrad(lr)
    if name == "rmsprop":
        return RMSProp(lr)
    if name == "adam":
        return Adam(lr)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS} or an imgclf.optim.Optimizer, got {name!r}")


def lbfgs(loss_fn: Callable[[], tuple[float, dict[str, np.ndarray]]], params: dict[str, np.ndarray],
          maxiter: int = 100, tol: float = 1e-6, callback: Callable[..., Any] | None = None) -> Any:
    """Full-batch L-BFGS (SciPy's L-BFGS-B) over a dict of parameter arrays.

    loss_fn() -> (loss, grads) must read the current ``params`` (a dict of arrays, updated
    in place) and return grads with the same keys.  Computation runs in float64.
    Returns SciPy's OptimizeResult; ``params`` hold the solution afterwards.
    """
    from scipy.optimize import minimize

    keys = list(params)
    shapes = [params[k].shape for k in keys]
    sizes = [int(np.prod(s)) for s in shapes]
    cuts = np.cumsum([0] + sizes)

    def unpack(z):
        for k, s, a, b in zip(keys, shapes, cuts[:-1], cuts[1:]):
            params[k][...] = z[a:b].reshape(s)

    def fun(z):
        unpack(z)
        loss, grads = loss_fn()
        if not np.isfinite(loss):
            raise FloatingPointError("the loss became NaN or infinite during L-BFGS")
        return float(loss), np.concatenate([np.asarray(grads[k], dtype=np.float64).ravel() for k in keys])

    z0 = np.concatenate([np.asarray(params[k], dtype=np.float64).ravel() for k in keys])
    res = minimize(fun, z0, jac=True, method="L-BFGS-B", tol=tol,
                   options={"maxiter": int(maxiter)}, callback=callback)
    unpack(res.x)
    return res
