"""torch tensors through imgclf.ops: CPU tensors pass as NumPy views (no copy) and array
results come back as torch tensors.  (CUDA tensors, through DLPack, are in test_gpu.py.)"""
import numpy as np
import pytest

from imgclf import ops

from helpers import assert_knn_valid

torch = pytest.importorskip("torch")


def test_torch_cpu_tensors_in_torch_tensors_out(rng):
    X = torch.from_numpy(rng.random((20, 12)).astype(np.float32))
    Y = torch.from_numpy(rng.random((90, 12)).astype(np.float32))
    dist, idx = ops.knn(X, Y, 3, "l1")
    assert isinstance(dist, torch.Tensor) and isinstance(idx, torch.Tensor)
    assert idx.dtype == torch.int64
    assert_knn_valid(dist.numpy(), idx.numpy(), X.numpy(), Y.numpy(), 3, "l1")
    D = ops.pairwise_distances(X, Y, "l2")
    np.testing.assert_allclose(D.numpy(), ops.pairwise_distances(X.numpy(), Y.numpy(), "l2"))
    loss, dS = ops.softmax_loss(torch.zeros(4, 3), torch.tensor([0, 1, 2, 0]))
    assert isinstance(dS, torch.Tensor) and abs(float(loss) - np.log(3)) < 1e-6


def test_torch_parameters_are_updated_in_place(rng):
    p = torch.zeros(10, requires_grad=True)
    ops.sgd_step(p, torch.ones(10), lr=0.5)
    assert torch.all(p.detach() == -0.5)
    ps = [torch.ones(3), torch.ones(2, 2)]
    ms = [torch.zeros(3), torch.zeros(2, 2)]
    vs = [torch.zeros(3), torch.zeros(2, 2)]
    ops.adam_step(ps, [torch.ones(3), torch.ones(2, 2)], ms, vs, step=1, lr=0.1)
    assert all(torch.allclose(q, torch.full_like(q, 0.9)) for q in ps)
