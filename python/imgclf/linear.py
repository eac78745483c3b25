"""Linear classifiers: scores = x W + b, trained with the multiclass SVM or softmax loss."""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from . import gradcheck, ops
from ._trained import TrainedClassifier, softmax_proba
from ._validation import array_module
from .train import progress_enabled as _progress_enabled

__all__ = ["LinearModel", "NumericalGradientLinearModel", "LinearClassifier", "LinearSVM", "SoftmaxClassifier"]

# optimizer="random_search": candidates drawn per epoch (20 epochs: 1000 candidates)
RANDOM_SEARCH_PER_EPOCH = 50


class LinearModel:
    """The parameters and loss of a linear classifier, in the form :class:`imgclf.Trainer`
    takes: ``params`` {"W": (d, C), "b": (C,)}, ``loss(X, y, rows=None)`` and ``predict``.

    On NumPy the loss is one fused :func:`imgclf.ops.linear_loss` call: it draws the
    minibatch rows from X itself (uint8 images stay uint8), applies ``preprocess``
    (x = scale X - shift), and adds reg * R(W) (never on b).  With the parameters on a GPU
    (:meth:`to`, CuPy arrays) the same loss runs as separate ops on the array module of the
    parameters -- :func:`imgclf.ops.affine_rows`, :func:`imgclf.ops.gemm` (cuBLAS),
    the CUDA softmax / SVM loss, :func:`imgclf.ops.penalty` -- and ``fused = False`` runs
    that very path on NumPy too (where the ops take the CPU kernels).
    """

    accepts_rows = True
    fused = True  # NumPy parameters: one ops.linear_loss call (False: the array-module path)

    def __init__(self, d: int, n_classes: int, loss: str = "softmax", reg: float = 0.0, penalty: str = "l2",
                 beta: float = 0.5, margin: float = 1.0, dtype: DTypeLike = np.float32,
                 rng: int | np.random.Generator | None = None, init_scale: float = 1e-3,
                 preprocess: Any = None) -> None:
        rng = np.random.default_rng(rng)
        dtype = np.dtype(dtype)
        self.params = {"W": (init_scale * rng.standard_normal((d, n_classes))).astype(dtype),
                       "b": np.zeros(n_classes, dtype=dtype)}
        self.loss_name, self.reg, self.penalty, self.beta, self.margin = loss, reg, penalty, beta, margin
        self.preprocess = preprocess

    def to(self, xp: Any) -> LinearModel:
        """Move the parameters to the array module ``xp`` (cupy: the current GPU); returns self."""
        self.params = {k: xp.asarray(v) for k, v in self.params.items()}
        return self

    def _transform_args(self, dtype):
        p = self.preprocess
        return (1.0, None) if p is None else (p.scale, p.shift.astype(dtype, copy=False))

    def loss(self, X: ArrayLike, y: ArrayLike, rows: ArrayLike | None = None) -> tuple[float, dict[str, np.ndarray]]:
        W, b = self.params["W"], self.params["b"]
        scale, shift = self._transform_args(W.dtype)
        if self.fused and array_module(W) is np:
            value, dW, db = ops.linear_loss(X, y, W, b, self.loss_name, rows=rows, scale=scale,
                                            shift=shift, margin=self.margin, reg=self.reg,
                                            penalty=self.penalty, beta=self.beta)
            return value, {"W": dW, "b": db}
        # the array-module path: every op runs where the parameters are
        x = ops.affine_rows(X, rows, scale, shift, dtype=W.dtype)
        s = ops.gemm(x, W)
        s += b
        if self.loss_name == "softmax":
            value, ds = ops.softmax_loss(s, y)
        else:
            value, ds = ops.svm_loss(s, y, self.margin, squared=self.loss_name == "squared_svm")
        dW = ops.gemm(x, ds, trans_a=True)
        db = ds.sum(axis=0)
        if self.reg:
            rv, _ = ops.penalty(W, self.reg, self.penalty, beta=self.beta, grad=dW)
            value = value + rv
        return value, {"W": dW, "b": db}

    def scores(self, X: ArrayLike) -> np.ndarray:
        W, b = self.params["W"], self.params["b"]
        scale, shift = self._transform_args(W.dtype)
        x = ops.affine_rows(X, None, scale, shift, dtype=W.dtype)
        return ops.gemm(x, W) + b

    def predict(self, X: ArrayLike) -> np.ndarray:
        return self.scores(X).argmax(axis=1)


