"""Fashion-MNIST kNN through Dask against single-process ops.knn, each configuration in its
own process, medians of several runs.

    python bench/dask_knn.py                       # full set: 10000 test x 60000 train, L1, uint8, k=5
    python bench/dask_knn.py --train 20000 --queries 2000 --repeat 3   # a subset

Configurations (all on the same 2 cores):
  single   one process, ops.knn with 2 OpenMP threads (imgclf.set_num_threads(2))
  dask-1   LocalCluster, 1 worker process x 1 task thread, the kernel on 2 OpenMP threads
  dask-2   LocalCluster, 2 worker processes x 1 task thread, the kernel on 1 OpenMP thread each
  dask-NxT (with --configs) N worker processes x 1 task thread, the kernel on T OpenMP threads
  dask-N:quiet  as dask-N, with Dask's monitoring made quieter (imgclf.dask.QUIET: the
           workers' statistical profiler off, the event loops' latency tick every 500 ms instead
           of 20 ms; idle, they cost the 2-core machine ~6 % of its CPU by default, ~2 % so)

The training set is cut into one shard per worker and persisted on the workers before the
clock starts (a model fitted once and queried many times); the one-off cost of sending it
there is reported separately as "load".  The queries start on the client as a NumPy array, so
their transfer to every worker, the per-shard searches, the merge and the results' return
are all timed.  Each process makes one full-size call first (its time is reported as
"first", not counted: the first call after the shards land runs ~0.1-0.2 s slower) and then
3 timed calls, whose median is the process's figure; each configuration runs in --repeat
processes, interleaved, and the table gives the median over them.
Every run's neighbour indices are checked against the single-process answer.

Prints one JSON line per run and a summary table; --json FILE writes everything.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time


def _data(n_train, n_queries):
    from imgclf.datasets import load

    ds = load("fashion-mnist")
    Xtr = ds.X_train.reshape(len(ds.X_train), -1)[:n_train]
    Xte = ds.X_test.reshape(len(ds.X_test), -1)[:n_queries]
    return Xtr, Xte


def _digest(idx):
    import numpy as np

    return hashlib.sha1(np.ascontiguousarray(idx, dtype=np.int64).tobytes()).hexdigest()[:16]


def run_one(config, n_train, n_queries, k, metric, calls=3):
    """One run in this process: a first full-size call, then `calls` timed ones; returns a dict."""
    import imgclf
    import numpy as np
    from imgclf import ops

    Xtr, Xte = _data(n_train, n_queries)
    out = {"config": config, "n_train": len(Xtr), "n_queries": len(Xte), "k": k, "metric": metric}

    def timed_calls(call):
        """The first full-size call (reported, not counted), then the median of `calls` more:
        a fitted model answering query batches, as it does when it is used."""
        t = time.perf_counter()
        idx = call()
        out["first_seconds"] = time.perf_counter() - t
        ts = []
        for _ in range(calls):
            t = time.perf_counter()
            call()
            ts.append(time.perf_counter() - t)
        out["calls_seconds"] = ts
        out["seconds"] = statistics.median(ts)
        return idx

    if config == "single":
        imgclf.set_num_threads(2)
        ops.knn(Xte[:8], Xtr[:64], k, metric)  # warm: first-call costs out of the clock
        idx = timed_calls(lambda: ops.knn(Xte, Xtr, k, metric)[1])
        out["digest"] = _digest(idx)
        return out
    import dask
    import dask.array as da
    import distributed

    spec, _, opt = config.split("-")[1].partition(":")  # "N" or "NxT", then ":quiet" or nothing
    n, threads = (int(v) for v in spec.split("x")) if "x" in spec else (int(spec), max(1, 2 // int(spec)))
    settings = {"distributed.nanny.pre-spawn-environ.OMP_NUM_THREADS": threads}
    if opt == "quiet":  # imgclf.dask.QUIET: Dask's profiler off, its event-loop ticks every 500 ms
        from imgclf.dask import QUIET

        settings.update(QUIET)
    with dask.config.set(settings):
        cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=40)
    try:
        with distributed.Client(cluster) as client:
            client.run(imgclf.set_num_threads, threads)
            # warm: the workers import imgclf.dask and run the kernel once (first-call costs out of
            # the clock, as for "single"; a long-running cluster has paid them long ago)
            z = da.zeros((64, Xtr.shape[1]), dtype=np.uint8, chunks=(64 // n, -1))
            dask.compute(*ops.knn(z[:8], z, k, metric))
            t = time.perf_counter()
            shard = -(-len(Xtr) // n)
            T = da.from_array(Xtr, chunks=(shard, -1)).persist()
            distributed.wait(T)
            out["load_seconds"] = time.perf_counter() - t
            out["shards_on"] = sorted(len(w) for w in client.who_has(T).values())
            # NumPy queries (one block): sent straight to the shard holders, one task per shard,
            # one merge; the graph is built in the timed call
            idx = timed_calls(lambda: dask.compute(*ops.knn(Xte, T, k, metric))[1])
            # the same call again, untimed, with the task stream recorded (recording it costs the
            # scheduler CPU): what the tasks themselves computed; the rest of the wall time is
            # Dask's (transfers, scheduling, serialization)
            with distributed.get_task_stream(client) as ts:
                t = time.perf_counter()
                dask.compute(*ops.knn(Xte, T, k, metric))
                out["recorded_seconds"] = time.perf_counter() - t
            spans = {}
            for rec in ts.data:
                name = str(rec["key"][0] if isinstance(rec["key"], tuple) else rec["key"]).split("-")[0]
                for s in rec["startstops"]:
                    if s["action"] == "compute":
                        spans.setdefault(name, []).append(s["stop"] - s["start"])
            out["task_compute_seconds"] = {n: [round(x, 4) for x in v] for n, v in spans.items()}
            out["digest"] = _digest(idx)
            # the per-shard search alone, on the worker that holds the shard (for the cost model)
            sizes = [c for c in T.chunks[0]]
            per = []
            for blk in T.to_delayed().ravel():
                f = client.compute(blk)
                where = list(client.who_has(f)[f.key])
                q_f = client.scatter(Xte, workers=where, hash=False)

                def timed(q, t_, kk=k, m=metric):
                    t0 = time.perf_counter()
                    ops.knn(q, t_, kk, m)
                    return time.perf_counter() - t0

                per.append(client.submit(timed, q_f, f, workers=where, pure=False).result())
            out["shard_rows"] = sizes
            out["shard_search_seconds"] = per
    finally:
        cluster.close()
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train", type=int, default=60000)
    ap.add_argument("--queries", type=int, default=10000)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--metric", default="l1")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--configs", default="single,dask-1,dask-2,dask-2:quiet")
    ap.add_argument("--json", default=None)
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)  # run one config here
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one, args.train, args.queries, args.k, args.metric)))
        return 0
    configs = args.configs.split(",")
    runs = {c: [] for c in configs}
    for _ in range(args.repeat):  # interleaved, so that a change in the machine's load hits every config
        for c in configs:
            cmd = [sys.executable, os.path.abspath(__file__), "--one", c, "--train", str(args.train),
                   "--queries", str(args.queries), "--k", str(args.k), "--metric", args.metric]
            p = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if p.returncode != 0:
                print(p.stderr[-3000:], file=sys.stderr)
                raise SystemExit(f"{c} failed")
            res = json.loads(p.stdout.strip().splitlines()[-1])
            res["load_avg"] = os.getloadavg()[0]
            runs[c].append(res)
            print(json.dumps(res), flush=True)
    digests = {r["digest"] for rs in runs.values() for r in rs}
    base = statistics.median(r["seconds"] for r in runs[configs[0]])
    print(f"\nFashion-MNIST kNN {args.metric} uint8 k={args.k}: {args.queries} queries x {args.train} train; "
          f"medians of {args.repeat}; answers identical: {len(digests) == 1}")
    print(f"{'config':12s} {'median s':>9s} {'vs ' + configs[0]:>10s} {'load s':>7s} {'first s':>8s}  runs")
    for c in configs:
        s = [r["seconds"] for r in runs[c]]
        load = [r["load_seconds"] for r in runs[c] if "load_seconds" in r]
        print(f"{c:12s} {statistics.median(s):9.3f} {statistics.median(s) / base:9.3f}x "
              f"{(statistics.median(load) if load else 0):7.2f} "
              f"{statistics.median(r['first_seconds'] for r in runs[c]):8.3f}  {' '.join(f'{x:.3f}' for x in s)}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "runs": runs, "identical": len(digests) == 1}, f, indent=1)
    return 0 if len(digests) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
