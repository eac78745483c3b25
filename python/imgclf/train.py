"""Trainer: minibatch gradient descent over any model exposing ``loss(X, y) -> (loss, grads)``.

A model for the Trainer has:
  params            dict name -> float array, updated in place
  loss(X, y)        -> (float loss, dict of grads with the keys of params); a model that
                    sets ``accepts_rows = True`` is called as loss(X, y, rows=idx) instead,
                    so it can draw the minibatch itself (uint8 images stay uint8 in memory)
  predict(X)        -> integer class indices (for the accuracies in the history)
  after_step()      optional: called after every optimizer step (a constraint such as
                    max-norm projects the parameters there)
  train_steps(X, y, rows, batch_size, optimizer)
                    optional (with accepts_rows): the steps of the consecutive minibatches
                    of rows in one call, after_step's work included; returns their losses
                    (a non-finite one last where it stopped), or None to be stepped batch
                    by batch (NetModel: one imgclf.ops.network_train call)

Data on a GPU (CuPy arrays or torch CUDA tensors, with the model's parameters moved there
by ``model.to(cupy)``) trains there: the minibatch indices are drawn on the host (the same
shuffles as on the CPU for the same random_state) and sent with each batch; the data never
leave the device.
"""
from __future__ import annotations

import math
import sys
import time
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from . import _gpu
from ._validation import array_module
from .optim import Optimizer, make_optimizer

# minibatches per call of a model's train_steps: the progress bar moves and Python runs
# once per this many steps
STEPS_PER_CALL = 32

__all__ = ["Trainer"]


def progress_enabled(progress: bool | str) -> bool:
    """Whether to show a progress bar: True, False, or \"auto\" (stderr is a terminal)."""
    if progress == "auto":
        return bool(getattr(sys.stderr, "isatty", lambda: False)())
    return bool(progress)


