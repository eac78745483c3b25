"""The optim family (imgclf.ops.optim: the six optimizer steps) on every backend against the
NumPy reference, the rules by hand, and what a step refuses before it writes anything."""
import numpy as np
import pytest
from imgclf import backend, ops

OPTS = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"]


N_STATES = {"sgd": 0, "adam": 2}


def _call(kind, p, g, st, t, be):
    """One step of ``kind``; be is a config Backend (its ops) or a backend name."""
    kw = {"lr": 0.01}
    if hasattr(be, "ops"):
        f = getattr(be.ops, kind + "_step")
    else:
        f = getattr(ops, kind + "_step")
        kw["backend"] = be
    if kind in ("momentum", "nesterov"):
        kw["rho"] = 0.9
    if kind == "rmsprop":
        kw["decay"] = 0.95
    if kind == "adam":
        kw.update(step=t, weight_decay=0.05)
    f(p, g, *st, **kw)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", OPTS)
def test_optimizers_match_reference(config, rng, dtype, kind):
    # chunk boundaries, odd sizes, and more tensors than one CUDA launch holds, in one call
    shapes = [(1,), (7, 3), (70001,), (128, 129)] + [(5,)] * 60
    P = [rng.standard_normal(s).astype(dtype) for s in shapes]
    Pr = [p.copy() for p in P]
    ns = N_STATES.get(kind, 1)
    S = [[np.zeros(s, dtype) for s in shapes] for _ in range(ns)]
    Sr = [[a.copy() for a in c] for c in S]
    for t in range(1, 5):
        G = [rng.standard_normal(s).astype(dtype) for s in shapes]
        _call(kind, P, G, S, t, config)
        for i in range(len(shapes)):  # the reference, one tensor at a time
            _call(kind, Pr[i], G[i], [c[i] for c in Sr], t, "numpy")
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    for a, b in zip(P, Pr):
        np.testing.assert_allclose(a, b, **tol)


def test_optimizer_rules_by_hand(config):
    w = np.array([1.0, -2.0]); g = np.array([0.5, 0.5]); v = np.array([0.1, -0.1])
    config.ops.nesterov_step(w, g, v, lr=0.1, rho=0.9)
    v_new = 0.9 * np.array([0.1, -0.1]) - 0.1 * 0.5
    np.testing.assert_allclose(v, v_new)
    np.testing.assert_allclose(w, np.array([1.0, -2.0]) - 0.9 * np.array([0.1, -0.1]) + 1.9 * v_new)
    # Adam's first bias-corrected step moves every weight by about lr, whatever the gradient scale
    rng = np.random.default_rng(0)
    w = rng.standard_normal(1000); w0 = w.copy()
    g = rng.standard_normal(1000) * 10.0 ** rng.integers(-3, 4, 1000)
    m, s = np.zeros(1000), np.zeros(1000)
    config.ops.adam_step(w, g, m, s, step=1, lr=1e-3)
    np.testing.assert_allclose(np.abs(w - w0), 1e-3, rtol=1e-2)  # eps matters only for tiny g


def test_optimizer_bad_input():
    p = np.zeros(3, np.float32)
    with pytest.raises(ValueError, match="grad"):
        ops.sgd_step(p, np.zeros(4, np.float32), lr=0.1)
    with pytest.raises(ValueError, match="grad"):
        ops.sgd_step(p, np.zeros(3, np.float64), lr=0.1)
    with pytest.raises(TypeError, match="param"):
        ops.sgd_step(np.zeros(3, np.int32), np.zeros(3, np.int32), lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        ops.sgd_step(p, p.copy(), lr=float("nan"))
    with pytest.raises(ValueError, match="step"):
        ops.adam_step(p, p.copy(), p.copy(), p.copy(), step=0)
    with pytest.raises(ValueError, match="velocity holds 0 arrays but param holds 1"):
        ops.momentum_step([p], [p.copy()], [], lr=0.1)
    ro = np.zeros(3, np.float32); ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        ops.sgd_step(ro, p, lr=0.1)
    # non-contiguous params still update (the checked path)
    big = np.zeros((4, 6)); view = big[:, ::2]
    ops.sgd_step(view, np.ones((4, 3)), lr=0.5)
    assert (big[:, ::2] == -0.5).all() and (big[:, 1::2] == 0).all()


def test_optimizer_refuses_arrays_that_share_memory(config, rng):
    xp = config.xp
    p = xp.asarray(rng.standard_normal(100))
    g = xp.asarray(rng.standard_normal(100))
    m = xp.zeros(100)
    before = p.copy()
    with pytest.raises(ValueError, match="share memory"):
        config.ops.adam_step(p, g, m, m, step=1)  # m is v
    with pytest.raises(ValueError, match="share memory"):
        config.ops.sgd_step([p, p], [g, g], lr=0.1)  # one param twice
    buf = xp.zeros(150)
    with pytest.raises(ValueError, match="share memory"):
        config.ops.momentum_step([buf[:100], buf[50:]], [g, g], [xp.zeros(100), xp.zeros(100)],
                                 lr=0.1)  # overlapping views
    assert bool((p == before).all()) and not bool(buf.any()) and not bool(m.any())
    # a gradient read twice is fine: it is never written
    q = xp.asarray(rng.standard_normal(100))
    config.ops.sgd_step([p, q], [g, g], lr=0.5)
    np.testing.assert_allclose(config.get(p), config.get(before - 0.5 * g))


# read-only arrays exist on the host only (CuPy arrays are always writeable)
HOST = ["numpy"] + (["cpu"] if backend.cpu_available() else [])


@pytest.mark.parametrize("be", HOST)
def test_optimizer_validates_every_array_before_writing_any(be, rng):
    p1, p2 = rng.standard_normal(10), rng.standard_normal(10)
    g1, g2 = rng.standard_normal(10), rng.standard_normal(10)
    v1, v2 = np.zeros(10), np.zeros(10)
    v2.flags.writeable = False
    b1, b2 = p1.copy(), p2.copy()
    with pytest.raises(ValueError, match=r"velocity\[1\] is read-only"):
        ops.momentum_step([p1, p2], [g1, g2], [v1, v2], lr=0.1, backend=be)
    np.testing.assert_array_equal(p1, b1)
    np.testing.assert_array_equal(p2, b2)
    assert not v1.any()
    m, v = np.zeros(10), np.zeros(9)
    with pytest.raises(ValueError, match="v must be an array with param's shape"):
        ops.adam_step(p1, g1, m, v, step=1, weight_decay=0.1, backend=be)
    np.testing.assert_array_equal(p1, b1)  # weight decay did not run first
    with pytest.raises(TypeError, match="grad must be an array like param"):
        ops.sgd_step(p1, g1.tolist(), lr=0.1, backend=be)
