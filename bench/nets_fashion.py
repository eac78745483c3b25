"""NeuralNet on Fashion-MNIST with the default settings: test accuracy and fit time of each
configuration, each in its own process (so one run's memory and threads do not touch the
next), with the machine's load average before and after.

    python bench/nets_fashion.py [--only NAME ...] [--data-dir DIR] [--seed 0] [--threads N]

--threads: imgclf's thread count (default: its own default, the cores).  On a machine
shared with other work, one thread avoids waiting at every parallel region for a
descheduled thread; the fit time is then the wall time of that one thread.

Configurations: the 3-layer net (hidden=(256, 128)) with relu, tanh, sigmoid, and with
dropout=0.2; the 2-layer net (hidden=256) with and without dropout=0.2.  Prints one line of
JSON per configuration and a table.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CONFIGS = {
    "3layer-relu": {"hidden": [256, 128]},
    "3layer-tanh": {"hidden": [256, 128], "activation": "tanh"},
    "3layer-sigmoid": {"hidden": [256, 128], "activation": "sigmoid"},
    "3layer-relu-dropout0.2": {"hidden": [256, 128], "dropout": 0.2},
    "2layer-relu": {"hidden": 256},
    "2layer-relu-dropout0.2": {"hidden": 256, "dropout": 0.2},
}


def _one(name, data_dir, seed, threads):
    import time

    import imgclf
    import numpy as np
    from imgclf import datasets

    if threads:
        imgclf.set_num_threads(threads)
    ds = datasets.load("fashion-mnist", data_dir)
    kw = dict(CONFIGS[name])
    if isinstance(kw["hidden"], list):
        kw["hidden"] = tuple(kw["hidden"])
    net = imgclf.NeuralNet(random_state=seed, progress=False, **kw)
    load0 = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    net.fit(ds.X_train, ds.y_train)
    fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
    acc = float(np.mean(net.predict(ds.X_test) == ds.y_test))
    return {"name": name, "params": kw, "test_acc": acc, "fit_s": round(fit_s, 2), "fit_cpu_s": round(fit_cpu, 2), "epochs": net.n_iter_,
            "load_before": round(load0, 2), "load_after": round(os.getloadavg()[0], 2),
            "threads": imgclf.get_num_threads()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", choices=sorted(CONFIGS), help="configurations to run (default: all)")
    ap.add_argument("--data-dir", default=os.environ.get("IMGCLF_DATA", "/usr/share/datasets/fashion-mnist"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        print(json.dumps(_one(a.child, a.data_dir, a.seed, a.threads)), flush=True)
        return
    rows = []
    for name in a.only or list(CONFIGS):
        out = subprocess.run([sys.executable, __file__, "--child", name, "--data-dir", a.data_dir,
                              "--seed", str(a.seed), "--threads", str(a.threads)], check=True, capture_output=True, text=True).stdout
        row = json.loads(out.strip().splitlines()[-1])
        print(json.dumps(row), flush=True)
        rows.append(row)
    print("\n| configuration | test accuracy | fit wall (s) | fit CPU (s) | threads | load before / after |\n"
          "|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['name']} | {r['test_acc']:.4f} | {r['fit_s']:.1f} | {r['fit_cpu_s']:.1f} | {r['threads']} | "
              f"{r['load_before']} / {r['load_after']} |")


if __name__ == "__main__":
    main()
