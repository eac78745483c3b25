"""network_train (imgclf.ops.network): consecutive minibatches, each network_loss and one
optimizer step, in one call -- against the same public ops called batch by batch on the same
backend (the compiled kernel calls the very same kernels, so bit for bit), against the NumPy
spec, at a non-finite loss, on Ctrl-C, with bad input; and the Trainer that uses it."""

import numpy as np
import pytest
from imgclf import Trainer, backend, ops
from imgclf.network import NetModel
from imgclf.ops.network import NETWORK_TRAIN
from imgclf.optim import Adam, make_optimizer

from ..helpers import interrupt_after, kernel_calls
from .test_network import _net

needs_cpu = pytest.mark.skipif(not backend.cpu_available(), reason="compiled CPU module not built")

OPTIMIZERS = {"sgd": {"lr": 0.05}, "momentum": {"lr": 0.05, "rho": 0.8}, "nesterov": {"lr": 0.05, "rho": 0.8},
              "adagrad": {"lr": 0.05, "eps": 1e-7}, "rmsprop": {"lr": 0.01, "decay": 0.9, "eps": 1e-7},
              "adam": {"lr": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-7, "weight_decay": 0.01}}
N_STATES = {"sgd": 0, "momentum": 1, "nesterov": 1, "adagrad": 1, "rmsprop": 1, "adam": 2}


def _states(kind, W, b, rng):
    # non-zero states (a run that continues), positive where they are squares
    return [([np.abs(rng.standard_normal(w.shape)).astype(w.dtype) * 0.01 for w in W],
             [np.abs(rng.standard_normal(v.shape)).astype(v.dtype) * 0.01 for v in b]) for _ in range(N_STATES[kind])]


def _interleave(W, b):
    return [a for pair in zip(W, b) for a in pair]