class NumericalGradientLinearModel(LinearModel):
    """A :class:`LinearModel` whose ``loss`` returns the centred-difference gradient instead
    of the analytic one: the "follow the numerical slope" baseline.

    Every parameter element costs two loss evaluations, each one call of the fused loss
    kernel (:func:`imgclf.ops.linear_loss`) on the minibatch, so a step costs
    ``2 * (d * C + C)`` evaluations: 15,700 for a 784 x 10 model with its biases, where the
    analytic gradient costs one.  ``h``: the difference step (1e-5 in float64; float32 needs
    a larger one, 1e-3 by default, and its gradient is then only accurate to about 1e-3).
    """

    def __init__(self, *args: Any, h: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.h = h

    def loss(self, X: ArrayLike, y: ArrayLike, rows: ArrayLike | None = None) -> tuple[float, dict[str, np.ndarray]]:
        W, b = self.params["W"], self.params["b"]
        scale, shift = self._transform_args(W.dtype)
        x = ops.affine_rows(X, rows, scale, shift, dtype=W.dtype)  # the minibatch, drawn once
        h = self.h if self.h is not None else (1e-5 if W.dtype == np.float64 else 1e-3)

        def f():
            return ops.linear_loss(x, y, W, b, self.loss_name, margin=self.margin, reg=self.reg,
                                   penalty=self.penalty, beta=self.beta)[0]

        value = f()
        grads = {k: gradcheck.numerical_gradient(f, self.params[k], h=h).astype(W.dtype) for k in ("W", "b")}
        return value, grads


class LinearClassifier(TrainedClassifier):
    """Linear classifier scores = x W + b; subclasses choose the loss.

    Input: images or feature rows of any shape (flattened per sample), uint8 or float.
    Preprocessing happens inside: uint8 pixels are scaled to [0, 1] and the mean training
    image is subtracted; other inputs are centred per feature and divided by one overall
    standard deviation.  So ``fit(uint8_images, y)`` just works.

    Parameters
    ----------
    reg : float, default=1e-4
        Regularization strength: the loss is mean data loss + reg * R(W).
    penalty : {"l2", "l1", "elasticnet"}, default="l2"
        R(W) = sum W^2, sum |W|, or sum beta * W^2 + |W|.  Biases are never penalized.
    beta : float, default=0.5
        Weight of the squared term in the elastic net.
    optimizer : {"adam", "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "lbfgs", \
            "random_search", "numerical"}
        Minibatch optimizer, or full-batch L-BFGS (SciPy; at most 20 * epochs iterations).
        On dask arrays, fit needs "lbfgs": the loss and gradients are computed shard by
        shard on the workers (:func:`imgclf.dask.fit_lbfgs`); partial_fit takes dask arrays
        one block at a time.
        Two baselines, to see what the gradient buys (never for real training):
        "random_search" draws ``50 * epochs`` random weight matrices (W ~ N(0, 1e-6),
        b = 0), evaluates the regularized loss of each on the whole training set (one fused
        loss-kernel call each) and keeps the best; "numerical" is plain gradient descent
        (the "sgd" step with ``lr``) on the centred-difference gradient, which costs
        ``2 * (n_features + 1) * n_classes`` loss evaluations per minibatch step -- 15,700
        for 784 x 10 -- instead of one (see :class:`NumericalGradientLinearModel`).
    lr : float, default=3e-3
        Learning rate of the minibatch optimizer (the defaults were chosen on a validation
        split of Fashion-MNIST's training set).
    batch_size : int or "auto", default="auto"
        Minibatch size; "auto" is 256, or n_samples / 16 when that is smaller (so small
        datasets still get 16 updates per epoch).
    epochs : int, default=20
        Passes over the training data.
    lr_decay : float, default=0.9
        The learning rate is multiplied by this after every epoch.
    momentum : float, default=0.9
        rho of the "momentum" and "nesterov" optimizers.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data, stop after ``patience`` epochs
        without a better validation accuracy, and keep the best parameters.
    dtype : {"float32", "float64"}, default="float32"
        Parameter dtype (float64 for gradient checks).
    random_state : int or None
        Seeds the initialization, the shuffling and the validation split.
    progress : bool or "auto"
        A tqdm progress bar ("auto": when stderr is a terminal).

    Attributes
    ----------
    classes_, n_features_in_, coef_ (n_classes, n_features, on the preprocessed input),
    intercept_, history_ (see :class:`imgclf.Trainer`), n_iter_ (epochs run).
    """

    _loss = "softmax"
    _dask_lbfgs = True
    _extra_optimizers = ("random_search", "numerical")

    def __init__(self, reg: float = 1e-4, penalty: str = "l2", beta: float = 0.5, optimizer: str = "adam",
                 lr: float = 3e-3, batch_size: int | str = "auto", epochs: int = 20, lr_decay: float = 0.9,
                 momentum: float = 0.9, early_stopping: bool = False, validation_fraction: float = 0.1,
                 patience: int = 3, dtype: str = "float32", random_state: int | None = None,
                 progress: bool | str = "auto") -> None:
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

    def _step_rule(self):
        return "sgd" if self.optimizer == "numerical" else self.optimizer

    def _new_model(self, d, C, rng):
        cls = NumericalGradientLinearModel if self.optimizer == "numerical" else LinearModel
        return cls(d, C, loss=self._loss, reg=float(self.reg), penalty=self.penalty,
                           beta=float(self.beta), margin=getattr(self, "margin", 1.0),
                           dtype=np.dtype(self.dtype), rng=rng)

    def _fit_random_search(self, X, yi):
        """optimizer="random_search": keep the best of 50 * epochs random W (b = 0)."""
        import time

        m = self.model_
        W, b = m.params["W"], m.params["b"]
        scale, shift = m._transform_args(W.dtype)
        b[...] = 0
        trials = RANDOM_SEARCH_PER_EPOCH * int(self.epochs)
        losses, best = [], np.inf
        bar = None
        if _progress_enabled(self.progress):
            from tqdm.auto import tqdm

            bar = tqdm(total=trials, desc="random search", unit="W", leave=False)
        t0 = time.perf_counter()
        try:
            cand = np.empty_like(W)
            for _ in range(trials):
                cand[...] = 1e-3 * self._rng.standard_normal(W.shape)
                value = ops.linear_loss(X, yi, cand, b, m.loss_name, scale=scale, shift=shift, margin=m.margin,
                                        reg=m.reg, penalty=m.penalty, beta=m.beta)[0]
                losses.append(float(value))
                if value < best:
                    best = value
                    W[...] = cand
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(best=f"{best:.4f}")
        finally:
            if bar is not None:
                bar.close()
            self.n_iter_ = len(losses) // RANDOM_SEARCH_PER_EPOCH
            self.history_ = {"loss": losses, "train_acc": [], "val_acc": [], "lr": [], "best_epoch": None,
                             "stopped_early": False, "interrupted": len(losses) < trials,
                             "seconds": time.perf_counter() - t0, "best_loss": float(best)}

    @property
    def coef_(self) -> np.ndarray:
        return self.model_.params["W"].T

    @property
    def intercept_(self) -> np.ndarray:
        return self.model_.params["b"]

    def templates(self, image_shape: tuple[int, ...] | None = None) -> np.ndarray:
        """The weights as one image per class (n_classes, *image_shape), the 'templates'
        a linear classifier matches against (rescaled to [0, 1] for display)."""
        W = self.model_.params["W"].T.astype(np.float64)
        if array_module(W) is not np:
            W = W.get()
        lo, hi = W.min(), W.max()
        T = (W - lo) / (hi - lo if hi > lo else 1.0)
        return T.reshape((len(T),) + tuple(image_shape)) if image_shape is not None else T


class SoftmaxClassifier(LinearClassifier):
    """Linear classifier trained with the softmax (cross-entropy) loss; gives
    probabilities.  See :class:`LinearClassifier` for the parameters."""

    _loss = "softmax"

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Softmax of the class scores; columns follow classes_."""
        if type(X).__module__.startswith("dask"):
            return self._blockwise("predict_proba", X, ncols=len(self.classes_))
        return softmax_proba(self._scores(X).astype(np.float64))

    def predict_log_proba(self, X: ArrayLike) -> np.ndarray:
        return np.log(self.predict_proba(X))


class LinearSVM(LinearClassifier):
    """Linear classifier trained with the multiclass SVM (hinge) loss
    sum_{j != y} max(0, s_j - s_y + margin); ``squared=True`` uses the squared hinge.
    See :class:`LinearClassifier` for the other parameters."""

    _loss = "svm"

    def __init__(self, reg: float = 1e-4, penalty: str = "l2", beta: float = 0.5, optimizer: str = "adam",
                 lr: float = 3e-3, batch_size: int | str = "auto", epochs: int = 20, lr_decay: float = 0.9,
                 momentum: float = 0.9, early_stopping: bool = False, validation_fraction: float = 0.1,
                 patience: int = 3, dtype: str = "float32", random_state: int | None = None,
                 progress: bool | str = "auto", margin: float = 1.0, squared: bool = False) -> None:
        super().__init__(reg=reg, penalty=penalty, beta=beta, optimizer=optimizer, lr=lr,
                         batch_size=batch_size, epochs=epochs, lr_decay=lr_decay, momentum=momentum,
                         early_stopping=early_stopping, validation_fraction=validation_fraction,
                         patience=patience, dtype=dtype, random_state=random_state, progress=progress)
        self.margin = margin
        self.squared = squared

    def _check_params(self):
        super()._check_params()
        if not (np.isfinite(float(self.margin)) and float(self.margin) > 0):
            raise ValueError(f"margin must be > 0, got {self.margin!r}")

    def _new_model(self, d, C, rng):
        m = super()._new_model(d, C, rng)
        m.loss_name = "squared_svm" if self.squared else "svm"
        m.margin = float(self.margin)
        return m
