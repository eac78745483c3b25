"""The benchmark workloads: one :class:`Case` per (op or model, data shape, size).

A case holds its data (generated on first use from a fixed seed, so every process and
every implementation sees the same arrays), the name of its pytest-benchmark group,
imgclf's own answer, and :meth:`Case.check`, which says whether another implementation
got the same answer.  Every family has one calling convention (the ``SIGNATURES`` table),
so one function can be timed on every case of its family with :meth:`Case.bind`.
"""
from __future__ import annotations

import copy
import os
import sys
from functools import cached_property

import numpy as np

__all__ = ["FAMILIES", "SIGNATURES", "Case", "bench_threads", "cases", "params", "set_threads"]

U32 = 2.0 ** -24  # unit roundoff of float32
U64 = 2.0 ** -53

FAMILIES = ("knn", "pairwise", "vote", "loss", "linear_loss", "optim", "gemm", "epoch", "estimator")

SIGNATURES = {
    "knn": "fn(queries, train, k, metric) -> indices (n, k) or (distances, indices); "
           "metric 'l1' or 'l2'; any order within a row",
    "pairwise": "fn(X, Y, metric) -> (n_X, n_Y) distances; metric 'l1' or 'l2' (Euclidean)",
    "vote": "fn(neighbor_labels, n_classes, distances, weights) -> labels (n,) or (labels, scores); "
            "weights 'uniform' or 'distance' (1/d); ties go to the smallest label",
    "loss": "fn(scores, y, loss) -> (mean loss, dL/dscores); loss 'softmax' or 'svm' "
            "(sum over wrong classes of max(0, s_j - s_y + 1))",
    "linear_loss": "fn(X, y, W, b, loss, rows, scale, shift, reg) -> (loss, dW, db) for "
                   "x = scale * X[rows] - shift, scores = x W + b, plus reg * sum(W**2)",
    "optim": "fn(params, grads, states, **hyper) updates params and states (lists of arrays) "
             "in place; hyper per kind: see Case.params['hyper']",
    "gemm": "fn(A, B, trans_a, trans_b) -> op(A) @ op(B) (float32)",
    "epoch": "fn(X, y, params, order, *, model, batch_size, lr, reg, scale, shift) -> list of "
             "minibatch losses; updates the params dict in place (SGD for the linear models, "
             "Adam for the network)",
    "estimator": "fn(X_train, y_train, X_test) -> predicted labels of X_test",
}


# ---- threads ----------------------------------------------------------------------------

def bench_threads():
    """The thread count every implementation gets: ``IMGCLF_BENCH_THREADS``, else the
    number of CPUs this process may run on."""
    env = os.environ.get("IMGCLF_BENCH_THREADS")
    if env:
        n = int(env)
        if n < 1:
            raise ValueError(f"IMGCLF_BENCH_THREADS must be a positive int, got {env!r}")
        return n
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def set_threads(n=None):
    """Pin every thread pool loaded in this process to ``n`` threads (default
    :func:`bench_threads`): imgclf's OpenMP pool, every BLAS and OpenMP runtime that
    threadpoolctl finds (NumPy's and SciPy's OpenBLAS, faiss's, torch's), torch's intra-op
    pool and faiss's OpenMP pool.  Call it after the libraries are imported.  Returns n."""
    import imgclf

    n = bench_threads() if n is None else int(n)
    imgclf.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=n)
    except ImportError:  # scikit-learn depends on it, so it is normally there
        pass
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)
    if "faiss" in sys.modules:
        sys.modules["faiss"].omp_set_num_threads(n)
    return n


# ---- synthetic images ------------------------------------------------------------------

SHAPES = {"fashion-mnist-like": (28, 28, 1), "cifar-like": (32, 32, 3)}


def images(n, shape_name, seed, n_classes=10):
    """``n`` uint8 images (flattened) in ``n_classes`` clusters, and their labels.

    Each class has a prototype image; a sample is its prototype plus Gaussian noise
    (sd 45), clipped to [0, 255].  The Fashion-MNIST-like prototypes have a black
    background on about 40 % of the pixels, as the real images do.
    """
    d = int(np.prod(SHAPES[shape_name]))
    rng = np.random.default_rng(seed)
    protos = rng.random((n_classes, d), dtype=np.float32) * 200 + 20
    if shape_name.startswith("fashion"):
        protos[:, rng.random(d) < 0.4] = 0
    y = rng.integers(0, n_classes, n).astype(np.int64)
    X = np.empty((n, d), np.uint8)
    for s in range(0, n, 4096):
        e = min(n, s + 4096)
        noise = rng.standard_normal((e - s, d), dtype=np.float32) * 45
        X[s:e] = np.clip(protos[y[s:e]] + noise, 0, 255).astype(np.uint8)
    return X, y


# ---- the Case ---------------------------------------------------------------------------

