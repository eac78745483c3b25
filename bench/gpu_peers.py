"""GPU benchmarks of the CUDA kernels imgclf has so far, against PyTorch, with device
events; prints one markdown table.  Run by bench/gpu.sh on a GPU machine.

  softmax/SVM loss + gradient on a (65536, 10) float32 batch: imgclf vs torch
      cross_entropy forward + backward (softmax) and a hand-written hinge (SVM)
  Adam over 10M float32 parameters: imgclf vs torch.optim.Adam(fused=True), against the
      measured device-to-device copy bandwidth (Adam moves 28 bytes per parameter)
  kNN, CIFAR-10-sized (10k queries x 50k train x 3072 uint8 pixels, k = 10): float32 and
      exact uint8, L2 and L1, vs torch cdist + topk (chunked so the matrix fits), each also
      as a share of the device's FP32 / integer issue rate
  Fashion-MNIST kNN end to end from host arrays (k = 5, L1, uint8, transfers included)
"""
from __future__ import annotations

import statistics


def timed(fn, repeat=20):
    import cupy

    fn()
    cupy.cuda.Device().synchronize()
    out = []
    for _ in range(repeat):
        a, b = cupy.cuda.Event(), cupy.cuda.Event()
        a.record()
        fn()
        b.record()
        b.synchronize()
        out.append(cupy.cuda.get_elapsed_time(a, b) * 1e-3)
    return statistics.median(out)


def torch_timed(fn, repeat=20):
    import torch

    fn()
    torch.cuda.synchronize()
    out = []
    for _ in range(repeat):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        out.append(a.elapsed_time(b) * 1e-3)
    return statistics.median(out)


def fp32_lanes_per_second():
    """FP32 (and 32-bit integer) lanes x clock of device 0: 128 lanes per SM on sm_90 (and
    sm_86/89), 64 on sm_70/75/80."""
    import cupy

    dev = cupy.cuda.Device()
    attrs = dev.attributes
    major, minor = dev.compute_capability[0], dev.compute_capability[1:]
    lanes = 128 if (int(major) >= 9 or (major == "8" and minor in ("6", "9"))) else 64
    return attrs["MultiProcessorCount"] * lanes * attrs["ClockRate"] * 1e3


def knn_rows(rows, notes):
    import cupy
    import torch
    from imgclf import ops

    rng = cupy.random.default_rng(0)
    nq, nt, d, k = 10_000, 50_000, 3072, 10
    Xu = rng.integers(0, 256, (nq, d), dtype=cupy.uint8)
    Yu = rng.integers(0, 256, (nt, d), dtype=cupy.uint8)
    Xf, Yf = Xu.astype(cupy.float32), Yu.astype(cupy.float32)
    Xt, Yt = torch.from_dlpack(Xf), torch.from_dlpack(Yf)

    def torch_knn(p, q):
        out = []
        for s in range(0, q, 1000):
            D = torch.cdist(Xt[s:s + 1000], Yt, p=p)
            out.append(torch.topk(D, k, largest=False).indices)
        return torch.cat(out)

    try:
        lane_rate = fp32_lanes_per_second()
    except Exception as exc:  # the clock attribute is missing on some CUDA versions
        lane_rate = None
        notes.append(f"issue-rate shares unavailable: {exc}")
    t_l2 = torch_timed(lambda: torch_knn(2.0, nq), repeat=3)
    nq1 = 1000  # torch's L1 is slow: both sides on 1000 queries
    t_l1 = torch_timed(lambda: torch_knn(1.0, nq1), repeat=3)
    for name, X, Y, metric, q, peer_t, ops_per in [
            ("kNN L2 float32 (CIFAR size)", Xf, Yf, "sqeuclidean", nq, t_l2, 1.0),   # one FMA
            ("kNN L2 uint8 exact", Xu, Yu, "sqeuclidean", nq, t_l2, 0.25),           # dp4a: 4 bytes
            ("kNN L1 float32", Xf[:nq1], Yf, "l1", nq1, t_l1, 2.0),                  # sub, add|.|
            ("kNN L1 uint8 exact", Xu[:nq1], Yu, "l1", nq1, t_l1, 0.5)]:             # vsadu4 + add
        a = timed(lambda X=X, Y=Y, metric=metric: ops.knn(X, Y, k, metric), repeat=3)
        rows.append((f"{name}, {q} queries", a, "torch cdist+topk", peer_t))
        if lane_rate:
            share = q * nt * d * ops_per / a / lane_rate
            notes.append(f"{name}: {share:.0%} of the device's 32-bit issue rate "
                         f"({ops_per:g} instructions per element)")


