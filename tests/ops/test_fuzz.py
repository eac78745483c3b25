"""Property-based fuzzing of the public ops with adversarial inputs: huge, tiny, subnormal
and mixed-sign floats, odd dtypes and aliased arrays.  Every call must either refuse the
input with a TypeError/ValueError or return what exact arithmetic says (within the output
dtype's rounding); nothing may crash or answer wrongly in silence."""
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from imgclf import backend, ops

BACKENDS = ["numpy"] + (["cpu"] if backend.cpu_available() else [])
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _adversarial(dtype):
    """Finite values of dtype, weighted toward its extremes: the largest, the smallest
    normal and subnormal magnitudes, zeros of both signs, and ordinary values."""
    info = np.finfo(dtype)
    special = [0.0, -0.0, float(info.max), -float(info.max), float(info.tiny), -float(info.tiny),
               float(info.smallest_subnormal), -float(info.smallest_subnormal), 1.0, -1.0]
    return st.one_of(
        st.sampled_from(special),
        st.floats(min_value=-float(info.max), max_value=float(info.max), allow_nan=False,
                  allow_infinity=False, width=info.bits),
        st.floats(min_value=-1e3, max_value=1e3, width=info.bits),
    )


@st.composite
def pair(draw, dtypes=(np.float32, np.float64)):
    dtype = draw(st.sampled_from(dtypes))
    d = draw(st.integers(1, 9))
    nq, nt = draw(st.integers(1, 5)), draw(st.integers(1, 8))
    if np.dtype(dtype).kind == "f":
        elems = _adversarial(dtype)
    else:
        elems = None
    X = draw(hnp.arrays(dtype, (nq, d), elements=elems))
    Y = draw(hnp.arrays(dtype, (nt, d), elements=elems))
    return X, Y


def _exact(X, Y, metric):
    """Distances in exact rational arithmetic (Fractions of the float64 values)."""
    Xf = [[Fraction(float(v)) for v in row] for row in np.asarray(X, np.float64)]
    Yf = [[Fraction(float(v)) for v in row] for row in np.asarray(Y, np.float64)]
    if metric == "l1":
        return [[sum(abs(a - b) for a, b in zip(x, y)) for y in Yf] for x in Xf]
    return [[sum((a - b) ** 2 for a, b in zip(x, y)) for y in Yf] for x in Xf]


def _floor(E, dtype):
    """The absolute error floor of a call, in the units of E.  float32 data are summed in
    float64, which holds every float32 square: the float32 subnormal step.  float64 data
    lose at most a subnormal step per term (squares that underflow), as NumPy does: data
    that could overflow are summed as given and only the overflowed distances come from
    scaled data, and tiny data are scaled up."""
    if np.dtype(dtype) == np.float32:
        return Fraction(4 * float(np.finfo(np.float32).smallest_subnormal))
    return Fraction(16 * float(np.finfo(np.float64).smallest_subnormal))


def _close(got, exact, metric, dtype, floor):
    """got (a float of the output dtype) is the exact distance (the root of ``exact`` for
    l2) rounded once, within a few units of the dtype's rounding, and the call's absolute
    floor (see _floor).  Computed with Fractions: exact squared distances can exceed
    float64's range."""
    info = np.finfo(dtype)
    r, a = Fraction(8 * float(info.eps)), floor
    if got == np.inf:  # only right when the true value rounds past the largest float
        big = Fraction(float(info.max)) * (1 - r)
        return exact > (big * big if metric == "l2" else big)
    g = Fraction(got)
    if metric == "l2":
        lo, hi = max(g - r * g, Fraction(0)), g + r * g
        return lo * lo - a <= exact <= hi * hi + a
    return abs(g - exact) <= r * exact + a


@pytest.mark.parametrize("be", BACKENDS)
@pytest.mark.parametrize("metric", ["l2", "sqeuclidean", "l1"])
@FUZZ
@given(data=pair())
@example(data=(np.zeros((1, 3)), np.array([[1.79769313e308, 5.96046448e-8, 5.96046448e-8]] + [[5.96046448e-8] * 3] * 3
                                          + [[0.0, 5.96046448e-8, 5.96046448e-8]])))
