"""The imgclf command line: `imgclf run`, `imgclf info`, `imgclf bench`."""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time


def cmd_info(args: argparse.Namespace) -> int:
    """Version, compiled backends, SIMD level, threads, and whether a GPU is usable (and why not)."""
    import numpy as np

    from . import __version__, backend

    print(f"imgclf {__version__}  (Python {platform.python_version()}, NumPy {np.__version__}, "
          f"{platform.machine()})")
    if backend.cpu_available():
        print(f"CPU backend:  compiled (imgclf._cpu), SIMD {backend.simd_level()} "
              f"(supported: {', '.join(backend.simd_levels())})")
    else:
        print(f"CPU backend:  NumPy reference only; imgclf._cpu did not load: {backend.cpu_unavailable_reason()}")
    omp = os.environ.get("OMP_NUM_THREADS")
    print(f"threads:      {backend.get_num_threads()}" + (f" (OMP_NUM_THREADS={omp})" if omp else ""))
    ok, why = backend.gpu_status()
    print(f"GPU:          {'usable' if ok else 'not usable'}: {why}")
    env = os.environ.get("IMGCLF_BACKEND")
    if env:
        print(f"IMGCLF_BACKEND={env}")
    return 0


def cmd_bench(args):
    """Time imgclf's knn against the best plain-NumPy kNN on the same data and threads."""
    import statistics

    import numpy as np

    from . import backend, ops
    from .benchmarks.cases import images, set_threads
    from .benchmarks.peers import numpy_knn_inputs, numpy_knn_l1, numpy_knn_l2

    for name in ("queries", "train", "dim", "k", "repeat"):
        if getattr(args, name) < 1:
            print(f"imgclf bench: --{name} must be >= 1", file=sys.stderr)
            return 2
    if args.k > args.train:
        print("imgclf bench: --k must be <= --train", file=sys.stderr)
        return 2
    if args.threads is not None and args.threads < 1:
        print("imgclf bench: --threads must be >= 1", file=sys.stderr)
        return 2
    threads = set_threads(args.threads)  # imgclf's pool and NumPy's BLAS alike
    n = args.queries + args.train
    shape = {784: "fashion-mnist-like", 3072: "cifar-like"}.get(args.dim)
    if shape is not None:
        X, _ = images(n, shape, seed=0)
        what = f"synthetic {shape} uint8 images"
    else:
        X = np.random.default_rng(0).integers(0, 256, (n, args.dim), dtype=np.uint8)
        what = "uniformly random uint8 rows"
    Q, T = X[:args.queries], X[args.queries:]
    print(f"knn k={args.k}: {args.queries} queries x {args.train} train x {args.dim} features ({what})")
    print(f"imgclf: SIMD {backend.simd_level() or 'none (NumPy reference)'}, {threads} thread(s); "
          f"NumPy {np.__version__} with its BLAS pinned to the same {threads} thread(s)")
    print("numpy: the best plain-NumPy kNN we know, on copies made before timing: L2 = float32 matmul + "
          "argpartition per 256 queries, L1 = tiled broadcast |q - t| + argpartition (int16 for uint8)")
    print(f"medians of {args.repeat} runs\n")
    print(f"{'dtype':8} {'metric':7} {'imgclf s':>9} {'numpy s':>9} {'speedup':>8}  same neighbours")

    def median_time(fn):
        times, out = [], None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t0)
        return statistics.median(times), out

    peer = {"l2": numpy_knn_l2, "l1": numpy_knn_l1}
    for dtype in ("uint8", "float32"):
        q, t = Q.astype(dtype), T.astype(dtype)
        for metric in ("l2", "l1"):
            qn, tn = numpy_knn_inputs(q, t, metric)
            code = "sqeuclidean" if metric == "l2" else "l1"
            a, (_, mine) = median_time(lambda q=q, t=t, code=code: ops.knn(q, t, args.k, code))
            b, theirs = median_time(lambda fn=peer[metric], qn=qn, tn=tn: fn(qn, tn, args.k))
            print(f"{dtype:8} {metric:7} {a:9.3f} {b:9.3f} {b / a:7.1f}x  {_same_neighbours(Q, T, mine, theirs, metric)}")
    return 0


