"""The shared estimator machinery of the models trained by gradient descent
(LinearSVM, SoftmaxClassifier, TwoLayerNet): input checks, label encoding, the built-in
preprocessing, training through :class:`imgclf.Trainer` or L-BFGS, and prediction.

Data on a GPU -- CuPy arrays, or torch CUDA tensors (taken as CuPy through DLPack, without
a copy) -- train there: the preprocessing, the parameters and the optimizer state live on
the data's device, every op runs there (CuPy's cuBLAS for the products, the CUDA loss and
optimizer kernels), and predict returns CuPy.  It is the same code as on NumPy: only the
array module differs, and with it the kernels the ops dispatch to."""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from . import _gpu, ops
from ._validation import ESTIMATOR_DTYPES, array_module, check_device_samples, flatten_images, validate_data
from .optim import OPTIMIZERS, lbfgs
from .train import Trainer

_PRED_CHUNK = 8192


def _is_dask(a):
    return type(a).__module__.startswith("dask")


def _minibatch_on_dask(est):
    return ValueError(
        f"optimizer={est.optimizer!r} cannot train on dask arrays (its minibatches would be drawn "
        "across the whole cluster): use optimizer='lbfgs' (full-batch L-BFGS, computed shard by "
        "shard on the workers), or partial_fit, which trains one epoch on each block in turn")


class Preprocess:
    """x = scale * X - shift, the transform every trained model applies to its input.

    uint8 images: scale = 1/255 and shift = the mean training image (pixels in [0, 1],
    centred).  Other inputs: shift = the per-feature training mean and scale = 1 / (one
    standard deviation over all features), so features keep their relative scales.
    """

    def __init__(self, X, dtype):
        dtype = np.dtype(dtype)
        xp = array_module(X)  # the shift lives where X does
        if X.dtype == np.uint8:
            scale = 1.0 / 255.0
        else:
            sd = float(xp.std(X, dtype=np.float64))
            scale = 1.0 / sd if sd > 0 and np.isfinite(sd) else 1.0
        self.scale = scale
        mean = xp.zeros(X.shape[1], dtype=np.float64)
        for s in range(0, X.shape[0], _PRED_CHUNK):  # chunked: no float copy of all of X
            mean += X[s : s + _PRED_CHUNK].sum(axis=0, dtype=np.float64)
        self.shift = (mean / X.shape[0] * scale).astype(dtype)

    @classmethod
    def from_stats(cls, scale, shift, dtype):
        """The transform from statistics reduced elsewhere (a cluster): x = scale * X - shift,
        shift = scale * the mean training row."""
        obj = cls.__new__(cls)
        obj.scale = float(scale)
        obj.shift = np.asarray(shift, dtype=np.float64).astype(dtype)
        return obj

    def __call__(self, X, dtype, rows=None, out=None):
        """scale * X[rows] - shift as ``dtype`` (one kernel pass, :func:`imgclf.ops.affine_rows`)."""
        return ops.affine_rows(X, rows, self.scale, self.shift, dtype=dtype, out=out)


