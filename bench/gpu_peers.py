"""GPU benchmarks of the CUDA kernels imgclf has so far, against PyTorch, with device
events; prints one markdown table.  Run by bench/gpu.sh on a GPU machine.

  softmax/SVM loss + gradient on a (65536, 10) float32 batch: imgclf vs torch
      cross_entropy forward + backward (softmax) and a hand-written hinge (SVM)
  Adam over 10M float32 parameters: imgclf vs torch.optim.Adam(fused=True), against the
      measured device-to-device copy bandwidth (Adam moves 28 bytes per parameter)
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


def main():
    import cupy
    import torch

    from imgclf import ops

    rows = []
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
    print("| workload | imgclf ms | peer | peer ms | ratio |")
    print("|---|---:|---|---:|---:|")
    for name, x, peer, z in rows:
        print(f"| {name} | {x * 1e3:.3f} | {peer} | {z * 1e3:.3f} | {z / x:.2f}x |")
    print(f"\nAdam: {28 * n / a / 1e9:.0f} GB/s = {28 * n / a / copy_bw:.0%} of the device-to-device copy "
          f"bandwidth ({copy_bw / 1e9:.0f} GB/s)")


if __name__ == "__main__":
    main()
