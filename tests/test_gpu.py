"""imgclf._gpu: torch tensors through imgclf.ops (CPU tensors as NumPy views, CUDA tensors
through DLPack, results back as tensors), and what the GPU glue promises (a clear
MemoryError, the process still working).  The ops themselves run on the GPU through the
``config`` fixture of every op test (tests/ops)."""
import numpy as np
import pytest
from imgclf import ops

from .conftest import need_gpu, need_module
from .helpers import assert_knn_valid


def test_torch_cpu_tensors_in_torch_tensors_out(rng):
    torch = need_module("torch")
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
    torch = need_module("torch")
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
    torch = need_module("torch")
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
    cp = need_module("cupy")

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


# ---- first contact: alignment, shared memory, devices, streams, ties ---------------------------

def _gpu_modules():
    need_gpu()
    return need_module("cupy")


@pytest.mark.gpu
@pytest.mark.parametrize("d", [7, 12, 784])
def test_uint8_views_at_an_odd_byte_are_copied_not_read_misaligned(rng, d):
    cp = _gpu_modules()
    n, m = 33, 200
    host_x = rng.integers(0, 256, (n, d), dtype=np.uint8)
    host_y = rng.integers(0, 256, (m, d), dtype=np.uint8)
    bx = cp.zeros(1 + n * d, np.uint8)
    by = cp.zeros(3 + m * d, np.uint8)
    X = bx[1:].reshape(n, d)
    Y = by[3:].reshape(m, d)
    X[...] = cp.asarray(host_x)
    Y[...] = cp.asarray(host_y)
    assert X.data.ptr % 4 and Y.data.ptr % 4
    for metric in ("l1", "sqeuclidean"):
        dist, idx = ops.knn(X, Y, 5, metric)
        ref_d, ref_i = ops.knn(host_x, host_y, 5, metric)
        np.testing.assert_array_equal(idx.get(), ref_i)
        np.testing.assert_array_equal(dist.get(), ref_d)
        np.testing.assert_array_equal(ops.pairwise_distances(X, Y, metric).get(),
                                      ops.pairwise_distances(host_x, host_y, metric))
    cp.cuda.Device().synchronize()  # the context survived


@pytest.mark.gpu
def test_torch_uint8_tensor_with_a_storage_offset(rng):
    _gpu_modules()
    torch = need_module("torch")
    n, m, d = 20, 90, 13
    hx = rng.integers(0, 256, (n, d), dtype=np.uint8)
    hy = rng.integers(0, 256, (m, d), dtype=np.uint8)
    X = torch.zeros(1 + n * d, dtype=torch.uint8, device="cuda")[1:].view(n, d)
    Y = torch.zeros(2 + m * d, dtype=torch.uint8, device="cuda")[2:].view(m, d)
    X.copy_(torch.from_numpy(hx))
    Y.copy_(torch.from_numpy(hy))
    dist, idx = ops.knn(X, Y, 4, "l1")
    ref_d, ref_i = ops.knn(hx, hy, 4, "l1")
    np.testing.assert_array_equal(idx.cpu().numpy(), ref_i)
    np.testing.assert_array_equal(dist.cpu().numpy(), ref_d)


@pytest.mark.gpu
def test_the_binding_refuses_misaligned_uint8_and_unpadded_rows():
    cp = _gpu_modules()
    from imgclf import backend

    cuda = backend.cuda_module()
    buf = cp.zeros(4096, np.uint8)
    out_d = cp.zeros((2, 1), np.int32)
    out_i = cp.zeros((2, 1), np.int64)
    ws = cp.zeros(1 << 20, np.uint8)
    dev = cp.cuda.Device().id
    s = cp.cuda.get_current_stream().ptr
    with pytest.raises(ValueError, match="aligned"):
        cuda.knn(buf.data.ptr + 1, 2, buf.data.ptr, 8, 8, 1, 1, cuda.Metric.l1, 1, out_d.data.ptr,
                 out_i.data.ptr, ws.data.ptr, s, dev)
    with pytest.raises(ValueError, match="multiple of 4"):
        cuda.knn(buf.data.ptr, 2, buf.data.ptr, 8, 7, 1, 1, cuda.Metric.l1, 1, out_d.data.ptr,
                 out_i.data.ptr, ws.data.ptr, s, dev)


