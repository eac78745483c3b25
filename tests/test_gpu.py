"""The CUDA backend against the NumPy reference, on CuPy arrays.  Skipped, with the reason,
where no GPU is usable (a successful import proves nothing: a probe kernel must run)."""
import numpy as np
import pytest

from imgclf import _reference as R
from imgclf import backend, ops

_ok, _why = backend.gpu_status()
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not _ok, reason=f"no usable GPU: {_why}")]
cp = pytest.importorskip("cupy") if _ok else None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,C", [(1, 2), (7, 3), (65536, 10), (33, 100), (5, 1000)])
def test_losses_on_gpu_match_reference(rng, dtype, n, C):
    S = (rng.standard_normal((n, C)) * 3).astype(dtype)
    y = rng.integers(0, C, n)
    tol = dict(rtol=2e-5, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-13)
    for name, f, ref in [("softmax", ops.softmax_loss, lambda: R.softmax_loss(S, y)),
                         ("svm", ops.svm_loss, lambda: R.svm_loss(S, y, 1.0, False)),
                         ("squared", lambda s, t: ops.svm_loss(s, t, squared=True), lambda: R.svm_loss(S, y, 1.0, True))]:
        loss, d = f(cp.asarray(S), cp.asarray(y))
        assert isinstance(d, cp.ndarray) and d.dtype == dtype
        want_l, want_d = ref()
        np.testing.assert_allclose(float(loss), want_l, **tol)
        np.testing.assert_allclose(cp.asnumpy(d), want_d, **tol)
        again, _ = f(cp.asarray(S), cp.asarray(y))
        assert float(again) == float(loss)  # identical run to run


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"])
def test_optimizer_steps_on_gpu_match_reference(rng, dtype, kind):
    shapes = [(1,), (7, 3), (70001,), (128, 129)] + [(5,)] * 60  # more tensors than one launch holds
    P = [rng.standard_normal(s).astype(dtype) for s in shapes]
    ns = {"sgd": 0, "adam": 2}.get(kind, 1)
    S = [[np.zeros(s, dtype) for s in shapes] for _ in range(ns)]
    Pg = [cp.asarray(p) for p in P]
    Sg = [[cp.asarray(a) for a in c] for c in S]
    f = getattr(ops, kind + "_step")
    for t in range(1, 4):
        G = [rng.standard_normal(s).astype(dtype) for s in shapes]
        kw = {"lr": 0.01}
        if kind == "adam":
            kw.update(step=t, weight_decay=0.05)
        f(Pg, [cp.asarray(g) for g in G], *Sg, **kw)
        f(P, G, *S, backend="numpy", **kw)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    for a, b in zip(Pg, P):
        np.testing.assert_allclose(cp.asnumpy(a), b, **tol)