class TrainedClassifier(ClassifierMixin, BaseEstimator):
    """Base of the gradient-trained classifiers.  Subclasses define ``_new_model(d, C, rng)``
    (returning an object with params / loss / scores) and their own ``__init__``."""

    _lbfgs_ok = True
    _dask_lbfgs = False  # the linear models train on dask arrays by distributed L-BFGS
    # optimizers a subclass adds beyond OPTIMIZERS and "lbfgs" (the linear models' baselines)
    _extra_optimizers: tuple[str, ...] = ()

    # ---- checks ----------------------------------------------------------------------
    def _check_common(self):
        known = OPTIMIZERS + ("lbfgs",) + self._extra_optimizers
        if self.optimizer not in known:
            raise ValueError(f"optimizer must be one of {known}, got {self.optimizer!r}")
        if self.optimizer == "lbfgs" and not self._lbfgs_ok:
            raise ValueError("optimizer='lbfgs' is not available for this model")
        for name in ("lr", "reg"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) or not np.isfinite(v) or v < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
        if self.lr == 0 and self.optimizer != "lbfgs":
            raise ValueError("lr must be > 0")
        if self.batch_size != "auto":
            v = self.batch_size
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"batch_size must be a positive int or 'auto', got {v!r}")
        for name in ("epochs",):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        if not 0 < self.validation_fraction < 1:
            raise ValueError(f"validation_fraction must be in (0, 1), got {self.validation_fraction}")

    def _validate(self, X, y=None, reset=True, need_y=False):
        D = _gpu.device_array(X)
        if D is not None:
            return self._validate_device(D, y, reset, need_y)
        X = flatten_images(X)
        if need_y and y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        if y is None:
            return validate_data(self, X, reset=reset, dtype=ESTIMATOR_DTYPES, order="C")
        X, y = validate_data(self, X, y, reset=reset, dtype=ESTIMATOR_DTYPES, order="C", y_numeric=False)
        check_classification_targets(y)
        return X, y

    def _validate_device(self, X, y, reset, need_y):
        """The checks of _validate for data on a GPU (kept there): 2-D or images, a kernel
        dtype (others become float64), finite, the feature count; y comes to the host
        (labels are small) for the encoding."""
        X = check_device_samples(self, X, reset)
        if need_y and y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        if y is None:
            return X
        y = _host(y)
        if y.ndim != 1 or len(y) != X.shape[0]:
            raise ValueError(f"y must be 1-D with one label per sample ({X.shape[0]}), got shape {y.shape}")
        check_classification_targets(y)
        return X, y

    # ---- training ----------------------------------------------------------------------
    def _setup(self, X, y, classes=None):
        classes = np.unique(y) if classes is None else np.unique(np.asarray(classes))
        if len(classes) < 2:
            raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes; got 1 class")
        self.classes_ = classes
        self._dtype = np.dtype(self.dtype)
        self._pre = Preprocess(X, self._dtype)
        self._rng = np.random.default_rng(self.random_state)
        self.model_ = self._new_model(X.shape[1], len(classes), self._rng)
        xp = array_module(X)
        if xp is not np:  # initialized as on the CPU (same seed, same values), then moved
            self.model_.to(xp)
        self.model_.preprocess = self._pre
        self.history_ = None
        self.n_iter_ = 0
        self._opt = None

    def _encode(self, y):
        idx = np.searchsorted(self.classes_, y)
        idx = np.clip(idx, 0, len(self.classes_) - 1)
        if not np.all(self.classes_[idx] == y):
            unknown = np.setdiff1d(np.unique(y), self.classes_)
            raise ValueError(f"y has labels not seen in fit/classes: {unknown[:5].tolist()}")
        return idx.astype(np.int64)

    def fit(self, X: ArrayLike, y: ArrayLike) -> TrainedClassifier:
        """Train on images X (n_samples, ...) with labels y (any values)."""
        self._check_common()
        self._check_params()
        if _is_dask(X) or _is_dask(y):
            if self.optimizer != "lbfgs" or not self._dask_lbfgs:
                if self.optimizer == "lbfgs":
                    raise ValueError(f"{type(self).__name__} cannot train on dask arrays; call partial_fit "
                                     "on each block, or fit on NumPy arrays")
                raise _minibatch_on_dask(self)
            from .dask import fit_lbfgs

            return fit_lbfgs(self, flatten_images(X), y)
        X, y = self._validate(X, y, need_y=True)
        xp = array_module(X)
        if self.optimizer == "lbfgs" and xp is not np:
            raise ValueError("optimizer='lbfgs' runs on the CPU (SciPy's L-BFGS-B): pass NumPy arrays, "
                             "or choose a minibatch optimizer to train on the GPU")
        self._setup(X, y)
        yi = self._encode(y)
        if self.optimizer == "lbfgs":
            self._fit_lbfgs(X, yi)
            return self
        if self.optimizer == "random_search":
            self._fit_random_search(X, yi)
            return self
        Xv = yv = None
        Xt, yt = X, yi
        if self.early_stopping:
            from sklearn.model_selection import train_test_split

            strat = yi if np.bincount(yi).min() >= 2 else None
            at = np.arange(len(yi))  # split indices: the data stay where they are
            try:
                it, iv = train_test_split(at, test_size=self.validation_fraction, stratify=strat,
                                          random_state=self._rng.integers(2**31))
            except ValueError:
                it, iv = train_test_split(at, test_size=self.validation_fraction,
                                          random_state=self._rng.integers(2**31))
            Xt, Xv, yt, yv = X[_on(xp, it)], X[_on(xp, iv)], yi[it], yi[iv]
        self._train(Xt, _on(xp, yt), Xv, None if yv is None else _on(xp, yv), self.epochs)
        return self

    def _batch(self, n):
        """batch_size="auto": 256, or fewer on small data so an epoch still has >= 16 updates."""
        if self.batch_size == "auto":
            return int(min(256, max(1, -(-n // 16))))
        return int(self.batch_size)

    def _trainer(self, epochs, n):
        t = Trainer(self.model_, optimizer=self._step_rule(), lr=self.lr, batch_size=self._batch(n),
                    epochs=epochs, lr_decay=self.lr_decay, decay_every=1,
                    patience=self.patience if self.early_stopping else None,
                    random_state=self._rng.integers(2**31), progress=self.progress,
                    momentum=self.momentum)
        if self._opt is not None:  # partial_fit: keep the optimizer state and lr
            t.optimizer = self._opt
        self._opt = t.optimizer
        return t

    def _step_rule(self):
        """The Trainer's optimizer for ``self.optimizer`` (a subclass maps its own names)."""
        return self.optimizer

    def _train(self, X, y, Xv, yv, epochs):
        t = self._trainer(epochs, len(y))
        try:
            t.fit(X, y, Xv, yv)
        finally:  # also after Ctrl-C: the epochs that ran are recorded
            self._record(t.history)

    def _record(self, h):
        self.n_iter_ += len(h["train_acc"])
        if self.history_ is None:
            self.history_ = h
        else:
            for k in ("loss", "train_acc", "val_acc", "lr"):
                self.history_[k].extend(h[k])
            self.history_["seconds"] += h["seconds"]
            self.history_["interrupted"] = h["interrupted"]

    def _fit_lbfgs(self, X, yi):
        m = self.model_
        work = {k: v.astype(np.float64) for k, v in m.params.items()}  # L-BFGS runs in float64
        m64 = self._new_model(X.shape[1], len(self.classes_), np.random.default_rng(0))
        m64.params = work
        m64.preprocess = m.preprocess

        def f():
            return m64.loss(X, yi)

        res = lbfgs(f, work, maxiter=self.epochs * 20)
        for k, v in work.items():
            m.params[k][...] = v
        self.n_iter_ = int(res.nit)
        self.history_ = {"loss": [float(res.fun)], "train_acc": [], "val_acc": [], "lr": [],
                         "best_epoch": None, "stopped_early": False, "interrupted": False,
                         "seconds": 0.0, "lbfgs": {"success": bool(res.success), "message": str(res.message)}}

    def partial_fit(self, X: ArrayLike, y: ArrayLike, classes: ArrayLike | None = None) -> TrainedClassifier:
        """One epoch of training on (X, y), continuing from the current parameters.
        ``classes`` (every label that will ever occur) is required on the first call."""
        self._check_common()
        self._check_params()
        if self.optimizer in ("lbfgs", "random_search"):
            raise ValueError(f"partial_fit needs a minibatch optimizer, not {self.optimizer!r}")
        if _is_dask(X) or _is_dask(y):
            # one block at a time: each block comes to this process in turn (as dask-ml's
            # Incremental trains), one epoch on each
            from .dask import iter_blocks

            for Xb, yb in iter_blocks(X, y):
                self.partial_fit(Xb, yb, classes=classes)
            return self
        first = not hasattr(self, "model_")
        X, y = self._validate(X, y, reset=first, need_y=True)
        if first:
            if classes is None:
                raise ValueError("classes must be given on the first call to partial_fit")
            self._setup(X, y, classes)
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError("classes differ from those of the first partial_fit call")
        self._train(X, _on(array_module(X), self._encode(y)), None, None, 1)
        return self

    # ---- prediction -------------------------------------------------------------------
    def _blockwise(self, method, X, ncols=None, dtype=np.float64):
        from .dask import predict_blockwise

        check_is_fitted(self, "model_")
        return predict_blockwise(self, method, flatten_images(X), ncols=ncols, dtype=dtype)

    def _scores(self, X):
        check_is_fitted(self, "model_")
        X = self._validate(X, reset=False)
        out = [self.model_.scores(X[s : s + _PRED_CHUNK]) for s in range(0, X.shape[0], _PRED_CHUNK)]
        return array_module(X).concatenate(out, axis=0)

    def decision_function(self, X: ArrayLike) -> np.ndarray:
        """Class scores (n_samples, n_classes); for two classes, score[1] - score[0].  A dask
        array gives a dask array, computed block by block on the workers (also predict)."""
        if _is_dask(X):
            C = len(self.classes_)
            return self._blockwise("decision_function", X, ncols=None if C == 2 else C, dtype=self._dtype)
        s = self._scores(X)
        return s[:, 1] - s[:, 0] if s.shape[1] == 2 else s

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Labels of X; a CuPy array for data on a GPU (where the labels are numbers); a dask
        array, computed block by block on the workers, for a dask array."""
        if _is_dask(X):
            return self._blockwise("predict", X, dtype=self.classes_.dtype)
        idx = self._scores(X).argmax(axis=1)
        xp = array_module(idx)
        if xp is np:
            return self.classes_[idx]
        if self.classes_.dtype.kind in "biuf":
            return xp.asarray(self.classes_)[idx]
        return self.classes_[idx.get()]  # labels CuPy cannot hold (strings): on the host

    def score(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """Mean accuracy on (X, y): on the cluster for dask arrays; data on a GPU are
        predicted there (only the labels come back)."""
        if (_is_dask(X) or _is_dask(y)) and sample_weight is None:
            from .dask import accuracy

            return accuracy(self.predict(X), y)
        if sample_weight is None and _gpu.device_array(X) is not None:
            return float((_host(self.predict(X)) == _host(y)).mean())
        return super().score(X, y, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.non_deterministic = False
        return tags


def softmax_proba(s):
    xp = array_module(s)
    s = s - s.max(axis=1, keepdims=True)
    e = xp.exp(s)
    return e / e.sum(axis=1, keepdims=True)


def _host(y):
    """Labels as a NumPy array, wherever they are."""
    mod = type(y).__module__
    if mod.startswith("cupy"):
        return y.get()
    if mod.startswith("torch"):
        return y.detach().cpu().numpy()
    return np.asarray(y)


def _on(xp, a):
    """A host array on the array module xp (unchanged for NumPy)."""
    return a if xp is np else xp.asarray(a)