@example(data=(np.array([[0.0], [1.79769313e308]]), np.array([[2.17417991e-105]] * 3 + [[0.0]])))
def test_knn_matches_exact_arithmetic(be, metric, data):
    X, Y = data
    k = min(3, len(Y))
    dist, idx = ops.knn(X, Y, k, metric, backend=be)
    assert idx.dtype == np.int64 and dist.dtype == X.dtype
    assert ((idx >= 0) & (idx < len(Y))).all()
    E = _exact(X, Y, metric)  # (for l2 the squares: the root keeps the order)
    floor = _floor(E, X.dtype)
    for q in range(len(X)):
        assert len(set(idx[q].tolist())) == k
        for t in range(k):
            assert _close(float(dist[q, t]), E[q][idx[q, t]], metric, X.dtype, floor), (q, t, dist[q, t])
        # nothing left out is nearer than the k-th returned, beyond the dtype's rounding
        kth = E[q][idx[q, -1]]
        for j in set(range(len(Y))) - set(idx[q].tolist()):
            slack = Fraction(16 * float(np.finfo(X.dtype).eps)) * kth + Fraction(float(np.finfo(X.dtype).tiny))
            assert E[q][j] >= kth - slack, (q, j)
        # returned in non-decreasing order of distance
        assert (dist[q][:-1] <= dist[q][1:]).all()


@pytest.mark.parametrize("be", BACKENDS)
@pytest.mark.parametrize("metric", ["l2", "sqeuclidean", "l1"])
@FUZZ
@given(data=pair())
@example(data=(np.zeros((1, 1)), np.array([[3.1446683e-156]])))
@example(data=(np.zeros((1, 3)), np.array([[1.79769313e308, 5.96046448e-8, 5.96046448e-8], [0.0, 5.96046448e-8, 5.96046448e-8]])))
def test_pairwise_matches_exact_arithmetic(be, metric, data):
    X, Y = data
    D = ops.pairwise_distances(X, Y, metric, backend=be)
    E = _exact(X, Y, metric)
    floor = _floor(E, X.dtype)
    for q in range(len(X)):
        for j in range(len(Y)):
            assert _close(float(D[q, j]), E[q][j], metric, X.dtype, floor), (q, j, D[q, j])


@pytest.mark.parametrize("be", BACKENDS)
@FUZZ
@given(data=pair(dtypes=(np.uint8,)), metric=st.sampled_from(["l2", "sqeuclidean", "l1"]))
# the root of an exact squared distance is the correctly rounded sqrt (x ** 0.5 is 1 ulp off here)
@example(data=(np.array([[0] * 7, [189, 107, 42, 130, 173, 234, 83]], np.uint8), np.full((1, 7), 83, np.uint8)),
         metric="l2")
def test_uint8_is_exact_with_index_ties(be, data, metric):
    X, Y = data
    k = len(Y)
    dist, idx = ops.knn(X, Y, k, metric, backend=be)
    E = _exact(X, Y, metric)
    for q in range(len(X)):
        order = sorted(range(len(Y)), key=lambda j: (E[q][j], j))
        assert idx[q].tolist() == order
        want = [math.sqrt(E[q][j]) if metric == "l2" else int(E[q][j]) for j in order]
        assert dist[q].tolist() == want


ODD = [np.bool_, np.int8, np.int16, np.int64, np.uint16, np.float16]


@pytest.mark.parametrize("be", BACKENDS)
@settings(max_examples=60, deadline=None)
@given(dtype=st.sampled_from(ODD), seed=st.integers(0, 2 ** 32 - 1), metric=st.sampled_from(["l2", "l1"]))
def test_odd_dtypes_are_converted_once_and_answered_exactly(be, dtype, seed, metric):
    rng = np.random.default_rng(seed)
    X = rng.integers(-100, 100, (3, 5)).astype(dtype)
    Y = rng.integers(-100, 100, (6, 5)).astype(dtype)
    dist, idx = ops.knn(X, Y, 6, metric, backend=be)
    assert dist.dtype == np.float64
    E = _exact(X.astype(np.float64), Y.astype(np.float64), metric)
    for q in range(3):
        assert idx[q].tolist() == sorted(range(6), key=lambda j: (E[q][j], j))


