"""Fully connected networks: NeuralNet (any number of hidden layers) and TwoLayerNet (one),
trained with the softmax or SVM loss."""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from . import ops
from ._trained import TrainedClassifier, softmax_proba

__all__ = ["NetModel", "NeuralNet", "TwoLayerNet", "ACTIVATIONS"]

ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid")
# W ~ N(0, gain / fan_in) per activation: He for the rectifiers, Xavier for tanh, and 4^2
# times Xavier for the sigmoid, whose slope at 0 is 1/4 (Glorot and Bengio's advice; on a
# validation split of Fashion-MNIST's training set, 3-layer net: 0.8749 against 0.8700)
INIT_GAIN = {"relu": 2.0, "leaky_relu": 2.0, "tanh": 1.0, "sigmoid": 16.0}


def _hidden_tuple(hidden):
    """hidden as a tuple of positive ints (an int is one layer), or a ValueError naming it."""
    def ok(h):
        return not isinstance(h, bool) and isinstance(h, (int, np.integer)) and h >= 1

    if ok(hidden):
        return (int(hidden),)
    if isinstance(hidden, (tuple, list)) and len(hidden) > 0 and all(ok(h) for h in hidden):
        return tuple(int(h) for h in hidden)
    raise ValueError(f"hidden must be a positive int or a non-empty sequence of positive ints, got {hidden!r}")


