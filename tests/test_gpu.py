"""imgclf._gpu: torch tensors through imgclf.ops (CPU tensors as NumPy views, CUDA tensors
through DLPack, results back as tensors), and what the GPU glue promises (a clear
MemoryError, the process still working).  The ops themselves run on the GPU through the
``config`` fixture of every op test (tests/ops)."""
import numpy as np
import pytest
from imgclf import ops

from .conftest import need_gpu
from .helpers import assert_knn_valid


def test_torch_cpu_tensors_in_torch_tensors_out(rng):
    torch = pytest.importorskip("torch")
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
    torch = pytest.importorskip("torch")
    p = torch.zeros(10, requires_grad=True)
    ops.sgd_step(p, torch.ones(10), lr=0.5)
    assert torch.all(p.detach() == -0.5)
    ps = [torch.ones(3), torch.ones(2, 2)]
    ms = [torch.zeros(3), torch.zeros(2, 2)]
    vs = [torch.zeros(3), torch.zeros(2, 2)]
    ops.adam_step(ps, [torch.ones(3), torch.ones(2, 2)], ms, vs, step=1, lr=0.1)
    assert all(torch.allclose(q, torch.full_like(q, 0.9)) for q in ps)


@pytest.mark.gpu
def test_torch_cuda_tensors_through_dlpack(rng):
    need_gpu()
    torch = pytest.importorskip("torch")
    X = torch.rand(50, 30, device="cuda")
    Y = torch.rand(300, 30, device="cuda")
    dist, idx = ops.knn(X, Y, 4, "l2")
    assert isinstance(idx, torch.Tensor) and idx.is_cuda
    assert_knn_valid(dist.cpu().numpy(), idx.cpu().numpy(), X.cpu().numpy(), Y.cpu().numpy(), 4, "l2")
    p = torch.zeros(10, device="cuda")
    ops.sgd_step(p, torch.ones(10, device="cuda"), lr=0.5)  # in place, through the shared memory
    assert torch.all(p == -0.5)


@pytest.mark.gpu
def test_out_of_memory_is_a_clear_error_and_the_process_keeps_working(rng):
    need_gpu()
    import cupy as cp

    free, _ = cp.cuda.runtime.memGetInfo()
    n = int(free // 4 // 1000) + 1000  # a (n x 1000) float32 matrix that cannot fit
    X = cp.zeros((n, 1), cp.float32)
    Y = cp.zeros((1000, 1), cp.float32)
    with pytest.raises(MemoryError, match="MiB"):
        ops.pairwise_distances(X, Y)
    del X
    dist, idx = ops.knn(cp.asarray(rng.random((5, 8), dtype=np.float32)),
                        cp.asarray(rng.random((50, 8), dtype=np.float32)), 3)
    assert idx.shape == (5, 3)
