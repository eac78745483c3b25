"""The network family (imgclf.ops.network: network_loss, a fully connected network's minibatch
in one call) on every backend against its spec, the composition of the public ops run on
the NumPy reference; workspace reuse; bad input."""

import numpy as np
import pytest
from imgclf import backend, ops
from imgclf.ops.network import NETWORK_LOSS

from ..helpers import kernel_calls

needs_cpu = pytest.mark.skipif(not backend.cpu_available(), reason="compiled CPU module not built")

TOL = {np.float32: dict(rtol=2e-4, atol=2e-5), np.float64: dict(rtol=1e-10, atol=1e-12)}

# widths d, hidden..., C: no hidden layer; widths that are not multiples of a SIMD line or
# of the products' tiles; a hidden layer of one unit; three hidden layers
SHAPES = [(30, 5), (30, 17, 5), (30, 1, 3), (33, 17, 9, 5), (20, 13, 12, 11, 2)]


def _net(rng, widths, dtype):
    W = [(rng.standard_normal((a, c)) * (1.5 / np.sqrt(a))).astype(dtype) for a, c in zip(widths[:-1], widths[1:])]
    b = [(rng.standard_normal(c) * 0.1).astype(dtype) for c in widths[1:]]
    return W, b


def _check(got, want, dtype):
    (v1, dW1, db1), (v2, dW2, db2) = got, want
    assert v1 == pytest.approx(v2, rel=TOL[dtype]["rtol"], abs=TOL[dtype]["atol"])
    assert len(dW1) == len(dW2) and len(db1) == len(db2)
    for a, c in zip(dW1 + db1, dW2 + db2):
        assert a.shape == c.shape and a.dtype == c.dtype
        np.testing.assert_allclose(a, c, **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("loss", ops.LOSSES)
def test_network_loss_matches_the_composed_ops(config, rng, monkeypatch, dtype, activation, loss):
    calls, made = kernel_calls(NETWORK_LOSS, config, monkeypatch), 0
    for widths in SHAPES:
        W, b = _net(rng, widths, dtype)
        for xdtype in (np.uint8, np.float32, np.float64):
            n_rows = 60
            X = rng.integers(0, 256, (n_rows, widths[0])).astype(xdtype)
            for n in (1, 41):
                rows = rng.integers(0, n_rows, n)  # repeats allowed
                rows[-1] = n_rows - 1
                y = rng.integers(0, widths[-1], n)
                hidden = len(widths) - 2
                for dropout, penalty, reg in [(0.0, "l2", 0.0), (0.3, "elasticnet", 0.05), (0.5, "l1", 0.01)]:
                    # (without a hidden layer dropout has nothing to drop: seeds=[])
                    kw = dict(rows=rows, scale=1 / 255, shift=rng.random(widths[0]), activation=activation,
                              slope=0.05, loss=loss, margin=0.7, reg=reg, penalty=penalty, beta=0.3,
                              dropout=dropout, seeds=rng.integers(0, 2**63, hidden) if dropout else None)
                    got = config.ops.network_loss(X, y, W, b, **kw)
                    want = ops.network_loss(X, y, W, b, backend="numpy", **kw)
                    _check(got, want, dtype)
                    made += 1
                # rows without a shift
                kw = dict(rows=rows, scale=1 / 255, activation=activation, loss=loss)
                _check(config.ops.network_loss(X, y, W, b, **kw), ops.network_loss(X, y, W, b, backend="numpy", **kw),
                       dtype)
                made += 1
            # all rows, with and without a shift
            y = rng.integers(0, widths[-1], n_rows)
            for shift in (None, rng.random(widths[0])):
                kw = dict(scale=0.01, shift=shift, activation=activation, loss=loss)
                _check(config.ops.network_loss(X, y, W, b, **kw), ops.network_loss(X, y, W, b, backend="numpy", **kw),
                       dtype)
                made += 1
    if calls is not None:
        assert len(calls) == made  # every call ran the compiled kernel


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_network_loss_matches_with_every_step_split_among_threads(config, rng, monkeypatch, dtype):
    # large enough for every kernel's OpenMP threshold: the gather, the products, bias +
    # activation and its backward pass, dropout (78000 elements) and the penalty (W[0])
    calls = kernel_calls(NETWORK_LOSS, config, monkeypatch)
    W, b = _net(rng, (300, 260, 70, 10), dtype)
    X = rng.integers(0, 256, (500, 300)).astype(np.uint8)
    rows = rng.integers(0, 500, 300)
    y = rng.integers(0, 10, 300)
    kw = dict(rows=rows, scale=1 / 255, shift=rng.random(300), activation="tanh", reg=0.01, dropout=0.25,
              seeds=[11, 12])
    _check(config.ops.network_loss(X, y, W, b, **kw), ops.network_loss(X, y, W, b, backend="numpy", **kw), dtype)
    if calls is not None:
        assert calls == [1]


@needs_cpu
def test_network_loss_keeps_its_scratch_in_the_workspace_and_returns_fresh_gradients(rng):
    W, b = _net(rng, (30, 17, 9, 5), np.float32)
    X = rng.standard_normal((50, 30)).astype(np.float32)
    y = rng.integers(0, 5, 20)
    rows = rng.integers(0, 50, 20)
    ws = {}
    first = ops.network_loss(X, y, W, b, rows=rows, workspace=ws, backend="cpu")
    assert {"x", "h1", "h2", "s", "ds"} <= set(ws)
    held = {k: v for k, v in ws.items()}
    # the hidden activations of the batch are left in the workspace
    x = X[rows]
    np.testing.assert_allclose(ws["h1"], np.maximum(x @ W[0] + b[0], 0), rtol=1e-5, atol=1e-5)
    second = ops.network_loss(X, y, W, b, rows=rows, workspace=ws, backend="cpu")
    assert all(ws[k] is held[k] for k in held)  # reused, not reallocated
    _check(second, first, np.float32)
    for a in second[1] + second[2]:
        assert not any(np.shares_memory(a, v) for v in ws.values())
        assert not any(np.shares_memory(a, c) for c in first[1] + first[2])


@needs_cpu
def test_network_loss_is_what_the_network_model_trains_on(rng):
    # NetModel.loss is one network_loss call: its gradients are the composed ops' gradients
    from imgclf.network import NetModel

    m = NetModel(30, (17, 9), 5, reg=0.01, rng=0, activation="tanh", dropout=0.2)
    X = rng.integers(0, 256, (40, 30)).astype(np.uint8)
    y = rng.integers(0, 5, 40)
    value, g = m.loss(X, y, dropout_seeds=[3, 4])
    W = [m.params[f"W{i}"] for i in (1, 2, 3)]
    b = [m.params[f"b{i}"] for i in (1, 2, 3)]
    want = ops.network_loss(X, y, W, b, activation="tanh", reg=0.01, dropout=0.2, seeds=[3, 4], backend="numpy")
    _check((value, [g[f"W{i}"] for i in (1, 2, 3)], [g[f"b{i}"] for i in (1, 2, 3)]), want, np.float32)


def test_network_loss_names_bad_arguments(rng):
    W, b = _net(rng, (6, 4, 3), np.float64)
    X = rng.standard_normal((5, 6))
    y = np.array([0, 1, 2, 0, 1])
    with pytest.raises(ValueError, match="W and b"):
        ops.network_loss(X, y, W, b[:1])
    with pytest.raises(ValueError, match=r"W\[1\] has 5 rows"):
        ops.network_loss(X, y, [W[0], np.zeros((5, 3))], b)
    with pytest.raises(ValueError, match=r"b\[0\]"):
        ops.network_loss(X, y, W, [np.zeros(3), b[1]])
    with pytest.raises(ValueError, match=r"W\[1\] must be a 2-D float64"):
        ops.network_loss(X, y, [W[0], W[1].astype(np.float32)], b)
    with pytest.raises(ValueError, match="features"):
        ops.network_loss(X[:, :5], y, W, b)
    with pytest.raises(ValueError, match="y must lie"):
        ops.network_loss(X, np.array([0, 1, 3, 0, 1]), W, b)
    with pytest.raises(ValueError, match="needs seeds"):
        ops.network_loss(X, y, W, b, dropout=0.5)
    with pytest.raises(ValueError, match="one seed per hidden layer"):
        ops.network_loss(X, y, W, b, dropout=0.5, seeds=[1, 2])
    for bad in ([-1], [1.5], ["a"]):
        with pytest.raises(ValueError, match="seeds must be non-negative integers"):
            ops.network_loss(X, y, W, b, dropout=0.5, seeds=bad)
    with pytest.raises(ValueError, match="dropout must be in"):
        ops.network_loss(X, y, W, b, dropout=1.0, seeds=[1])
    with pytest.raises(ValueError, match="activation"):
        ops.network_loss(X, y, W, b, activation="identity")
    with pytest.raises(ValueError, match="empty"):
        ops.network_loss(X, y[:0], W, b, rows=np.array([], dtype=np.int64))
    with pytest.raises(ValueError, match="rows"):
        ops.network_loss(X, y[:2], W, b, rows=np.array([0, 5]))
    with pytest.raises(ValueError, match="reg"):
        ops.network_loss(X, y, W, b, reg=-1.0)


@needs_cpu
def test_the_binding_refuses_buffers_of_the_wrong_shape(rng):
    # the private binding checks every buffer itself (a wrong one is an error, not a write
    # past its end)
    cpu = backend.cpu_module()
    W, b = _net(rng, (6, 4, 3), np.float32)
    X = rng.standard_normal((5, 6)).astype(np.float32)
    y = np.array([0, 1, 2, 0, 1])
    E = cpu.Activation.relu, 0.0, cpu.LossKind.softmax, 1.0, cpu.PenaltyKind.l2, 0.0, 0.5, 0.0, None

    def call(dh=None, s=None, dW=None):
        return cpu.network_loss(
            X, None, 1.0, None, y, W, b, dW or [np.empty_like(w) for w in W], [np.empty_like(v) for v in b],
            np.empty((5, 6), np.float32), [np.empty((5, 4), np.float32)], None,
            np.empty((5, 3), np.float32) if s is None else s, np.empty((5, 3), np.float32),
            [np.empty((5, 4), np.float32)] if dh is None else dh, *E)

    assert np.isfinite(call())
    with pytest.raises(ValueError, match=r"dh\[0\] has the wrong shape"):
        call(dh=[np.empty((5, 3), np.float32)])
    with pytest.raises(ValueError, match="dh must hold 1"):
        call(dh=[])
    with pytest.raises(ValueError, match="s has the wrong shape"):
        call(s=np.empty((4, 3), np.float32))
    with pytest.raises(TypeError, match=r"dW\[1\] must have W\[0\]'s dtype"):
        call(dW=[np.empty_like(W[0]), np.empty((4, 3))])
    with pytest.raises(ValueError, match="writeable"):
        ro = np.empty((5, 3), np.float32)
        ro.flags.writeable = False
        call(s=ro)


@needs_cpu
def test_network_loss_takes_weights_in_any_memory_order_on_the_kernel(rng):
    W, b = _net(rng, (6, 4, 3), np.float64)
    Wf = [np.asfortranarray(W[0]), np.ascontiguousarray(W[1].T).T]  # column-major, transposed view
    X = rng.standard_normal((5, 6))
    y = np.array([0, 1, 2, 0, 1])
    calls = []
    usable, run = NETWORK_LOSS.impls["cpu"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(NETWORK_LOSS.impls, "cpu", (usable, lambda *a: calls.append(1) or run(*a)))
        got = ops.network_loss(X, y, Wf, b, backend="cpu")
    assert calls == [1]
    _check(got, ops.network_loss(X, y, W, b, backend="numpy"), np.float64)


@needs_cpu
def test_inputs_that_are_workspace_buffers_are_read_before_they_are_overwritten(rng):
    W, b = _net(rng, (8, 5, 3), np.float64)
    X = rng.standard_normal((30, 8))
    y = rng.integers(0, 3, 12)
    rows = rng.integers(0, 12, 12)
    ws = {}
    ops.network_loss(X, rng.integers(0, 3, 12), W, b, rows=rows[:12], workspace=ws)
    Xw = ws["x"]  # (12, 8): the op's own gather buffer, passed back as the input
    want = ops.network_loss(Xw.copy(), y, W, b, rows=rows[::-1].copy(), backend="numpy")
    _check(ops.network_loss(Xw, y, W, b, rows=rows[::-1].copy(), workspace=ws, backend="cpu"), want, np.float64)
    ws["h1"] = np.zeros((12, 5))[:, ::-1]  # not C-contiguous: replaced, not refused
    ws["s"] = np.zeros((12, 3))
    ws["s"].flags.writeable = False  # read-only: replaced
    _check(ops.network_loss(X, y, W, b, rows=rows, workspace=ws),
           ops.network_loss(X, y, W, b, rows=rows, backend="numpy"), np.float64)
    with pytest.raises(TypeError, match="workspace must be a dict"):
        ops.network_loss(X, y, W, b, rows=rows, workspace=[])


def test_torch_tensors_in_give_torch_tensors_out(rng):
    torch = pytest.importorskip("torch")
    W, b = _net(rng, (6, 4, 3), np.float32)
    X = rng.standard_normal((5, 6)).astype(np.float32)
    y = np.array([0, 1, 2, 0, 1])
    value, dW, db = ops.network_loss(torch.from_numpy(X), torch.from_numpy(y), [torch.from_numpy(w) for w in W],
                                     [torch.from_numpy(v) for v in b])
    assert all(isinstance(a, torch.Tensor) for a in dW + db)
    _check((value, [a.numpy() for a in dW], [a.numpy() for a in db]), ops.network_loss(X, y, W, b, backend="numpy"),
           np.float32)


@needs_cpu
def test_a_network_model_with_a_plain_callable_preprocess_trains_as_with_its_scale_and_shift(rng):
    from imgclf._trained import Preprocess
    from imgclf.network import NetModel

    X = rng.integers(0, 256, (40, 12)).astype(np.uint8)
    y = rng.integers(0, 3, 40)
    pre = Preprocess(X, np.float32)
    plain = NetModel(12, 7, 3, reg=0.01, rng=0, preprocess=lambda X, dt, rows, out: pre(X, dt, rows, out))
    fused = NetModel(12, 7, 3, reg=0.01, rng=0, preprocess=pre)
    rows = rng.integers(0, 40, 16)
    v1, g1 = plain.loss(X, y[rows], rows=rows)
    v2, g2 = fused.loss(X, y[rows], rows=rows)
    assert v1 == pytest.approx(v2, rel=1e-6)
    for k in g1:
        np.testing.assert_allclose(g1[k], g2[k], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(plain.predict(X), fused.predict(X))
