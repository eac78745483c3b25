"""Training epochs with the Trainer's steps taken many per call (NetModel.train_steps: one
imgclf.ops.network_train kernel call per 32 batches) against the same steps taken batch by
batch (network_loss, then the optimizer step, from Python: what every version before
network_train did), on the same build, the same data and the same seeds.  Each epoch runs
in its own process, the two ways alternating, one thread, CPU time; medians.

    python bench/train_steps.py [--rounds 5] [--batch-sizes 32,256] [--hidden 256,128]

Fashion-MNIST, NetModel 784-hidden-10, Adam (lr 1e-3), reg 1e-4, relu.  The two ways give
the same parameters bit for bit (tests/ops/test_network_train.py); the script checks the
losses agree too.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys


def one_epoch(way, batch, hidden, data_dir):
    import time

    import imgclf
    import numpy as np
    from imgclf import datasets
    from imgclf._trained import Preprocess
    from imgclf.network import NetModel
    from imgclf.optim import Adam

    class PerBatch(Adam):  # an update of its own: the Trainer then steps batch by batch
        def _update(self, p, g, st):
            super()._update(p, g, st)

    imgclf.set_num_threads(1)
    ds = datasets.load("fashion-mnist", data_dir)
    X = ds.X_train.reshape(len(ds.X_train), -1)
    y = ds.y_train.astype(np.int64)
    pre = Preprocess(X, np.float32)
    out = {}
    for r in range(2):  # epoch 0 warms up (page faults, scratch buffers)
        m = NetModel(784, hidden, 10, reg=1e-4, rng=r, preprocess=pre)
        opt = Adam(1e-3) if way == "per-call" else PerBatch(1e-3)
        t = imgclf.Trainer(m, optimizer=opt, batch_size=batch, epochs=1, train_acc_samples=1, random_state=r,
                           progress=False)
        c0 = time.process_time()
        t.fit(X, y)
        out = {"cpu": time.process_time() - c0, "loss_sum": float(np.sum(t.history["loss"]))}
    print(json.dumps(out))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--batch-sizes", default="32,256")
    ap.add_argument("--hidden", default="256,128")
    ap.add_argument("--data-dir", default=os.environ.get("IMGCLF_DATA", "/usr/share/datasets/fashion-mnist"))
    ap.add_argument("--one", nargs=2, help=argparse.SUPPRESS)  # (way, batch): one child process
    a = ap.parse_args(argv)
    hidden = tuple(int(h) for h in a.hidden.split(","))
    if a.one:
        return one_epoch(a.one[0], int(a.one[1]), hidden, a.data_dir)
    for batch in [int(b) for b in a.batch_sizes.split(",")]:
        runs = {"per-batch": [], "per-call": []}
        for r in range(a.rounds):
            for way in ("per-batch", "per-call") if r % 2 == 0 else ("per-call", "per-batch"):
                out = subprocess.run([sys.executable, __file__, "--one", way, str(batch), "--hidden", a.hidden,
                                      "--data-dir", a.data_dir], check=True, capture_output=True, text=True).stdout
                runs[way].append(json.loads(out.strip().splitlines()[-1]))
                print(f"batch {batch} round {r} {way}: {runs[way][-1]['cpu']:.3f} s CPU, "
                      f"load {os.getloadavg()[0]:.1f}", flush=True)
        same = {r["loss_sum"] for w in runs for r in runs[w]}
        med = {w: statistics.median(r["cpu"] for r in runs[w]) for w in runs}
        print(f"\nbatch {batch}, hidden {hidden}: batch by batch {med['per-batch']:.3f} s, "
              f"{32} steps per call {med['per-call']:.3f} s ({med['per-call'] / med['per-batch']:.2f}x); "
              f"losses {'identical' if len(same) == 1 else 'DIFFER: ' + str(same)}\n", flush=True)


if __name__ == "__main__":
    sys.exit(main())