def test_complex_and_object_inputs_are_refused():
    with pytest.raises(TypeError, match="real numbers"):
        ops.knn(np.ones((2, 2), complex), np.ones((3, 2)), 1)
    with pytest.raises(TypeError, match="real numbers"):
        ops.pairwise_distances(np.array([[object()]]), np.ones((1, 1)))


@pytest.mark.parametrize("be", BACKENDS)
@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1), n=st.integers(1, 40), off=st.integers(-10, 10),
       kind=st.sampled_from(["sgd", "momentum", "adam"]))
def test_optimizer_aliasing_is_refused_or_exact(be, seed, n, off, kind):
    """Two parameter views into one buffer at an offset: overlapping ones are refused before
    anything is written, disjoint ones are updated exactly like separate arrays."""
    rng = np.random.default_rng(seed)
    buf = rng.standard_normal(2 * n + 20)
    a = buf[10 : 10 + n]
    b = buf[10 + n + off : 10 + 2 * n + off]
    g1, g2 = rng.standard_normal(n), rng.standard_normal(n)
    states = {"sgd": [], "momentum": [[np.zeros(n), np.zeros(n)]],
              "adam": [[np.zeros(n), np.zeros(n)], [np.zeros(n), np.zeros(n)]]}[kind]
    before = buf.copy()
    step = {"sgd": lambda: ops.sgd_step([a, b], [g1, g2], lr=0.1, backend=be),
            "momentum": lambda: ops.momentum_step([a, b], [g1, g2], *states, lr=0.1, backend=be),
            "adam": lambda: ops.adam_step([a, b], [g1, g2], *states, step=1, lr=0.1, backend=be)}[kind]
    if -2 * n < off < 0:  # b overlaps a
        with pytest.raises(ValueError, match="share memory"):
            step()
        np.testing.assert_array_equal(buf, before)
        return
    ra, rb = a.copy(), b.copy()
    ref_states = [[s.copy() for s in pair_] for pair_ in states]
    ref = {"sgd": lambda: ops.sgd_step([ra, rb], [g1, g2], lr=0.1, backend="numpy"),
           "momentum": lambda: ops.momentum_step([ra, rb], [g1, g2], *ref_states, lr=0.1, backend="numpy"),
           "adam": lambda: ops.adam_step([ra, rb], [g1, g2], *ref_states, step=1, lr=0.1, backend="numpy")}[kind]
    step()
    ref()
    np.testing.assert_allclose(a, ra, rtol=1e-12)
    np.testing.assert_allclose(b, rb, rtol=1e-12)


@pytest.mark.parametrize("be", BACKENDS)
@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1), m=st.integers(1, 30), ta=st.booleans(), tb=st.booleans(),
       alias=st.sampled_from(["A", "B", "both", "none"]), dtype=st.sampled_from([np.float32, np.float64]))
def test_gemm_with_out_aliasing_its_inputs(be, seed, m, ta, tb, alias, dtype):
    rng = np.random.default_rng(seed)
    S = rng.standard_normal((m, m)).astype(dtype)
    A = S if alias in ("A", "both") else rng.standard_normal((m, m)).astype(dtype)
    B = S if alias in ("B", "both") else rng.standard_normal((m, m)).astype(dtype)
    ref = (A.T if ta else A).astype(np.float64) @ (B.T if tb else B).astype(np.float64) + 0.5 * S
    ops.gemm(A, B, out=S, trans_a=ta, trans_b=tb, beta=0.5, backend=be)
    np.testing.assert_allclose(S, ref, rtol=1e-4 if dtype == np.float32 else 1e-10, atol=1e-3 if dtype == np.float32 else 1e-10)