class NetModel:
    """Parameters and loss of a fully connected network in the form :class:`imgclf.Trainer`
    takes: ``params`` {"W1": (d, H1), "b1": (H1,), ..., "W{L+1}": (H_L, C), "b{L+1}": (C,)};
    ``loss(X, y, rows=None)``; ``predict``; ``after_step()`` (the max-norm constraint).

    Forward: x = scale X - shift; h_l = act(h_{l-1} W_l + b_l) for each hidden layer (then
    inverted dropout with probability ``dropout`` while training); scores = h_L W + b.
    Initialization: W_l ~ N(0, g / fan_in) with g = 2 for relu / leaky_relu (He), g = 1 for
    tanh (Xavier) and g = 16 for sigmoid (Xavier scaled by 4, the inverse of its slope at
    0), drawn layer by layer from ``rng``; biases 0.  A training batch is one
    :func:`imgclf.ops.network_loss` call (on the CPU one kernel: the gather, the products,
    bias + activation, dropout, the loss, the backward pass and the penalty); max-norm and
    the optimizer are imgclf kernels too (one thread pool).  ``preprocess``: the input
    transform, called as ``preprocess(X, dtype, rows, out)``; when it has ``scale`` and
    ``shift`` (x = scale X - shift, :class:`imgclf._trained.Preprocess`) the op gathers
    and transforms the batch itself; None: x = X.

    hidden: an int (one hidden layer) or a sequence of widths.  dropout: the probability of
    dropping a hidden unit in training (inverted: kept units are scaled by 1 / (1 - p), so
    nothing changes at prediction time); the masks are a counter-based hash of a seed drawn
    from ``rng`` per layer and step (:func:`imgclf.ops.dropout`).  max_norm: after every
    step, each unit's incoming weight vector (a column of every W) with L2 norm above it is
    scaled down to it (:func:`imgclf.ops.max_norm`); None: no constraint.
    """

    accepts_rows = True

    def __init__(self, d: int, hidden: int | tuple[int, ...], n_classes: int, loss: str = "softmax",
                 reg: float = 0.0, penalty: str = "l2", beta: float = 0.5, margin: float = 1.0,
                 dtype: DTypeLike = np.float32, rng: int | np.random.Generator | None = None,
                 preprocess: Any = None, activation: str = "relu", slope: float = 0.01, dropout: float = 0.0,
                 max_norm: float | None = None) -> None:
        rng = np.random.default_rng(rng)
        dtype = np.dtype(dtype)
        widths = (int(d),) + _hidden_tuple(hidden) + (int(n_classes),)
        gain = INIT_GAIN[activation]
        self.params = {}
        for i in range(1, len(widths)):
            fan_in, fan_out = widths[i - 1], widths[i]
            self.params[f"W{i}"] = (rng.standard_normal((fan_in, fan_out)) * np.sqrt(gain / fan_in)).astype(dtype)
            self.params[f"b{i}"] = np.zeros(fan_out, dtype=dtype)
        self.n_hidden = len(widths) - 2
        self.loss_name, self.reg, self.penalty, self.beta, self.margin = loss, reg, penalty, beta, margin
        self.activation, self.slope = activation, float(slope)
        self.dropout = float(dropout)
        self.max_norm = None if max_norm is None else float(max_norm)
        self.preprocess = preprocess
        # drawn only when used, so a model without dropout consumes rng exactly as before
        self._drop_rng = np.random.default_rng(rng.integers(2**63)) if self.dropout > 0 else None

    def to(self, xp: Any) -> NetModel:
        """Move the parameters to the array module ``xp`` (cupy: the current GPU; every op
        then runs there); returns self."""
        self.params = {k: xp.asarray(v) for k, v in self.params.items()}
        self.__dict__.pop("_scratch", None)
        return self

    def _input(self, X):
        dt = self.params["W1"].dtype
        p = self.preprocess
        if p is None:
            return ops.affine_rows(X, dtype=dt)
        return p(X, dt, None, None)

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_scratch", None)
        return state

    def _forward(self, x):
        """The class scores of the preprocessed input x (prediction: no dropout)."""
        P = self.params
        h = x
        for i in range(1, self.n_hidden + 1):
            h = ops.bias_act(ops.gemm(h, P[f"W{i}"]), P[f"b{i}"], self.activation, slope=self.slope)
        out = self.n_hidden + 1
        s = ops.gemm(h, P[f"W{out}"])
        s += P[f"b{out}"]
        return s

    def loss(self, X: ArrayLike, y: ArrayLike, rows: ArrayLike | None = None,
             dropout_seeds: ArrayLike | None = None) -> tuple[float, dict[str, np.ndarray]]:
        """Mean data loss + penalty on a minibatch, and the gradient of every parameter.
        ``dropout_seeds`` (one per hidden layer) fixes the dropout masks (a gradient check
        needs the same masks in every evaluation); by default they are drawn afresh."""
        seeds = None
        if self.dropout > 0:
            seeds = (self._drop_rng.integers(0, 2**63, self.n_hidden) if dropout_seeds is None
                     else np.asarray(dropout_seeds, dtype=np.uint64).reshape(self.n_hidden))
        n_layers = self.n_hidden + 1
        X, W, b, kw = self._net_args(X, rows)
        # the whole batch in one op (one kernel call on the CPU); scratch kept in _scratch
        value, dW, db = ops.network_loss(X, y, W, b, seeds=seeds, **kw)
        g = {}
        for i in range(n_layers):
            g[f"W{i + 1}"], g[f"b{i + 1}"] = dW[i], db[i]
        return value, g

    def _net_args(self, X, rows):
        """What network_loss and network_train share: the layer lists, the input transform
        and the loss settings."""
        n_layers = self.n_hidden + 1
        W = [self.params[f"W{i}"] for i in range(1, n_layers + 1)]
        b = [self.params[f"b{i}"] for i in range(1, n_layers + 1)]
        pre = self.preprocess
        scale, shift = 1.0, None
        if pre is not None and hasattr(pre, "scale") and hasattr(pre, "shift"):
            scale, shift = pre.scale, pre.shift
        elif pre is not None:  # any other callable: it gathers the batch, the op takes all rows
            X, rows = pre(X, W[0].dtype, rows, None), None
        reg = float(self.reg or 0.0)
        kw = dict(rows=rows, scale=scale, shift=shift, activation=self.activation, slope=self.slope,
                  loss=self.loss_name, margin=self.margin, reg=reg, penalty=self.penalty if reg else "l2",
                  beta=self.beta, dropout=self.dropout, workspace=self.__dict__.setdefault("_scratch", {}))
        return X, W, b, kw

    def train_steps(self, X: ArrayLike, y: ArrayLike, rows: ArrayLike, batch_size: int,
                    optimizer: Any) -> np.ndarray | None:
        """Steps of ``optimizer`` on the consecutive minibatches of ``rows`` (``batch_size``
        rows each), max-norm after each, in one :func:`imgclf.ops.network_train` call (one
        kernel call on the CPU); ``y``: the labels of all of X.  Returns the batches'
        losses, with a non-finite one last when it stopped there, or None when this cannot
        be done in one call (an optimizer whose step is not one of imgclf's step ops, a
        preprocess callable, or a subclass with its own loss or after_step): then step
        batch by batch with :meth:`loss`."""
        op = optimizer._as_op() if hasattr(optimizer, "_as_op") else None
        pre = self.preprocess
        if op is None or (pre is not None and not (hasattr(pre, "scale") and hasattr(pre, "shift"))):
            return None
        if type(self).loss is not NetModel.loss or type(self).after_step is not NetModel.after_step:
            return None  # a subclass's own loss or constraint: batch by batch, through them
        kind, hyper = op
        X, W, b, kw = self._net_args(X, rows)
        keys = list(self.params)
        st = optimizer._states(keys, [self.params[k] for k in keys])
        n_layers = self.n_hidden + 1
        states = [([col[keys.index(f"W{i}")] for i in range(1, n_layers + 1)],
                   [col[keys.index(f"b{i}")] for i in range(1, n_layers + 1)]) for col in st]
        count = -(-len(rows) // int(batch_size))
        seeds, rng_state = None, None
        if self.dropout > 0:  # the draws loss() would make, batch by batch
            rng_state = self._drop_rng.bit_generator.state
            seeds = np.stack([self._drop_rng.integers(0, 2**63, self.n_hidden) for _ in range(count)])
        ran = 0  # batches whose loss ran: only they drew masks (a refused call: none)
        try:
            losses = ops.network_train(X, y, W, b, batch_size=batch_size, optimizer=kind, hyper=hyper,
                                       states=states, step=optimizer.steps + 1, max_norm=self.max_norm,
                                       seeds=seeds, **kw)
            ran = len(losses)
        except KeyboardInterrupt as exc:
            ran = len(getattr(exc, "losses", ()))
            optimizer.steps += ran
            raise
        finally:
            if ran < count:
                self._rewind_dropout(rng_state, ran)
        optimizer.steps += ran - (ran > 0 and not np.isfinite(losses[-1]))
        return losses

    def _rewind_dropout(self, state, used):
        """The dropout generator as if only ``used`` batches had drawn their seeds."""
        if state is None:
            return
        self._drop_rng.bit_generator.state = state
        for _ in range(used):
            self._drop_rng.integers(0, 2**63, self.n_hidden)

    def after_step(self) -> None:
        """The max-norm constraint (when set), applied to every weight matrix after a step."""
        if self.max_norm is not None:
            for i in range(1, self.n_hidden + 2):
                ops.max_norm(self.params[f"W{i}"], self.max_norm)

    def scores(self, X: ArrayLike) -> np.ndarray:
        return self._forward(self._input(X))

    def predict(self, X: ArrayLike) -> np.ndarray:
        return self.scores(X).argmax(axis=1)


class NeuralNet(TrainedClassifier):
    """Fully connected network: (affine - activation [- dropout]) x L - affine, with the
    softmax or SVM loss; any number of hidden layers.

    ``NeuralNet(hidden=(256, 128))`` is the 3-layer network
    f = W3 act(W2 act(W1 x + b1) + b2) + b3.  Input preprocessing, training and the common
    parameters (reg, penalty, beta, optimizer, lr, batch_size, epochs, lr_decay, momentum,
    early_stopping, validation_fraction, patience, dtype, random_state, progress) are as in
    :class:`imgclf.LinearClassifier`; the penalty applies to every W, never to the biases.

    Parameters
    ----------
    hidden : int or tuple of int, default=(256, 128)
        Widths of the hidden layers; an int means one hidden layer.
    activation : {"relu", "leaky_relu", "tanh", "sigmoid"}, default="relu"
        The hidden layers' nonlinearity (fused with the bias add in one kernel, forward and
        backward).  relu / leaky_relu layers are He-initialized, tanh ones
        Xavier-initialized, sigmoid ones with 4 times Xavier's standard deviation.
    loss : {"softmax", "svm", "squared_svm"}, default="softmax"
    slope : float, default=0.01
        leaky_relu's slope for negative inputs.
    dropout : float in [0, 1), default=0.0
        Inverted dropout on every hidden layer while training: each unit is dropped with
        this probability and the kept ones scaled by 1 / (1 - dropout); off at prediction
        time.  The masks are seeded from ``random_state``.
    max_norm : float or None, default=None
        After every optimizer step, each unit's vector of incoming weights (a column of
        every weight matrix, the output layer's included) is scaled down to this L2 norm
        when longer.  Not with optimizer="lbfgs" (nor dropout: L-BFGS needs a deterministic
        loss).

    Attributes
    ----------
    classes_, n_features_in_, model_ (its ``params``: W1, b1, ..., the weights act on the
    preprocessed input), history_ (see :class:`imgclf.Trainer`), n_iter_ (epochs run).
    """

    _lbfgs_ok = True

    def __init__(self, hidden: int | tuple[int, ...] = (256, 128), activation: str = "relu", loss: str = "softmax",
                 reg: float = 1e-4, penalty: str = "l2", beta: float = 0.5, optimizer: str = "adam",
                 lr: float = 1e-3, batch_size: int | str = "auto", epochs: int = 20, lr_decay: float = 0.9,
                 momentum: float = 0.9, early_stopping: bool = False, validation_fraction: float = 0.1,
                 patience: int = 3, dtype: str = "float32", random_state: int | None = None,
                 progress: bool | str = "auto", slope: float = 0.01, dropout: float = 0.0,
                 max_norm: float | None = None) -> None:
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
        self.slope = slope
        self.dropout = dropout
        self.max_norm = max_norm

    def _check_params(self):
        ops.loss.check_penalty(self.penalty, self.reg, self.beta)
        _hidden_tuple(self.hidden)
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        if self.loss not in ops.LOSSES:
            raise ValueError(f"loss must be one of {ops.LOSSES}, got {self.loss!r}")
        for name, ok in (("slope", lambda v: np.isfinite(v)), ("dropout", lambda v: 0 <= v < 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not ok(v):
                raise ValueError(f"{name} must be a finite number{' in [0, 1)' if name == 'dropout' else ''}, got {v!r}")
        c = self.max_norm
        if c is not None and (isinstance(c, bool) or not isinstance(c, (int, float, np.integer, np.floating))
                              or not np.isfinite(c) or c <= 0):
            raise ValueError(f"max_norm must be None or a finite number > 0, got {c!r}")
        if self.optimizer == "lbfgs" and (self.dropout or self.max_norm is not None):
            raise ValueError("optimizer='lbfgs' needs dropout=0 and max_norm=None (a deterministic, "
                             "unconstrained loss)")

    def _new_model(self, d, C, rng):
        return NetModel(d, _hidden_tuple(self.hidden), C, loss=self.loss, reg=float(self.reg), penalty=self.penalty,
                        beta=float(self.beta), dtype=np.dtype(self.dtype), rng=rng, activation=self.activation,
                        slope=float(self.slope), dropout=float(self.dropout),
                        max_norm=None if self.max_norm is None else float(self.max_norm))

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Softmax of the class scores (meaningful for loss="softmax"); columns follow classes_."""
        if self.loss != "softmax":
            raise AttributeError("predict_proba needs loss='softmax'")
        if type(X).__module__.startswith("dask"):  # block by block on the workers
            return self._blockwise("predict_proba", X, ncols=len(self.classes_))
        return softmax_proba(self._scores(X).astype(np.float64))

    def first_layer_weights(self, image_shape: tuple[int, ...] | None = None) -> np.ndarray:
        """The first layer's weights as one image per hidden unit (H1, *image_shape): what
        each unit of the first layer responds to, each rescaled to [0, 1] for display."""
        W = self.model_.params["W1"].T.astype(np.float64)
        lo, hi = W.min(axis=1, keepdims=True), W.max(axis=1, keepdims=True)
        T = (W - lo) / np.where(hi > lo, hi - lo, 1.0)
        return T.reshape((len(T),) + tuple(image_shape)) if image_shape is not None else T


class TwoLayerNet(NeuralNet):
    """Two-layer fully connected network: affine - activation - affine, softmax or SVM loss:
    :class:`NeuralNet` with one hidden layer of ``hidden`` units (see it for the
    parameters; the defaults are the same except ``hidden=256``).

    Parameters
    ----------
    hidden : int, default=256
        Width of the hidden layer.
    activation : {"relu", "leaky_relu", "tanh", "sigmoid"}, default="relu"
    loss : {"softmax", "svm", "squared_svm"}, default="softmax"
    """

    def __init__(self, hidden: int = 256, activation: str = "relu", loss: str = "softmax", reg: float = 1e-4,
                 penalty: str = "l2", beta: float = 0.5, optimizer: str = "adam", lr: float = 1e-3,
                 batch_size: int | str = "auto", epochs: int = 20, lr_decay: float = 0.9, momentum: float = 0.9,
                 early_stopping: bool = False, validation_fraction: float = 0.1, patience: int = 3,
                 dtype: str = "float32", random_state: int | None = None, progress: bool | str = "auto",
                 slope: float = 0.01, dropout: float = 0.0, max_norm: float | None = None) -> None:
        super().__init__(hidden=hidden, activation=activation, loss=loss, reg=reg, penalty=penalty, beta=beta,
                         optimizer=optimizer, lr=lr, batch_size=batch_size, epochs=epochs, lr_decay=lr_decay,
                         momentum=momentum, early_stopping=early_stopping,
                         validation_fraction=validation_fraction, patience=patience, dtype=dtype,
                         random_state=random_state, progress=progress, slope=slope, dropout=dropout,
                         max_norm=max_norm)

    def _check_params(self):
        h = self.hidden
        if isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1:
            raise ValueError(f"hidden must be a positive int (one hidden layer), got {h!r}")
        super()._check_params()