def fashion_end_to_end(rows, notes):
    import time

    import cupy
    from imgclf import ops
    from imgclf.datasets import load

    try:
        ds = load("fashion-mnist")
    except Exception as exc:  # not installed on this machine
        notes.append(f"Fashion-MNIST end to end: skipped ({exc})")
        return
    Xq, Xt = ds.X_test.reshape(10000, -1), ds.X_train.reshape(60000, -1)
    yt = ds.y_train.astype("int64")

    def run():
        dist, idx = ops.knn(cupy.asarray(Xq), cupy.asarray(Xt), 5, "l1")
        labels, _ = ops.vote(cupy.asarray(yt)[idx], 10, dist, "uniform")
        return labels.get()

    run()
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        labels = run()
        times.append(time.perf_counter() - t0)
    acc = float((labels == ds.y_test).mean())
    rows.append(("Fashion-MNIST kNN L1 uint8, host to host", statistics.median(times), "-", float("nan")))
    notes.append(f"Fashion-MNIST end to end: test accuracy {acc:.4f}")


def main():
    import cupy
    import torch
    from imgclf import ops

    rows, notes = [], []
    S = cupy.random.standard_normal((65536, 10), dtype=cupy.float32)
    y = cupy.random.randint(0, 10, 65536).astype(cupy.int64)
    St = torch.randn(65536, 10, device="cuda", requires_grad=True)
    yt = torch.randint(0, 10, (65536,), device="cuda")

    def torch_ce():
        St.grad = None
        torch.nn.functional.cross_entropy(St, yt).backward()

    def torch_hinge():
        St.grad = None
        sy = St.gather(1, yt[:, None])
        ((St - sy + 1).clamp(min=0).sum(1) - 1).mean().backward()

    for name, mine, peer in [("softmax loss+grad (65536, 10)", lambda: ops.softmax_loss(S, y), torch_ce),
                             ("SVM loss+grad (65536, 10)", lambda: ops.svm_loss(S, y), torch_hinge)]:
        a, b = timed(mine), torch_timed(peer)
        rows.append((name, a, "torch", b))

    n = 10_000_000
    p, g = cupy.random.standard_normal(n, dtype=cupy.float32), cupy.random.standard_normal(n, dtype=cupy.float32)
    m, v = cupy.zeros_like(p), cupy.zeros_like(p)
    step = [0]

    def adam():
        step[0] += 1
        ops.adam_step(p, g, m, v, step=step[0], lr=1e-3)

    pt = torch.nn.Parameter(torch.randn(n, device="cuda"))
    pt.grad = torch.randn(n, device="cuda")
    opt = torch.optim.Adam([pt], lr=1e-3, fused=True)
    a, b = timed(adam), torch_timed(opt.step)
    src, dst = cupy.empty(n * 7, cupy.float32), cupy.empty(n * 7, cupy.float32)
    copy_s = timed(lambda: dst.__setitem__(Ellipsis, src))
    copy_bw = 2 * src.nbytes / copy_s
    rows.append(("Adam 10M float32", a, "torch fused", b))
    knn_rows(rows, notes)
    fashion_end_to_end(rows, notes)
    print("| workload | imgclf ms | peer | peer ms | ratio |")
    print("|---|---:|---|---:|---:|")
    for name, x, peer, z in rows:
        if z == z:
            print(f"| {name} | {x * 1e3:.3f} | {peer} | {z * 1e3:.3f} | {z / x:.2f}x |")
        else:
            print(f"| {name} | {x * 1e3:.3f} | - | - | - |")
    print(f"\nAdam: {28 * n / a / 1e9:.0f} GB/s = {28 * n / a / copy_bw:.0%} of the device-to-device copy "
          f"bandwidth ({copy_bw / 1e9:.0f} GB/s)")
    for line in notes:
        print(line)


if __name__ == "__main__":
    main()