class Trainer:
    """Minibatch training with a learning-rate schedule, validation and early stopping.

    Parameters
    ----------
    model : object with ``params``, ``loss`` and ``predict`` (see the module docstring).
    optimizer : name ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam") or an
        :class:`imgclf.optim.Optimizer`.
    lr : learning rate (ignored when ``optimizer`` is an Optimizer instance).
    batch_size, epochs : minibatch size and number of passes over the data.
    lr_decay, decay_every : step decay, lr *= lr_decay every ``decay_every`` epochs.
    patience : stop when validation accuracy has not improved for this many epochs
        (None: never stop early).  With validation data the best parameters seen are
        restored at the end, also after an early stop or a Ctrl-C.
    train_acc_samples : training accuracy per epoch is measured on at most this many
        training samples (a fixed random subset) to keep it cheap.
    random_state : seeds the shuffling of every epoch.
    progress : True, False or "auto" (a tqdm bar when stderr is a terminal).

    After :meth:`fit`, ``history`` holds ``loss`` (one per iteration), ``train_acc`` and
    ``val_acc`` (one per epoch), ``lr`` (per epoch), ``best_epoch``, ``stopped_early``,
    ``interrupted`` and ``seconds``.

    Ctrl-C during :meth:`fit` stops the training, leaves the model with the best parameters
    seen (with validation data) or its last ones (without), sets ``history["interrupted"]``
    and re-raises the KeyboardInterrupt, so a script stops as it would anywhere else; catch
    it to carry on with the model as it is.
    """

    def __init__(self, model: Any, optimizer: str | Optimizer = "sgd", lr: float = 1e-2, batch_size: int = 256,
                 epochs: int = 10, lr_decay: float = 1.0, decay_every: int = 1, patience: int | None = None,
                 train_acc_samples: int = 5000, random_state: int | None = None, progress: bool | str = "auto",
                 momentum: float = 0.9) -> None:
        for name in ("params", "loss", "predict"):
            if not hasattr(model, name):
                raise TypeError(f"model must have a '{name}' attribute (see imgclf.train)")
        self.model = model
        self.optimizer = make_optimizer(optimizer, lr, momentum) if not isinstance(optimizer, Optimizer) else optimizer
        self.batch_size = _int_at_least(batch_size, "batch_size", 1)
        self.epochs = _int_at_least(epochs, "epochs", 0)
        self.lr_decay = float(lr_decay)
        if not 0 < self.lr_decay <= 1:
            raise ValueError(f"lr_decay must be in (0, 1], got {lr_decay}")
        self.decay_every = _int_at_least(decay_every, "decay_every", 1)
        self.patience = None if patience is None else _int_at_least(patience, "patience", 1)
        self.train_acc_samples = _int_at_least(train_acc_samples, "train_acc_samples", 1)
        self.rng = np.random.default_rng(random_state)
        self.progress = progress
        self.history = {"loss": [], "train_acc": [], "val_acc": [], "lr": [], "best_epoch": None,
                        "stopped_early": False, "interrupted": False, "seconds": 0.0}

    def _batch_loss(self, X, y, idx):
        if getattr(self.model, "accepts_rows", False):
            return self.model.loss(X, y[idx], rows=idx)
        return self.model.loss(X[idx], y[idx])

    def _diverged(self, loss, epoch):
        raise FloatingPointError(f"the training loss became {loss} at epoch {epoch + 1}: the model diverged; "
                                 f"lower the learning rate (now {self.optimizer.lr:g})")

    def _accuracy(self, X, y):
        return float((self.model.predict(X) == y).mean())

    def fit(self, X: ArrayLike, y: ArrayLike, X_val: ArrayLike | None = None,
            y_val: ArrayLike | None = None) -> dict[str, Any]:
        """Train for ``epochs`` passes (fewer on early stop); returns history.  Ctrl-C: see
        the class docstring (parameters kept, KeyboardInterrupt re-raised)."""
        X, y, X_val, y_val = (_on_gpu(a) for a in (X, y, X_val, y_val))  # torch CUDA tensors as CuPy
        xp = array_module(X)
        y = xp.asarray(y)
        if X_val is not None and y_val is not None:
            y_val = array_module(X_val).asarray(y_val)
        dev = (lambda i: i) if xp is np else xp.asarray  # host indices to X's device
        n = len(y)
        if n == 0:
            raise ValueError("X is empty")
        if len(X) != n:
            raise ValueError(f"X has {len(X)} samples but y has {n}")
        has_val = X_val is not None
        if has_val and (y_val is None or len(X_val) != len(y_val)):
            raise ValueError("X_val and y_val must both be given, with the same length")
        h = self.history
        after_step = getattr(self.model, "after_step", None)
        # a model that takes many steps in one call (NetModel.train_steps: one kernel call on
        # the CPU, the same arithmetic as batch by batch, without Python between batches)
        steps = getattr(self.model, "train_steps", None) if getattr(self.model, "accepts_rows", False) else None
        steps = steps if callable(steps) else None
        sub = self.rng.choice(n, size=min(n, self.train_acc_samples), replace=False)
        sub.sort()
        sub = dev(sub)
        best_acc, best_params, since_best = -1.0, None, 0
        per_epoch = math.ceil(n / self.batch_size)
        bar = None
        if progress_enabled(self.progress) and self.epochs:
            from tqdm.auto import tqdm

            bar = tqdm(total=self.epochs * per_epoch, desc="train", unit="batch", leave=False)
        t0 = time.perf_counter()
        try:
            for epoch in range(self.epochs):
                order = self.rng.permutation(n)
                s = 0
                while s < n:
                    if steps is not None:  # many batches in one call
                        idx = dev(order[s : s + self.batch_size * STEPS_PER_CALL])
                        try:
                            losses = steps(X, y, idx, self.batch_size, self.optimizer)
                        except KeyboardInterrupt as exc:
                            h["loss"].extend(float(v) for v in getattr(exc, "losses", ()))
                            raise
                        if losses is None:  # this model and optimizer cannot: batch by batch
                            steps = None
                            continue
                        bad = len(losses) > 0 and not np.isfinite(losses[-1])
                        h["loss"].extend(float(v) for v in losses[: len(losses) - bad])
                        if bar is not None:
                            bar.update(len(losses) - bad)
                        if bad:
                            self._diverged(float(losses[-1]), epoch)
                        s += len(idx)
                        continue
                    idx = dev(order[s : s + self.batch_size])
                    loss, grads = self._batch_loss(X, y, idx)
                    loss = float(loss)  # (on a GPU: the one synchronization of a step)
                    if not np.isfinite(loss):
                        self._diverged(loss, epoch)
                    self.optimizer.step(self.model.params, grads)
                    if after_step is not None:
                        after_step()
                    h["loss"].append(loss)
                    if bar is not None:
                        bar.update(1)
                    s += self.batch_size
                h["lr"].append(self.optimizer.lr)
                h["train_acc"].append(self._accuracy(X[sub], y[sub]))
                if has_val:
                    acc = self._accuracy(X_val, y_val)
                    h["val_acc"].append(acc)
                    if acc > best_acc:
                        best_acc, since_best, h["best_epoch"] = acc, 0, epoch
                        best_params = {k: v.copy() for k, v in self.model.params.items()}
                    else:
                        since_best += 1
                if bar is not None:
                    post = {"loss": f"{np.mean(h['loss'][-per_epoch:]):.4f}", "train": f"{h['train_acc'][-1]:.3f}"}
                    if has_val:
                        post["val"] = f"{h['val_acc'][-1]:.3f}"
                    bar.set_postfix(post)
                if (epoch + 1) % self.decay_every == 0:
                    self.optimizer.lr *= self.lr_decay
                if self.patience is not None and has_val and since_best >= self.patience:
                    h["stopped_early"] = True
                    break
        except KeyboardInterrupt:
            # Ctrl-C stops training and reaches the caller (as everywhere in Python); the
            # model keeps its parameters: the best ones seen with validation data, else the
            # last ones, and history records it
            h["interrupted"] = True
            raise
        finally:
            if bar is not None:
                bar.close()
            if best_params is not None:
                for k, v in best_params.items():
                    self.model.params[k][...] = v
            h["seconds"] += time.perf_counter() - t0
        return h


def _on_gpu(a):
    d = _gpu.device_array(a)
    return a if d is None else d


def _int_at_least(v, name, lo):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise ValueError(f"{name} must be an int >= {lo}, got {v!r}")
    return int(v)