@pytest.mark.gpu
def test_knn_plan_matches_the_kernels_and_the_device(rng):
    cp = _gpu_modules()
    from imgclf import _gpu, backend

    cuda = backend.cuda_module()
    dev = cp.cuda.Device().id
    limit = cuda.max_shared_memory(dev)
    assert limit == cp.cuda.runtime.deviceGetAttribute(
        cp.cuda.runtime.cudaDevAttrMaxSharedMemoryPerBlockOptin, dev)
    for item in (1, 4):
        for k in (1, 2, 17, 100, 1000, 2218, 2219, 3000, 4096):
            for kk in {k, 2 * k + 8, 4096}:
                if kk >= k:
                    assert cuda.knn_smem(kk, k, item) == _gpu.knn_smem(kk, k, item)
    # the largest k this device plans for, and one beyond it: both answer correctly
    nt = 9000
    top = max(k for k in range(1, 4097, 61) if _gpu.knn_candidates(nt, k, 4, limit) is not None)
    X = rng.random((3, 16), dtype=np.float32)
    Y = rng.random((nt, 16), dtype=np.float32)
    for k in (top, 4500):
        dist, idx = ops.knn(cp.asarray(X), cp.asarray(Y), k, "sqeuclidean")
        assert_knn_valid(dist.get(), idx.get(), X, Y, k, "sqeuclidean")


@pytest.mark.gpu
def test_calls_leave_the_callers_current_device_alone(rng):
    cp = _gpu_modules()
    from imgclf import backend

    n = cp.cuda.runtime.getDeviceCount()
    X = rng.random((10, 8), dtype=np.float32)
    Y = rng.random((50, 8), dtype=np.float32)
    for dev in range(n):
        with cp.cuda.Device(dev):
            Xd, Yd = cp.asarray(X), cp.asarray(Y)
        other = (dev + 1) % n
        with cp.cuda.Device(other):
            before = cp.cuda.runtime.getDevice()
            backend.gpu_status()  # probes device 0
            dist, idx = ops.knn(Xd, Yd, 3, "l1")
            assert idx.device.id == dev
            assert cp.cuda.runtime.getDevice() == before == other
        assert_knn_valid(dist.get(), idx.get(), X, Y, 3, "l1")


@pytest.mark.gpu
def test_torch_steps_run_on_the_tensors_stream():
    _gpu_modules()
    torch = need_module("torch")
    s = torch.cuda.Stream()
    p = torch.zeros(1 << 16, device="cuda")
    g = torch.ones(1 << 16, device="cuda")
    torch.cuda.synchronize()
    with torch.cuda.stream(s):
        torch.cuda._sleep(50_000_000)  # keeps s busy: work on another stream would run first
        p.fill_(1.0)
        ops.sgd_step(p, g, lr=0.5)     # must run after the fill, on s
        q = p * 2                      # torch work after the step, on s
    s.synchronize()
    assert torch.all(p == 0.5) and torch.all(q == 1.0)


@pytest.mark.gpu
@pytest.mark.parametrize("metric", ["l1", "sqeuclidean", "l2"])
@pytest.mark.parametrize("d", [13, 32, 784])
def test_float32_knn_on_the_gpu_is_the_cpus_exactly_ties_included(rng, metric, d):
    """Duplicate rows, near-duplicates and random rows: the GPU returns the CPU's indices
    in the CPU's order (both rank by the same float64 sums), without dropping ties."""
    cp = _gpu_modules()
    base = rng.standard_normal((40, d)).astype(np.float32)
    Y = base[rng.integers(0, 40, 600)]                      # exact duplicates
    Y[::7] += np.float32(1e-6) * rng.standard_normal((len(Y[::7]), d)).astype(np.float32)
    Y = np.concatenate([Y, rng.standard_normal((300, d)).astype(np.float32)])
    X = np.concatenate([Y[rng.integers(0, len(Y), 30)], rng.standard_normal((30, d)).astype(np.float32)])
    for k in (1, 5, 40):
        gd, gi = ops.knn(cp.asarray(X), cp.asarray(Y), k, metric)
        cd, ci = ops.knn(X, Y, k, metric, backend="cpu")
        np.testing.assert_array_equal(gi.get(), ci)
        if metric == "l2":  # the root: float32 of the float64 root (CPU) or of float32 (GPU)
            np.testing.assert_allclose(gd.get(), cd, rtol=2e-7)
        else:
            np.testing.assert_array_equal(gd.get(), cd)