class Case:
    """One workload: its data, group name, imgclf's answer and the check of an answer.

    Attributes: ``family`` (one of FAMILIES), ``name``, ``group`` (the pytest-benchmark
    group: family and name), ``size`` ("quick" or "full"), ``params`` (what the workload
    is: shapes, metric, dtype...), ``rounds`` (a fixed number of timed rounds for slow
    cases; None lets pytest-benchmark calibrate), ``id`` (a short pytest id).
    ``inputs`` is the dict of arguments of the family's signature (``SIGNATURES``);
    ``answer`` is imgclf's own result.
    """

    def __init__(self, spec, name, size, params, rounds=None):
        self._spec = spec
        self.family = spec.family
        self.name = name
        self.group = f"{spec.family} {name}"
        self.size = size
        self.params = dict(params)
        tag = self.params.pop("id", None) or name.split()
        self.rounds = rounds
        self.id = "-".join([spec.family] + [str(v) for v in tag])

    def __repr__(self):
        return f"<Case {self.group!r} ({self.size})>"

    def __str__(self):
        return self.id

    @cached_property
    def inputs(self):
        """The arguments of the family's signature, generated on first use."""
        return self._spec.make(self)

    def bind(self, fn):
        """A callable with no arguments that runs ``fn`` on this case's inputs and returns
        what :meth:`check` takes.  Families that update arrays in place (optim, epoch) get
        private copies of the inputs, made here, outside anything timed."""
        return self._spec.bind(self, fn)

    def imgclf(self):
        """imgclf's own implementation, bound to this case."""
        return self.bind(self._spec.impl(self))

    @cached_property
    def answer(self):
        """imgclf's result on this case (computed once)."""
        return self.imgclf()()

    def check(self, result):
        """Raise AssertionError (saying what differs) unless ``result`` is the same answer
        as imgclf's: the same neighbours up to ties within float32 rounding, the same loss
        and gradients within float tolerance, the same votes, the same predictions'
        accuracy."""
        self._spec.check(self, result)

    def label(self, benchmark, impl, config=""):
        """Put a pytest-benchmark fixture into this case's group and record what it times:
        ``extra_info`` gets impl (e.g. "imgclf", "numpy", "torch", "mine"), config, case,
        family, size and the thread count; every thread pool is pinned to that count."""
        benchmark.group = self.group
        benchmark.extra_info["impl"] = impl
        benchmark.extra_info["config"] = config
        benchmark.extra_info["case"] = self.id
        benchmark.extra_info["family"] = self.family
        benchmark.extra_info["size"] = self.size
        benchmark.extra_info["threads"] = set_threads()

    def measure(self, benchmark, run, reference=False):
        """Check ``run``'s first answer, then time it: a fixed number of rounds for slow
        cases (``rounds``), pytest-benchmark's calibration otherwise.  With
        --benchmark-disable the one call is both the check and the run.  ``reference=True``
        (imgclf's own entry) lets that first answer become :attr:`answer` when it has not
        been computed yet, which saves one run of imgclf."""
        first = benchmark(run) if benchmark.disabled else run()
        if reference and "answer" not in self.__dict__:
            self.__dict__["answer"] = copy.deepcopy(first)  # (in-place families keep mutating theirs)
        self.check(first)
        if benchmark.disabled:
            return
        set_threads(benchmark.extra_info.get("threads"))
        if self.rounds:
            benchmark.pedantic(run, rounds=self.rounds, iterations=1, warmup_rounds=0)
        else:
            benchmark(run)

    @property
    def marks(self):
        import pytest

        return [getattr(pytest.mark, self.size)]


def cases(family=None, size=None, **match):
    """The shipped cases, optionally only one family (or a tuple of families), one size
    ("quick" or "full") and those whose ``params`` match every keyword given (e.g.
    ``metric="l2"``)."""
    from . import workloads

    fams = (family,) if isinstance(family, str) else family
    if fams is not None:
        unknown = set(fams) - set(FAMILIES)
        if unknown:
            raise ValueError(f"family must be among {FAMILIES}, got {sorted(unknown)}")
    if size not in (None, "quick", "full"):
        raise ValueError(f"size must be 'quick', 'full' or None, got {size!r}")
    out = []
    for c in workloads.ALL:
        if fams is not None and c.family not in fams:
            continue
        if size is not None and c.size != size:
            continue
        if any(c.params.get(k) != v for k, v in match.items()):
            continue
        out.append(c)
    return out


def params(family=None, size=None, **match):
    """:func:`cases` as ``pytest.param`` objects, each marked ``quick`` or ``full`` and with
    the case's id, for ``@pytest.mark.parametrize("case", params(...))``."""
    import pytest

    return [pytest.param(c, id=c.id, marks=c.marks) for c in cases(family, size, **match)]
