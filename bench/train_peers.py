"""Time one training workload of one library in this process; print one JSON line.

    python bench/train_peers.py TASK PEER [--repeat R]

TASK / PEER:
  softmax-epoch  imgclf | numpy | torch | sklearn   one epoch, Fashion-MNIST 60k x 784, batch 256
  svm-epoch      imgclf | numpy | torch             one epoch, same data (multiclass hinge)
  net-epoch      imgclf | torch                     one epoch of the 784-256-10 ReLU network
  adam           imgclf | numpy | torch-fused | torch-foreach   one Adam step, 10M float32
  sgd|momentum|rmsprop   imgclf | numpy | torch-fused | torch-foreach   one step, 10M float32

Peers get the pixels scaled to [0, 1] as float32; imgclf keeps them uint8 and scales each
minibatch as it draws it.  train_report.py runs every (task, peer) in its own process.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
B, LR, REG = 256, 1e-3, 1e-4
N_PARAMS = 10_000_000


def fashion():
    from imgclf.datasets import load

    ds = load("fashion-mnist")
    return ds.X_train.reshape(60000, -1), ds.y_train.astype(np.int64)


# ---- linear epochs -----------------------------------------------------------------------

def linear_imgclf(X, y, loss):
    from imgclf._trained import Preprocess
    from imgclf.linear import LinearModel
    from imgclf.optim import SGD

    m = LinearModel(784, 10, loss=loss, reg=REG, rng=0, preprocess=Preprocess(X, np.float32))
    opt = SGD(LR)
    rng = np.random.default_rng(0)

    def epoch():
        order = rng.permutation(len(y))
        for s in range(0, len(y), B):
            idx = order[s:s + B]
            _, g = m.loss(X, y[idx], rows=idx)
            opt.step(m.params, g)
    return epoch


def linear_numpy(X, y, loss):
    Xf = X.astype(np.float32) / 255.0
    mean = Xf.mean(0)
    W = (1e-3 * np.random.default_rng(0).standard_normal((784, 10))).astype(np.float32)
    b = np.zeros(10, np.float32)
    rng = np.random.default_rng(0)

    def epoch():
        nonlocal W, b
        order = rng.permutation(len(y))
        for s in range(0, len(y), B):
            idx = order[s:s + B]
            x = Xf[idx] - mean
            sc = x @ W + b
            n = len(idx)
            r = np.arange(n)
            if loss == "softmax":
                sc -= sc.max(1, keepdims=True)
                e = np.exp(sc)
                p = e / e.sum(1, keepdims=True)
                p[r, y[idx]] -= 1
                ds = p / n
            else:
                m = np.maximum(0, sc - sc[r, y[idx]][:, None] + 1)
                m[r, y[idx]] = 0
                ds = (m > 0).astype(np.float32)
                ds[r, y[idx]] = -ds.sum(1)
                ds /= n
            dW = x.T @ ds + 2 * REG * W
            W -= LR * dW
            b -= LR * ds.sum(0)
    return epoch


def linear_torch(X, y, loss):
    import torch

    Xf = torch.from_numpy(X.astype(np.float32) / 255.0)
    Xf -= Xf.mean(0)
    yt = torch.from_numpy(y)
    lin = torch.nn.Linear(784, 10)
    opt = torch.optim.SGD(lin.parameters(), lr=LR, weight_decay=2 * REG)
    g = torch.Generator().manual_seed(0)

    def hinge(sc, t):  # hand-written multiclass hinge, summed over classes, mean over batch
        sy = sc.gather(1, t[:, None])
        m = (sc - sy + 1).clamp(min=0)
        return (m.sum(1) - 1).mean()  # the true class contributes exactly the margin 1

    def epoch():
        order = torch.randperm(len(yt), generator=g)
        for s in range(0, len(yt), B):
            idx = order[s:s + B]
            opt.zero_grad()
            out = lin(Xf[idx])
            l = torch.nn.functional.cross_entropy(out, yt[idx]) if loss == "softmax" else hinge(out, yt[idx])
            l.backward()
            opt.step()
    return epoch


def linear_sklearn(X, y, loss):
    from sklearn.linear_model import SGDClassifier

    Xf = X.astype(np.float32) / 255.0
    Xf -= Xf.mean(0)
    clf = SGDClassifier(loss="log_loss", alpha=REG, max_iter=1, tol=None, random_state=0)
    classes = np.arange(10)
    return lambda: clf.partial_fit(Xf, y, classes=classes)


# ---- network epoch -------------------------------------------------------------------------

def net_imgclf(X, y):
    from imgclf._trained import Preprocess
    from imgclf.network import NetModel
    from imgclf.optim import Adam

    m = NetModel(784, 256, 10, rng=0, preprocess=Preprocess(X, np.float32))
    opt = Adam(LR)
    rng = np.random.default_rng(0)

    def epoch():
        order = rng.permutation(len(y))
        for s in range(0, len(y), B):
            idx = order[s:s + B]
            _, g = m.loss(X, y[idx], rows=idx)
            opt.step(m.params, g)
    return epoch


def net_torch(X, y):
    import torch

    Xf = torch.from_numpy(X.astype(np.float32) / 255.0)
    Xf -= Xf.mean(0)
    yt = torch.from_numpy(y)
    net = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    g = torch.Generator().manual_seed(0)

    def epoch():
        order = torch.randperm(len(yt), generator=g)
        for s in range(0, len(yt), B):
            idx = order[s:s + B]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(Xf[idx]), yt[idx]).backward()
            opt.step()
    return epoch


# ---- optimizer steps -------------------------------------------------------------------------

def step_imgclf(kind):
    from imgclf import ops

    rng = np.random.default_rng(0)
    p = rng.standard_normal(N_PARAMS, dtype=np.float32)
    g = rng.standard_normal(N_PARAMS, dtype=np.float32)
    s1, s2 = np.zeros_like(p), np.zeros_like(p)
    step = [0]

    def f():
        step[0] += 1
        if kind == "adam":
            ops.adam_step(p, g, s1, s2, step=step[0], lr=1e-3)
        elif kind == "sgd":
            ops.sgd_step(p, g, lr=1e-3)
        elif kind == "momentum":
            ops.momentum_step(p, g, s1, lr=1e-3, rho=0.9)
        else:
            ops.rmsprop_step(p, g, s1, lr=1e-3)
    return f


def step_numpy(kind):
    rng = np.random.default_rng(0)
    p = rng.standard_normal(N_PARAMS, dtype=np.float32)
    g = rng.standard_normal(N_PARAMS, dtype=np.float32)
    m, v = np.zeros_like(p), np.zeros_like(p)
    t = [0]

    def f():
        t[0] += 1
        if kind == "adam":
            m[:] = 0.9 * m + 0.1 * g
            v[:] = 0.999 * v + 0.001 * g * g
            p[:] -= 1e-3 * (m / (1 - 0.9 ** t[0])) / (np.sqrt(v / (1 - 0.999 ** t[0])) + 1e-8)
        elif kind == "sgd":
            p[:] -= 1e-3 * g
        elif kind == "momentum":
            m[:] = 0.9 * m - 1e-3 * g
            p[:] += m
        else:
            m[:] = 0.99 * m + 0.01 * g * g
            p[:] -= 1e-3 * g / (np.sqrt(m) + 1e-8)
    return f


def step_torch(kind, mode):
    import torch

    p = torch.nn.Parameter(torch.randn(N_PARAMS))
    p.grad = torch.randn(N_PARAMS)
    kw = {"fused": True} if mode == "fused" else {"foreach": True}
    if kind == "adam":
        opt = torch.optim.Adam([p], lr=1e-3, **kw)
    elif kind == "sgd":
        opt = torch.optim.SGD([p], lr=1e-3, **kw)
    elif kind == "momentum":
        opt = torch.optim.SGD([p], lr=1e-3, momentum=0.9, **kw)
    else:
        opt = torch.optim.RMSprop([p], lr=1e-3, **({"foreach": True}))
    return opt.step


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("task")
    ap.add_argument("peer")
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    if a.task in ("softmax-epoch", "svm-epoch", "net-epoch"):
        X, y = fashion()
        loss = "softmax" if a.task != "svm-epoch" else "svm"
        if a.task == "net-epoch":
            f = {"imgclf": net_imgclf, "torch": net_torch}[a.peer](X, y)
        else:
            f = {"imgclf": linear_imgclf, "numpy": linear_numpy, "torch": linear_torch,
                 "sklearn": linear_sklearn}[a.peer](X, y, loss)
    else:
        if a.peer.startswith("torch"):
            f = step_torch(a.task, a.peer.split("-")[1])
        else:
            f = {"imgclf": step_imgclf, "numpy": step_numpy}[a.peer](a.task)
    f()  # warm-up
    times = []
    for _ in range(a.repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    print(json.dumps({"task": a.task, "peer": a.peer, "median": statistics.median(times), "times": times}))


if __name__ == "__main__":
    main()
