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
    """Time knn on random uint8/float32 data of the given size against the NumPy reference."""
    import numpy as np

    from . import ops

    rng = np.random.default_rng(0)
    T = rng.integers(0, 256, size=(args.train, args.dim), dtype=np.uint8)
    Q = rng.integers(0, 256, size=(args.queries, args.dim), dtype=np.uint8)
    print(f"knn k={args.k}: {args.queries} queries x {args.train} train x {args.dim} features")
    print(f"{'dtype':8} {'metric':12} {'imgclf s':>9} {'numpy s':>9} {'speedup':>8}")
    for dtype in ("uint8", "float32"):
        q, t = Q.astype(dtype), T.astype(dtype)
        for metric in ("sqeuclidean", "l1"):
            t0 = time.perf_counter()
            ops.knn(q, t, args.k, metric)
            a = time.perf_counter() - t0
            t0 = time.perf_counter()
            ops.knn(q, t, args.k, metric, backend="numpy")
            b = time.perf_counter() - t0
            print(f"{dtype:8} {metric:12} {a:9.3f} {b:9.3f} {b / a:7.1f}x")
    return 0


def cmd_run(args):
    """The whole pipeline: validation, cross-validation, training, one test evaluation, report."""
    from .pipeline import run_pipeline, table

    try:
        res = run_pipeline(args.dataset, args.data_dir, out=args.out, force=args.force, quick=args.quick,
                           seed=args.seed, backend=args.backend)
    except (FileExistsError, FileNotFoundError, ValueError) as exc:
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
    p.add_argument("--backend", default="auto", choices=("auto", "cpu", "numpy"))
    p.add_argument("--out", default="imgclf-report", help="report folder (default ./imgclf-report)")
    p.add_argument("--force", action="store_true", help="overwrite an existing report folder")
    p.add_argument("--quick", action="store_true", help="smaller searches (and a subsample of large datasets)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("info", help="version, compiled backends, SIMD level, threads, GPU")
    p.set_defaults(func=cmd_info)
    p = sub.add_parser("bench", help="quick knn timing against the NumPy reference")
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--train", type=int, default=5000)
    p.add_argument("--dim", type=int, default=784)
    p.add_argument("--k", type=int, default=5)
    p.set_defaults(func=cmd_bench)
    args = ap.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
