"""The Trainer (imgclf.train): history, the learning-rate schedule, early stopping, Ctrl-C."""
import numpy as np
import pytest
from imgclf import Trainer
from imgclf.linear import LinearModel

from .helpers import blobs


def test_trainer_history_schedule_and_early_stopping(rng):
    X, y = blobs(rng, n=400)
    m = LinearModel(20, 4, rng=0)
    t = Trainer(m, "momentum", lr=0.1, batch_size=50, epochs=50, lr_decay=0.5, decay_every=2,
                patience=2, random_state=0, progress=False)
    h = t.fit(X[:300], y[:300], X[300:], y[300:])
    assert h["stopped_early"] and len(h["val_acc"]) < 50
    assert len(h["loss"]) == 6 * len(h["val_acc"])
    assert h["lr"][0] == 0.1 and h["lr"][2] == pytest.approx(0.05)
    # the best parameters are restored
    assert np.mean(m.predict(X[300:]) == y[300:]) == max(h["val_acc"])


def test_trainer_keyboard_interrupt_keeps_best(rng):
    X, y = blobs(rng, n=200)

    class Boom(LinearModel):
        calls = 0

        def loss(self, X, y, rows=None):
            Boom.calls += 1
            if Boom.calls == 25:
                raise KeyboardInterrupt
            return super().loss(X, y, rows)

    m = Boom(20, 4, rng=0)
    t = Trainer(m, "sgd", lr=0.05, batch_size=20, epochs=10, random_state=0, progress=False)
    with pytest.raises(KeyboardInterrupt):  # Ctrl-C reaches the caller
        t.fit(X[:100], y[:100], X[100:], y[100:])
    h = t.history
    assert h["interrupted"] and len(h["val_acc"]) == 4  # call 25 ends epoch 5: four epochs complete
    assert np.mean(m.predict(X[100:]) == y[100:]) == max(h["val_acc"])


def test_trainer_keyboard_interrupt_without_validation(rng):
    """Without validation data too, Ctrl-C is not swallowed: the model keeps its last
    parameters, history says so, and the KeyboardInterrupt reaches the caller."""
    X, y = blobs(rng, n=200)
    seen = {}

    class Boom(LinearModel):
        calls = 0

        def loss(self, X, y, rows=None):
            Boom.calls += 1
            if Boom.calls == 7:
                seen["W"] = self.params["W"].copy()
                raise KeyboardInterrupt
            return super().loss(X, y, rows)

    m = Boom(20, 4, rng=0)
    t = Trainer(m, "sgd", lr=0.05, batch_size=20, epochs=10, random_state=0, progress=False)
    with pytest.raises(KeyboardInterrupt):
        t.fit(X, y)
    assert t.history["interrupted"] and len(t.history["loss"]) == 6
    np.testing.assert_array_equal(m.params["W"], seen["W"])  # the last parameters, untouched