def _batch_by_batch(config, X, y, W, b, rows, batch, kind, hyper, states, step, max_norm, seeds, **kw):
    """What network_train does, as the public ops one batch at a time on config."""
    losses, params = [], _interleave(W, b)
    st = [_interleave(*s) for s in states]
    for k in range(-(-len(rows) // batch)):
        r = rows[k * batch:(k + 1) * batch]
        value, dW, db = ops.network_loss(X, y[config.get(r)] if config == "cuda" else y[r], W, b, rows=r,
                                         seeds=None if seeds is None else seeds[k], backend=config, **kw)
        losses.append(float(value))
        extra = {"step": step + k} if kind == "adam" else {}
        getattr(ops, f"{kind}_step")(params, _interleave(dW, db), *st, backend=config, **hyper, **extra)
        if max_norm:
            for w in W:
                ops.max_norm(w, max_norm, backend=config)
    return np.array(losses)


def _copy(W, b, states):
    return [w.copy() for w in W], [v.copy() for v in b], [([a.copy() for a in s[0]], [a.copy() for a in s[1]])
                                                          for s in states]


def _put(config, W, b, states):
    return ([config.put(w) for w in W], [config.put(v) for v in b],
            [([config.put(a) for a in s[0]], [config.put(a) for a in s[1]]) for s in states])


def _get(config, W, b, states):
    return ([config.get(w) for w in W], [config.get(v) for v in b],
            [([config.get(a) for a in s[0]], [config.get(a) for a in s[1]]) for s in states])


def _same(a, c, exact, dtype):
    a, c = np.asarray(a), np.asarray(c)
    assert a.shape == c.shape and a.dtype == c.dtype
    if exact:
        np.testing.assert_array_equal(a, c)
    else:
        tol = dict(rtol=2e-4, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(a, c, **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", list(OPTIMIZERS))
def test_network_train_is_network_loss_and_a_step_batch_after_batch(config, rng, monkeypatch, dtype, kind):
    calls = kernel_calls(NETWORK_TRAIN, config, monkeypatch)
    for widths, batch, n, dropout, max_norm in [((30, 17, 5), 32, 100, 0.0, None), ((33, 17, 9, 5), 16, 41, 0.3, 0.9),
                                                 ((20, 4), 7, 7, 0.0, 0.5), ((12, 5, 3), 64, 10, 0.2, None)]:
        W, b = _net(rng, widths, dtype)
        states = _states(kind, W, b, rng)
        X = rng.integers(0, 256, (60, widths[0])).astype(np.uint8)
        y = rng.integers(0, widths[-1], 60)
        rows = rng.integers(0, 60, n)  # repeats allowed
        rows[-1] = 59
        count = -(-n // batch)
        hidden = len(widths) - 2
        seeds = rng.integers(0, 2**63, (count, hidden)) if dropout else None
        kw = dict(scale=1 / 255, shift=rng.random(widths[0]), activation="tanh", reg=0.01, dropout=dropout)
        W1, b1, s1 = _put(config, *_copy(W, b, states))
        got = ops.network_train(config.put(X), config.put(y), W1, b1, rows=config.put(rows), batch_size=batch,
                                optimizer=kind, hyper=OPTIMIZERS[kind], states=s1, step=3, max_norm=max_norm,
                                seeds=seeds, backend=config, **kw)
        W2, b2, s2 = _put(config, *_copy(W, b, states))
        want = _batch_by_batch(config, config.put(X), config.put(y), W2, b2, config.put(rows), batch, kind,
                               OPTIMIZERS[kind], s2, 3, max_norm, seeds, **kw)
        # the kernel runs the very kernels the ops run one by one: the same bits
        exact = config != "cuda"
        assert len(got) == count
        _same(got, want, exact, np.float64)
        for a, c in zip(*(sum(([*w, *v] + [x for s in st for part in s for x in part]
                               for w, v, st in [_get(config, W1, b1, s1)]), []),
                          sum(([*w, *v] + [x for s in st for part in s for x in part]
                               for w, v, st in [_get(config, W2, b2, s2)]), [])), strict=True):
            _same(a, c, exact, dtype)
        # and the NumPy spec
        W3, b3, s3 = _copy(W, b, states)
        spec = ops.network_train(X, y, W3, b3, rows=rows, batch_size=batch, optimizer=kind, hyper=OPTIMIZERS[kind],
                                 states=s3, step=3, max_norm=max_norm, seeds=seeds, backend="numpy", **kw)
        _same(got, spec, False, dtype)
        for a, c in zip(_get(config, W1, b1, s1)[0], W3, strict=True):
            _same(a, c, False, dtype)
    if calls is not None:
        assert calls == [1, 1, 1, 1]


@needs_cpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_network_train_with_every_step_split_among_threads(rng, dtype):
    # batches large enough for every kernel's OpenMP threshold (network_loss's test) and
    # an optimizer step over more than a thread's share
    W, b = _net(rng, (300, 260, 70, 10), dtype)
    states = _states("adam", W, b, rng)
    X = rng.integers(0, 256, (500, 300)).astype(np.uint8)
    y = rng.integers(0, 10, 500)
    rows = rng.integers(0, 500, 700)
    kw = dict(rows=rows, batch_size=300, optimizer="adam", hyper=OPTIMIZERS["adam"], step=1, max_norm=1.5,
              scale=1 / 255, shift=rng.random(300), reg=0.01, dropout=0.25, seeds=rng.integers(0, 2**63, (3, 2)))
    W1, b1, s1 = _copy(W, b, states)
    got = ops.network_train(X, y, W1, b1, states=s1, **kw)
    W2, b2, s2 = _copy(W, b, states)
    want = ops.network_train(X, y, W2, b2, states=s2, backend="numpy", **kw)
    _same(got, want, False, dtype)
    for a, c in zip(W1 + b1 + s1[0][0] + s1[1][1], W2 + b2 + s2[0][0] + s2[1][1], strict=True):
        _same(a, c, False, dtype)


@pytest.mark.parametrize("be", ["numpy", pytest.param("cpu", marks=needs_cpu)])
def test_a_non_finite_loss_stops_before_its_step(rng, be):
    W, b = _net(rng, (20, 9, 3), np.float64)
    X = rng.standard_normal((50, 20))
    y = rng.integers(0, 3, 50)
    W1, b1, _ = _copy(W, b, [])
    losses = ops.network_train(X, y, W1, b1, batch_size=10, optimizer="sgd", hyper={"lr": 1e200}, backend=be)
    assert 2 <= len(losses) < 5 and np.isfinite(losses[:-1]).all() and not np.isfinite(losses[-1])
    W2, b2, _ = _copy(W, b, [])  # the steps before it, and no more
    ops.network_train(X, y, W2, b2, rows=np.arange(10 * (len(losses) - 1)), batch_size=10, optimizer="sgd",
                      hyper={"lr": 1e200}, backend=be)
    for a, c in zip(W1 + b1, W2 + b2, strict=True):
        np.testing.assert_array_equal(a, c)


@needs_cpu
def test_ctrl_c_stops_it_and_says_how_many_steps_were_taken(rng):
    W, b = _net(rng, (784, 256, 10), np.float32)
    states = _states("adam", W, b, rng)
    X = rng.integers(0, 256, (4000, 784)).astype(np.uint8)
    y = rng.integers(0, 10, 4000)
    rows = np.tile(np.arange(4000), 50)  # 782 batches: far longer than the 0.3 s before the signal
    W1, b1, s1 = _copy(W, b, states)
    seen = {}

    def run():
        try:
            ops.network_train(X, y, W1, b1, rows=rows, batch_size=256, optimizer="adam", hyper={"lr": 1e-3},
                              states=s1, scale=1 / 255)
        except KeyboardInterrupt as exc:
            seen["losses"] = exc.losses
            raise

    assert interrupt_after(0.3, run) < 10
    done = len(seen["losses"])
    assert 0 < done < 782
    W2, b2, s2 = _copy(W, b, states)  # exactly those steps were taken, no part of another
    want = ops.network_train(X, y, W2, b2, rows=rows[:256 * done], batch_size=256, optimizer="adam",
                             hyper={"lr": 1e-3}, states=s2, scale=1 / 255)
    np.testing.assert_array_equal(seen["losses"], want)
    for a, c in zip(W1 + b1 + s1[1][0], W2 + b2 + s2[1][0], strict=True):
        np.testing.assert_array_equal(a, c)


def test_ctrl_c_on_the_op_by_op_path_counts_the_steps_taken(rng, monkeypatch):
    from imgclf.ops import network

    compose, seen = network._compose, []

    def third_raises(*a):  # Ctrl-C inside the third batch's loss
        seen.append(1)
        if len(seen) == 3:
            raise KeyboardInterrupt
        return compose(*a)

    W, b = _net(rng, (8, 5, 3), np.float64)
    st = _states("adam", W, b, rng)
    X = rng.standard_normal((40, 8))
    y = rng.integers(0, 3, 40)
    kw = dict(batch_size=8, optimizer="adam", hyper={"lr": 0.01}, max_norm=1.0, backend="numpy")
    W1, b1, s1 = _copy(W, b, st)
    monkeypatch.setattr(network, "_compose", third_raises)
    with pytest.raises(KeyboardInterrupt) as info:
        ops.network_train(X, y, W1, b1, states=s1, **kw)
    monkeypatch.setattr(network, "_compose", compose)
    assert len(info.value.losses) == 2
    W2, b2, s2 = _copy(W, b, st)
    want = ops.network_train(X, y, W2, b2, rows=np.arange(16), states=s2, **kw)
    np.testing.assert_array_equal(info.value.losses, want)
    for a, c in zip(W1 + b1 + s1[1][0], W2 + b2 + s2[1][0], strict=True):
        np.testing.assert_array_equal(a, c)


def test_network_train_names_bad_arguments(rng):
    W, b = _net(rng, (6, 4, 3), np.float64)
    X = rng.standard_normal((10, 6))
    y = rng.integers(0, 3, 10)
    st = _states("adam", W, b, rng)
    ok = dict(batch_size=4, optimizer="adam", hyper={"lr": 0.1}, states=st)
    for change, err, match in [
            (dict(batch_size=0), ValueError, "batch_size"),
            (dict(optimizer="lbfgs"), ValueError, "optimizer must be one of"),
            (dict(hyper={"lr": 0.1, "rho": 0.9}), TypeError, "adam takes lr, beta1, beta2, eps, weight_decay, not rho"),
            (dict(hyper={}), TypeError, "adam needs lr"),
            (dict(hyper={"lr": -1}), ValueError, "lr"),
            (dict(hyper={"lr": 0.1, "beta1": 1.0}), ValueError, "beta1"),
            (dict(states=st[:1]), ValueError, "adam needs 2 states"),
            (dict(states=[st[0], (st[1][0], st[1][1][:1])]), ValueError, "the v state must be a pair"),
            (dict(step=0), ValueError, "step"),
            (dict(max_norm=0), ValueError, "max_norm"),
            (dict(dropout=0.5), ValueError, "dropout > 0 needs seeds"),
            (dict(dropout=0.5, seeds=[1]), ValueError, "one row per batch, one column per hidden layer"),
            (dict(states=[st[0], (W, st[1][1])]), ValueError, r"W\[0\] and the v of W\[0\] share memory"),
            (dict(states=[st[0], (st[0][0], st[1][1])]), ValueError, "the m of W.0. and the v of W.0. share memory"),
            (dict(states=[st[0], ([st[1][0][0][:, :2], st[1][0][1]], st[1][1])]), ValueError,
             r"the v of W\[0\] must be an array of W\[0\]'s shape"),
            (dict(states=[st[0], ([st[1][0][0].astype(np.float32), st[1][0][1]], st[1][1])]), ValueError,
             "dtype float64"),
            (dict(shift=W[0][:, 0].copy()), None, None)]:
        if err is None:  # (a shift of its own is fine)
            ops.network_train(X, y, [w.copy() for w in W], [v.copy() for v in b], **{**ok, **change})
            continue
        with pytest.raises(err, match=match):
            ops.network_train(X, y, W, b, **{**ok, **change})
    ro = [w.copy() for w in W]
    ro[1].flags.writeable = False
    with pytest.raises(ValueError, match=r"W\[1\] is read-only"):
        ops.network_train(X, y, ro, b, **ok)
    with pytest.raises(ValueError, match=r"W\[0\] and shift share memory"):
        ops.network_train(X, y, W, b, shift=W[0].reshape(-1)[:6], **ok)
    with pytest.raises(ValueError, match="y must lie in"):
        ops.network_train(X, np.full(10, 3), W, b, **ok)
    with pytest.raises(ValueError, match="rows"):
        ops.network_train(X, y, W, b, rows=[10], **ok)


@needs_cpu
def test_the_binding_refuses_states_and_outputs_of_the_wrong_shape(rng):
    from imgclf.ops.network import _network_train_cpu

    W, b = _net(rng, (6, 4, 3), np.float32)
    X = rng.standard_normal((10, 6)).astype(np.float32)
    y = rng.integers(0, 3, 10)
    h = dict(scale=1.0, shift=None, activation="relu", slope=0.0, loss="softmax", margin=1.0, penalty="l2", reg=0.0,
             beta=0.5, p=0.0, seeds=None)
    rows = np.arange(10)

    def run(states, W=W):
        tr = {"batch": 4, "kind": "adam", "hyper": {"lr": 0.1, "beta1": 0.9, "beta2": 0.99, "eps": 1e-8,
                                                    "weight_decay": 0.0}, "states": states, "step": 1, "max_norm": None}
        return _network_train_cpu(X, y, W, b, rows, h, {}, tr)

    good = [([np.zeros_like(w) for w in W], [np.zeros_like(v) for v in b]) for _ in range(2)]
    run(good)
    bad = [([np.zeros((2, 2), np.float32), np.zeros_like(W[1])], good[0][1]), good[1]]
    with pytest.raises(ValueError, match="state1 must have the shape of its param"):
        run(bad)
    bad = [good[0], ([w.astype(np.float64) for w in W], good[1][1])]
    with pytest.raises(TypeError, match="state2 must have the dtype of its param"):
        run(bad)
    ro = [w.copy() for w in W]
    ro[0].flags.writeable = False
    with pytest.raises(ValueError, match=r"W\[0\] must be writeable"):
        run(good, W=ro)
    shared = [good[0], (good[0][0], good[1][1])]  # v is m
    with pytest.raises(ValueError, match="must not share memory"):
        run(shared)


# the Trainer: the steps of a whole run of batches in one call, the same bits as batch by batch


class _PerBatch:
    """An optimizer whose update is its class's own (a subclass): the Trainer then steps
    batch by batch (NetModel.train_steps declines)."""

    @staticmethod
    def make(name, lr):
        base = type(make_optimizer(name, lr))

        class PerBatch(base):
            def _update(self, p, g, st):
                super()._update(p, g, st)

        opt = make_optimizer(name, lr)
        opt.__class__ = PerBatch
        return opt


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"])
def test_the_trainer_takes_many_steps_per_call_with_the_same_bits(rng, monkeypatch, name):
    X = rng.integers(0, 256, (1000, 30)).astype(np.uint8)
    y = rng.integers(0, 4, 1000)
    calls = []
    run = ops.network.network_train
    monkeypatch.setattr(ops.network, "network_train", lambda *a, **k: calls.append(1) or run(*a, **k))
    monkeypatch.setattr(ops, "network_train", ops.network.network_train)
    out = []
    for opt in (make_optimizer(name, 0.01), _PerBatch.make(name, 0.01)):
        from imgclf._trained import Preprocess

        m = NetModel(30, (12, 7), 4, reg=1e-3, rng=5, preprocess=Preprocess(X, np.float32), dropout=0.2,
                     max_norm=2.0)
        t = Trainer(m, optimizer=opt, batch_size=7, epochs=2, random_state=3, progress=False)
        t.fit(X, y)
        out.append((m.params, t.history["loss"], opt.steps))
    assert calls and len(calls) == 2 * -(-143 // 32)  # 143 batches an epoch, 32 per call
    (p1, l1, s1), (p2, l2, s2) = out
    assert l1 == l2 and s1 == s2 == 2 * 143
    for k in p1:
        np.testing.assert_array_equal(p1[k], p2[k])


def test_the_trainer_stops_on_a_diverging_loss_with_the_losses_before_it(rng):
    X = rng.standard_normal((300, 10))
    y = rng.integers(0, 3, 300)
    hist = []
    for opt in (make_optimizer("sgd", 1e200), _PerBatch.make("sgd", 1e200)):
        m = NetModel(10, 5, 3, rng=0)
        t = Trainer(m, optimizer=opt, batch_size=10, epochs=1, random_state=0, progress=False)
        with pytest.raises(FloatingPointError, match="the training loss became .* at epoch 1"):
            t.fit(X, y)
        hist.append(t.history["loss"])
    assert hist[0] == hist[1] and len(hist[0]) >= 1


def test_a_stop_leaves_the_dropout_masks_where_batch_by_batch_would(rng):
    X = rng.standard_normal((300, 10))
    y = rng.integers(0, 3, 300)
    states = []
    for opt in (make_optimizer("sgd", 1e200), _PerBatch.make("sgd", 1e200)):
        m = NetModel(10, (6, 5), 3, rng=0, dropout=0.3)
        t = Trainer(m, optimizer=opt, batch_size=10, epochs=1, random_state=0, progress=False)
        with pytest.raises(FloatingPointError):
            t.fit(X, y)
        assert len(t.history["loss"]) < 30  # stopped inside the first call's 30 batches
        states.append(m._drop_rng.bit_generator.state)
    assert states[0] == states[1]
    # a refused call draws nothing
    m = NetModel(10, (6, 5), 3, rng=0, dropout=0.3)
    before = m._drop_rng.bit_generator.state
    bad = y.copy()
    bad[3] = 7  # a label past the 3 classes
    with pytest.raises(ValueError, match="y"):
        m.train_steps(X, bad, np.arange(300), 10, make_optimizer("sgd", 0.1))
    assert m._drop_rng.bit_generator.state == before


@needs_cpu
def test_ctrl_c_in_the_trainer_keeps_the_losses_and_the_step_count_of_the_steps_taken(rng):
    X = rng.integers(0, 256, (4000, 784)).astype(np.uint8)
    y = rng.integers(0, 10, 4000)
    opt = Adam(1e-3)
    m = NetModel(784, (256,), 10, rng=0, dropout=0.1)  # the masks too are those of the steps taken
    t = Trainer(m, optimizer=opt, batch_size=256, epochs=200, random_state=0, progress=False)
    interrupt_after(0.5, lambda: t.fit(X, y))
    steps = opt.steps
    assert t.history["interrupted"] and 0 < len(t.history["loss"]) == steps
    # the parameters are those of exactly that many steps, in the Trainer's order
    order_rng = np.random.default_rng(0)
    order_rng.choice(4000, 4000, replace=False)  # the Trainer's train-accuracy sample comes first
    m2, opt2, losses = NetModel(784, (256,), 10, rng=0, dropout=0.1), Adam(1e-3), []
    while opt2.steps < steps:
        order = order_rng.permutation(4000)
        losses += list(m2.train_steps(X, y, order[:256 * min(16, steps - opt2.steps)], 256, opt2))
    assert losses == t.history["loss"]
    assert m._drop_rng.bit_generator.state == m2._drop_rng.bit_generator.state
    for k in m.params:
        np.testing.assert_array_equal(m.params[k], m2.params[k])


class _OwnStep(Adam):
    def step(self, params, grads):  # e.g. gradient clipping: must not be bypassed
        for g in grads.values():
            np.clip(g, -1e-3, 1e-3, out=g)
        super().step(params, grads)


class _OwnLoss(NetModel):
    def loss(self, *a, **k):
        value, g = super().loss(*a, **k)
        return value * 2, g


@pytest.mark.parametrize("case", ["optimizer", "model"])
def test_an_override_is_never_bypassed(rng, monkeypatch, case):
    X = rng.standard_normal((64, 6))
    y = rng.integers(0, 3, 64)
    m = (_OwnLoss if case == "model" else NetModel)(6, 4, 3, rng=0)
    opt = _OwnStep(0.1) if case == "optimizer" else Adam(0.1)
    monkeypatch.setattr(ops, "network_train", lambda *a, **k: pytest.fail("the override was bypassed"))
    t = Trainer(m, optimizer=opt, batch_size=16, epochs=1, random_state=0, progress=False)
    t.fit(X, y)
    assert len(t.history["loss"]) == 4 and opt.steps == 4


def test_torch_tensors_are_updated_in_place(rng):
    torch = pytest.importorskip("torch")
    W, b = _net(rng, (6, 4, 3), np.float32)
    st = _states("momentum", W, b, rng)
    X = rng.standard_normal((20, 6)).astype(np.float32)
    y = rng.integers(0, 3, 20)
    Wt, bt = [torch.from_numpy(w.copy()) for w in W], [torch.from_numpy(v.copy()) for v in b]
    stt = [([torch.from_numpy(a.copy()) for a in s[0]], [torch.from_numpy(a.copy()) for a in s[1]]) for s in st]
    kw = dict(batch_size=8, optimizer="momentum", hyper={"lr": 0.1, "rho": 0.5})
    losses = ops.network_train(torch.from_numpy(X), torch.from_numpy(y), Wt, bt, states=stt, **kw)
    want = ops.network_train(X, y, W, b, states=st, backend="numpy", **kw)
    assert isinstance(losses, torch.Tensor)
    np.testing.assert_allclose(losses.numpy(), want, rtol=2e-5)
    for a, c in zip(Wt + bt + stt[0][0], W + b + st[0][0], strict=True):
        np.testing.assert_allclose(a.numpy(), c, rtol=2e-4, atol=2e-5)
