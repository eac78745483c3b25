"""TwoLayerNet: affine - ReLU - affine, trained with the softmax or SVM loss."""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from . import ops
from ._trained import TrainedClassifier, softmax_proba
from ._validation import array_module

__all__ = ["NetModel", "TwoLayerNet"]

ACTIVATIONS = ("relu",)


class NetModel:
    """Parameters and loss of the two-layer network in the form :class:`imgclf.Trainer`
    takes: ``params`` {"W1": (d, H), "b1": (H,), "W2": (H, C), "b2": (C,)}, He-initialized
    (W ~ N(0, 2 / fan_in), biases 0); ``loss(X, y, rows=None)``; ``predict``.

    Forward: x = scale X - shift; h = max(0, x W1 + b1); scores = h W2 + b2.  The matrix
    products, the loss, the penalty and the optimizer are imgclf kernels (one thread pool).
    """

    accepts_rows = True

    def __init__(self, d: int, hidden: int, n_classes: int, loss: str = "softmax", reg: float = 0.0,
                 penalty: str = "l2", beta: float = 0.5, margin: float = 1.0, dtype: DTypeLike = np.float32,
                 rng: int | np.random.Generator | None = None, preprocess: Any = None) -> None:
        rng = np.random.default_rng(rng)
        dtype = np.dtype(dtype)
        self.params = {
            "W1": (rng.standard_normal((d, hidden)) * np.sqrt(2.0 / d)).astype(dtype),
            "b1": np.zeros(hidden, dtype=dtype),
            "W2": (rng.standard_normal((hidden, n_classes)) * np.sqrt(2.0 / hidden)).astype(dtype),
            "b2": np.zeros(n_classes, dtype=dtype),
        }
        self.loss_name, self.reg, self.penalty, self.beta, self.margin = loss, reg, penalty, beta, margin
        self.preprocess = preprocess

    def to(self, xp: Any) -> NetModel:
        """Move the parameters to the array module ``xp`` (cupy: the current GPU; every op
        then runs there); returns self."""
        self.params = {k: xp.asarray(v) for k, v in self.params.items()}
        self.__dict__.pop("_scratch", None)
        return self

    def _input(self, X, rows=None, reuse=False):
        dt = self.params["W1"].dtype
        p = self.preprocess
        n = len(X) if rows is None else len(rows)
        out = self._buf("x", (n, self.params["W1"].shape[0]), dt) if reuse else None
        if p is None:
            return ops.affine_rows(X, rows, dtype=dt, out=out)
        return p(X, dt, rows, out)

    def _buf(self, name, shape, dtype):
        """Scratch reused from batch to batch (fresh large arrays cost page faults each time)."""
        scratch = self.__dict__.setdefault("_scratch", {})
        a = scratch.get(name)
        if a is None or a.shape != shape or a.dtype != dtype:
            a = scratch[name] = array_module(self.params["W1"]).empty(shape, dtype)
        return a

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_scratch", None)
        return state

    def _forward(self, x, reuse=False):
        P = self.params
        n, H = x.shape[0], P["W1"].shape[1]
        h = ops.gemm(x, P["W1"], self._buf("h", (n, H), x.dtype) if reuse else None)
        ops.bias_relu(h, P["b1"])
        s = ops.gemm(h, P["W2"])
        s += P["b2"]
        return h, s

    def loss(self, X: ArrayLike, y: ArrayLike, rows: ArrayLike | None = None) -> tuple[float, dict[str, np.ndarray]]:
        P = self.params
        x = self._input(X, rows, reuse=True)
        h, s = self._forward(x, reuse=True)
        if self.loss_name == "softmax":
            value, ds = ops.softmax_loss(s, y)
        else:
            value, ds = ops.svm_loss(s, y, self.margin, squared=self.loss_name == "squared_svm")
        g = {"W2": ops.gemm(h, ds, trans_a=True), "b2": ds.sum(axis=0)}
        dh = ops.gemm(ds, P["W2"], self._buf("dh", h.shape, h.dtype), trans_b=True)
        g["b1"] = ops.relu_backward(dh, h)
        # the returned gradients are fresh arrays: a caller may keep them
        g["W1"] = ops.gemm(x, dh, trans_a=True)
        if self.reg:
            for k in ("W1", "W2"):
                rv, _ = ops.penalty(P[k], self.reg, self.penalty, beta=self.beta, grad=g[k])
                value = value + rv
        return value, g

    def scores(self, X: ArrayLike) -> np.ndarray:
        return self._forward(self._input(X))[1]

    def predict(self, X: ArrayLike) -> np.ndarray:
        return self.scores(X).argmax(axis=1)


class TwoLayerNet(TrainedClassifier):
    """Two-layer fully connected network: affine - ReLU - affine, softmax or SVM loss.

    Input preprocessing, training and the common parameters (reg, penalty, beta, optimizer,
    lr, batch_size, epochs, lr_decay, momentum, early_stopping, validation_fraction,
    patience, dtype, random_state, progress) are as in :class:`imgclf.LinearClassifier`;
    the penalty applies to W1 and W2, never to the biases.

    Parameters
    ----------
    hidden : int, default=256
        Width of the hidden layer.
    activation : {"relu"}, default="relu"
    loss : {"softmax", "svm", "squared_svm"}, default="softmax"
    """

    _lbfgs_ok = True

    def __init__(self, hidden: int = 256, activation: str = "relu", loss: str = "softmax", reg: float = 1e-4,
                 penalty: str = "l2", beta: float = 0.5, optimizer: str = "adam", lr: float = 1e-3,
                 batch_size: int | str = "auto", epochs: int = 20, lr_decay: float = 0.9, momentum: float = 0.9,
                 early_stopping: bool = False, validation_fraction: float = 0.1, patience: int = 3,
                 dtype: str = "float32", random_state: int | None = None, progress: bool | str = "auto") -> None:
        self.hidden = hidden
        self.activation = activation
        self.loss = loss
        self.reg = reg
        self.penalty = penalty
        self.beta = beta
        self.optimizer = optimizer
        self.lr = lr
        self.batch_size = batch_size
        self.epochs = epochs
        self.lr_decay = lr_decay
        self.momentum = momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.dtype = dtype
        self.random_state = random_state
        self.progress = progress

    def _check_params(self):
        ops.loss.check_penalty(self.penalty, self.reg, self.beta)
        if isinstance(self.hidden, bool) or not isinstance(self.hidden, (int, np.integer)) or self.hidden < 1:
            raise ValueError(f"hidden must be a positive int, got {self.hidden!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        if self.loss not in ops.LOSSES:
            raise ValueError(f"loss must be one of {ops.LOSSES}, got {self.loss!r}")

    def _new_model(self, d, C, rng):
        return NetModel(d, int(self.hidden), C, loss=self.loss, reg=float(self.reg), penalty=self.penalty,
                        beta=float(self.beta), dtype=np.dtype(self.dtype), rng=rng)

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Softmax of the class scores (meaningful for loss="softmax"); columns follow classes_."""
        if self.loss != "softmax":
            raise AttributeError("predict_proba needs loss='softmax'")
        if type(X).__module__.startswith("dask"):  # block by block on the workers
            return self._blockwise("predict_proba", X, ncols=len(self.classes_))
        return softmax_proba(self._scores(X).astype(np.float64))