def _same_neighbours(Q, T, a, b, metric):
    """'yes' when both neighbour lists have the same exact distances (ties may pick other rows)."""
    import numpy as np

    def dist(idx, s):
        diff = T[idx[s:s + 256]].astype(np.int64) - Q[s:s + 256].astype(np.int64)[:, None, :]
        return np.sort((diff * diff).sum(-1) if metric == "l2" else np.abs(diff).sum(-1), axis=1)
    bad = sum(int((dist(a, s) != dist(b, s)).any(axis=1).sum()) for s in range(0, len(Q), 256))
    return "yes" if bad == 0 else f"{bad} queries differ (float32 rounding in NumPy)"


def cmd_run(args):
    """The whole pipeline: validation, cross-validation, training, one test evaluation, report."""
    from .pipeline import NoGPUError, run_pipeline, table

    try:
        res = run_pipeline(args.dataset, args.data_dir, out=args.out, force=args.force, quick=args.quick,
                           seed=args.seed, backend=args.backend, scheduler=args.scheduler)
    except KeyboardInterrupt as exc:
        print(f"\n{exc}" if str(exc) else "\nimgclf run: interrupted", file=sys.stderr)
        return 130  # 128 + SIGINT, as a shell reports a command stopped by Ctrl-C
    except (OSError, ValueError, ImportError, NoGPUError) as exc:  # FileExistsError, PermissionError, ... : a clear line
        print(f"imgclf run: {exc}", file=sys.stderr)
        return 2
    print(table(res))
    print(f"\nreport: {os.path.join(args.out, 'report.md')}  ({res['seconds']:.1f} s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """The `imgclf` command line; returns the exit status."""
    from ._version import __version__
    from .datasets import DATASETS

    ap = argparse.ArgumentParser(prog="imgclf", description="Fast classic image classification.")
    ap.add_argument("--version", action="version", version=f"imgclf {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="the whole pipeline on a dataset, with a report folder")
    p.add_argument("--dataset", default="digits", choices=DATASETS)
    p.add_argument("--data-dir", default=None, help="where the dataset's files are (not needed for digits)")
    p.add_argument("--backend", default="auto", choices=("auto", "cpu", "numpy", "cuda"),
                   help="where to compute: auto (the compiled CPU kernels), cpu, numpy (the reference) "
                        "or cuda (the whole pipeline on the GPU, with CuPy)")
    p.add_argument("--out", default="imgclf-report", help="report folder (default ./imgclf-report)")
    p.add_argument("--force", action="store_true",
                   help="replace the imgclf report already in --out (only its own files, once the new one is ready)")
    p.add_argument("--quick", action="store_true", help="smaller searches (and a subsample of large datasets)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scheduler", default=None, metavar="ADDRESS|local",
                   help="run the kNN cross-validation and predictions on a Dask cluster: a scheduler address "
                        "(tcp://host:8786) or 'local' to start a LocalCluster here (needs imgclf[dask])")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("info", help="version, compiled backends, SIMD level, threads, GPU")
    p.set_defaults(func=cmd_info)
    p = sub.add_parser("bench", help="quick knn timing against the best plain-NumPy kNN")
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--train", type=int, default=5000)
    p.add_argument("--dim", type=int, default=784)
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--repeat", type=int, default=3, help="timed runs per implementation (the median counts)")
    p.add_argument("--threads", type=int, default=None,
                   help="threads for imgclf and NumPy's BLAS alike (default: IMGCLF_BENCH_THREADS or all CPUs)")
    p.set_defaults(func=cmd_bench)
    args = ap.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
