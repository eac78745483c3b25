"""The registry (imgclf.ops.dispatch) and the resolver (imgclf.backend.candidates): which
backend runs which input."""

import numpy as np
import pytest
from imgclf import backend, ops
from imgclf.ops import dispatch


def test_every_op_has_a_reference_and_is_public():
    public = set(ops.__all__)
    for name, op in dispatch.OPS.items():
        assert "numpy" in op.impls, f"{name} has no NumPy reference implementation"
    # every public function reaches a registered op (aliases reach theirs)
    reached = {"class_loss", "optim_step", "dropout"}
    for name in ("pairwise_distances", "knn", "vote", "penalty", "linear_loss", "gemm", "bias_act",
                 "act_backward", "affine_rows", "max_norm", "network_loss", "network_train"):
        assert name in dispatch.OPS and name in public
        reached.add(name)
    assert reached == set(dispatch.OPS)


def test_candidates_follow_the_request_and_the_array_type(monkeypatch):
    X = np.zeros((2, 2))
    monkeypatch.delenv("IMGCLF_BACKEND", raising=False)
    first = "cpu" if backend.cpu_available() else "numpy"
    assert backend.candidates("auto", X)[0] == first
    assert backend.candidates("numpy", X) == ("numpy",)
    monkeypatch.setenv("IMGCLF_BACKEND", "numpy")
    assert backend.candidates("auto", X) == ("numpy",)
    monkeypatch.setenv("IMGCLF_BACKEND", "fast")
    with pytest.raises(ValueError, match="IMGCLF_BACKEND"):
        backend.candidates("auto", X)
    with pytest.raises(ValueError, match="backend must be one of"):
        backend.candidates("gpu", X)
    with pytest.raises(ValueError, match="needs CuPy arrays"):
        backend.candidates("cuda", X)


def test_an_op_runs_the_first_usable_backend(monkeypatch):
    """uint8 squared L2 over more features than int32 holds: the compiled kernel is not
    usable, so the reference runs (exact int64), with no branch in the op itself."""
    X = np.full((1, 40000), 255, np.uint8)
    Y = np.zeros((2, 40000), np.uint8)
    be = dispatch.OPS["knn"].backends_for("auto", X)
    assert be[-1] == "numpy"
    dist, idx = ops.knn(X, Y, 2, "sqeuclidean")
    assert dist.dtype == np.int64 and int(dist[0, 0]) == 255 * 255 * 40000


def test_a_new_backend_registers_without_touching_the_op():
    calls = []
    op = dispatch.OPS["vote"]
    saved = dict(op.impls)
    try:
        usable, run = op.impls["numpy"]

        def spy(*args):
            calls.append(args[0].shape)
            return run(*args)

        op.register("numpy")(spy)
        ops.vote(np.array([[0, 1, 1]]), 2, backend="numpy")
        assert calls == [(1, 3)]
    finally:
        op.impls.clear()
        op.impls.update(saved)
