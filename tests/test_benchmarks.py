"""The benchmark kit shipped as imgclf.benchmarks: its cases and their answers, the checks
(a wrong answer must fail), the thread pinning, the ratio table, the README example (run
as a user would run it) and `imgclf bench`.  The timings themselves are never asserted."""
import copy
import json
import os
import re
import subprocess
import sys

import imgclf
import numpy as np
import pytest
from imgclf import ops
from imgclf.benchmarks import FAMILIES, SIGNATURES, cases, params, set_threads
from imgclf.benchmarks import table as bench_table
from imgclf.benchmarks.peers import numpy_epoch, peers_for

from .helpers import source_dir

QUICK = cases(size="quick")


def _by_id(prefix):
    return [c for c in QUICK if c.id.startswith(prefix)]


# ---- the registry ----------------------------------------------------------------------

def test_every_family_has_quick_cases_and_a_peer_that_needs_nothing_optional():
    assert set(SIGNATURES) == set(FAMILIES)
    all_cases = cases()
    assert len({c.group for c in all_cases}) == len(all_cases)
    assert len({c.id for c in all_cases}) == len(all_cases)
    for fam in FAMILIES:
        assert cases(fam, "quick"), fam
    for c in all_cases:
        impls = [p.impl for p in peers_for(c)]
        assert impls[0] == "imgclf", c
        # numpy, scipy and scikit-learn are dependencies of imgclf: every group has a peer
        assert {"numpy", "sklearn", "scipy"} & set(impls[1:]), c


def test_filters_and_errors():
    l2 = cases("knn", "quick", metric="l2")
    assert l2 and all(c.params["metric"] == "l2" and c.size == "quick" for c in l2)
    assert [p.id for p in params("knn", "quick", metric="l2")] == [c.id for c in l2]
    with pytest.raises(ValueError, match="family"):
        cases("nope")
    with pytest.raises(ValueError, match="size"):
        cases("knn", "medium")


# ---- imgclf's answers against the NumPy reference / exact arithmetic ----------------------

def _exact_knn(Q, T, k, metric):
    """k smallest exact distances per query (the data are integers: float64 is exact)."""
    from scipy.spatial.distance import cdist

    q, t = Q.astype(np.float64), T.astype(np.float64)
    if metric == "l2":
        D = (q * q).sum(1)[:, None] + (t * t).sum(1)[None, :] - 2 * q @ t.T
    else:
        D = cdist(q, t, "cityblock")
    return np.sort(D, axis=1)[:, :k]


@pytest.mark.parametrize("case", [c for c in QUICK if c.family == "knn" and c.params["dtype"] == "uint8"],
                         ids=str)
def test_knn_answers_are_the_exact_nearest(case):
    inp = case.inputs
    dist, idx = case.answer
    want = _exact_knn(inp["queries"], inp["train"], inp["k"], inp["metric"])
    got = dist.astype(np.float64)  # (imgclf's knn ran with "sqeuclidean" for l2)
    np.testing.assert_allclose(np.sort(got, axis=1), want, rtol=1e-12)
    # the float32 case holds the same images: the same exact answer
    twin = next(c for c in QUICK if c.family == "knn" and c.id == case.id.replace("uint8", "float32"))
    np.testing.assert_array_equal(np.sort(twin.answer[1], axis=1), np.sort(idx, axis=1))


def _reference(case):
    """The NumPy reference of each op, with the family's signature."""
    from scipy.spatial.distance import cdist

    kind = case.params.get("kind")

    def step(params, grads, states, **h):
        fn = getattr(ops, f"{kind}_step")
        extra = {"sgd": {}, "momentum": {"rho": h.get("rho")}, "nesterov": {"rho": h.get("rho")},
                 "adagrad": {"eps": h.get("eps")}, "rmsprop": {"decay": h.get("decay"), "eps": h.get("eps")},
                 "adam": {"step": h.get("step"), "beta1": h.get("beta1"), "beta2": h.get("beta2"),
                          "eps": h.get("eps")}}[kind]
        fn(params, grads, *states, lr=h["lr"], backend="numpy", **extra)

    return {
        # the data are integers, so SciPy's float64 distances are exact (and faster than the reference)
        "pairwise": lambda X, Y, metric: cdist(X.astype(np.float64), Y.astype(np.float64),
                                               "euclidean" if metric == "l2" else "cityblock"),
        "vote": lambda neighbor_labels, n_classes, distances, weights: ops.vote(
            neighbor_labels, n_classes, distances, weights, tie_break="smallest", backend="numpy"),
        "loss": lambda scores, y, loss: (ops.softmax_loss(scores, y, backend="numpy") if loss == "softmax"
                                         else ops.svm_loss(scores, y, backend="numpy")),
        "linear_loss": lambda X, y, W, b, loss, rows, scale, shift, reg: ops.linear_loss(
            X, y, W, b, loss, rows=rows, scale=scale, shift=shift, reg=reg, backend="numpy"),
        "optim": step,
        "gemm": lambda A, B, trans_a, trans_b: ops.gemm(A, B, trans_a=trans_a, trans_b=trans_b, backend="numpy"),
    }[case.family]


@pytest.mark.parametrize("case", [c for c in QUICK if c.family in
                                  ("pairwise", "vote", "loss", "linear_loss", "optim", "gemm")], ids=str)
def test_answers_agree_with_the_numpy_reference(case):
    case.check(case.bind(_reference(case))())


@pytest.mark.parametrize("case", [c for c in QUICK if c.family == "epoch"], ids=str)
def test_epoch_answers_agree_with_plain_numpy(case):
    inp = case.inputs
    Xf = inp["X"].astype(np.float32) * np.float32(inp["scale"]) - inp["shift"]
    kw = {k: inp[k] for k in ("model", "batch_size", "lr", "reg")}
    case.check(case.bind(lambda X, y, params, order, **_: numpy_epoch(Xf, y, params, order, **kw))())


# ---- a wrong answer fails -------------------------------------------------------------------

def _fails(case, result, match=None):
    with pytest.raises(AssertionError, match=match):
        case.check(result)


def test_knn_check_rejects_other_neighbours():
    for case in _by_id("knn-l2-float32-fmnist-quick") + _by_id("knn-l1-uint8-cifar-quick"):
        dist, idx = case.answer
        case.check(idx)
        case.check((dist, idx[:, ::-1].copy()))  # any order within a row
        far = np.argmax(np.abs(case.inputs["train"].astype(np.float64)
                               - case.inputs["queries"][0].astype(np.float64)).sum(1))
        wrong = idx.copy()
        wrong[0, -1] = far
        _fails(case, wrong, "other neighbours")
        dup = idx.copy()
        dup[3, 1] = dup[3, 0]
        _fails(case, dup, "twice")
        _fails(case, idx[:, :-1], "shape")
        _fails(case, idx + case.inputs["train"].shape[0], "lie in")


def test_pairwise_vote_loss_gemm_checks_reject_wrong_answers():
    pw = _by_id("pairwise-l2")[0]
    D = pw.answer.copy()
    pw.check(D)
    D[5, 7] *= 1.001
    _fails(pw, D, "differ")

    vote = _by_id("vote-uniform")[0]
    labels, scores = vote.answer
    clear = np.nonzero(np.sort(scores, 1)[:, -1] > np.sort(scores, 1)[:, -2])[0][0]
    wrong = labels.copy()
    wrong[clear] = (wrong[clear] + 1) % vote.inputs["n_classes"]
    _fails(vote, wrong, "labels differ")
    # ties go to the smallest label: the largest tied label is wrong
    tied = np.nonzero((scores == scores.max(1, keepdims=True)).sum(1) > 1)[0][0]
    wrong = labels.copy()
    wrong[tied] = np.nonzero(scores[tied] == scores[tied].max())[0][-1]
    _fails(vote, wrong, "labels differ")
    _fails(vote, (labels, scores * 1.01), "scores")

    for case in _by_id("loss-"):
        loss, ds = case.answer
        case.check((loss * (1 + 1e-7), ds))
        _fails(case, (loss + 1e-3, ds), "loss")
        bad = ds.copy()
        bad[0, 0] += 0.1 * np.abs(ds).max()
        _fails(case, (loss, bad), "dscores")

    gemm = _by_id("gemm-")[0]
    C = gemm.answer.copy()
    gemm.check(C.astype(np.float64))
    C[0, 0] += 1.0  # (entries are about 30; float32 rounding of a 784-term sum stays below 0.05)
    _fails(gemm, C, "entries differ")


def test_linear_loss_check_catches_a_missing_penalty_or_bias_gradient():
    case = _by_id("linear_loss-softmax")[0]
    loss, dW, db = case.answer
    W, reg = case.inputs["W"], case.inputs["reg"]
    _fails(case, (loss - reg * float((W.astype(np.float64) ** 2).sum()), dW, db), "loss")
    _fails(case, (loss, dW - 2 * reg * W, db), "dW")
    _fails(case, (loss, dW, np.zeros_like(db)), "db")


def test_optim_check_and_bind():
    case = _by_id("optim-adam")[0]
    p, s = copy.deepcopy(case.answer)
    case.check((p, s))
    p0 = case.inputs["params"][0]
    bad = [a.copy() for a in p]
    bad[0] = p0 + 1.01 * (p[0] - p0)  # a 1 % larger step
    _fails(case, (bad, s), "update of params")
    # bind: private copies, and the step counter moves on with every call
    r1, r2 = case.imgclf(), case.imgclf()
    a = copy.deepcopy(r1())
    b = r2()
    np.testing.assert_array_equal(a[0][0], b[0][0])
    c = r1()  # the second step (step 11) differs from the first
    assert not np.array_equal(c[0][0], a[0][0])
    np.testing.assert_array_equal(case.inputs["params"][0], p0)  # the case's own arrays stay untouched


def test_epoch_and_estimator_checks_reject_wrong_answers():
    case = _by_id("epoch-softmax")[0]
    losses, params_ = case.answer
    _fails(case, (losses, {"W": params_["W"], "b": case.inputs["params"]["b"]}), "change of b")
    _fails(case, (losses * 1.01, params_), "loss")
    est = _by_id("estimator-softmax")[0]
    rng = np.random.default_rng(0)
    _fails(est, rng.integers(0, 10, len(est.answer)), "accuracy")


# ---- threads ------------------------------------------------------------------------------------

def test_set_threads_pins_every_pool():
    from threadpoolctl import threadpool_info

    before = imgclf.get_num_threads()
    try:
        assert set_threads(1) == 1
        assert imgclf.get_num_threads() == 1
        assert all(info["num_threads"] == 1 for info in threadpool_info())
    finally:
        set_threads(before)


# ---- the ratio table ------------------------------------------------------------------------------

def test_ratio_table(tmp_path, capsys):
    def entry(group, impl, median):
        return {"group": group, "name": f"{group}-{impl}", "stats": {"median": median},
                "extra_info": {"impl": impl, "threads": 2, "config": ""}}
    data = {"machine_info": {"imgclf_simd": "avx2"}, "benchmarks": [
        entry("g1", "imgclf", 1.0), entry("g1", "numpy", 3.0), entry("g1", "torch", 0.5),
        entry("g1", "torch", 0.25), entry("g2", "imgclf", 2.0)]}
    path = tmp_path / "out.json"
    path.write_text(json.dumps(data))
    assert bench_table.main([str(path)]) == 0
    out = capsys.readouterr().out
    assert "| g1 | 1 s | 3.00x | **0.25x** | torch 0.25x |" in out  # the faster torch entry counts
    assert "torch in 'g1' (0.25x)" in out
    assert bench_table.main([str(path), "--require-peers"]) == 1  # g2 has no peer


# ---- the README example, run as a user runs it ------------------------------------------------------

def _readme_example():
    root = source_dir()
    assert root is not None, "README.md is not reachable: set IMGCLF_SOURCE_DIR to the source tree"
    text = (root / "README.md").read_text()
    m = re.search(r"```python\n(# test_my_knn\.py.*?)```", text, re.DOTALL)
    assert m, "README.md has no '# test_my_knn.py' example block"
    return m.group(1)


def _pytest(args, cwd, timeout=600):
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONPATH", None)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def test_readme_example_lands_in_the_shipped_groups(tmp_path):
    (tmp_path / "test_my_knn.py").write_text(_readme_example())
    out = tmp_path / "out.json"
    r = _pytest(["-p", "imgclf.benchmarks.plugin", "test_my_knn.py", "-m", "quick", "-W", "error::pytest.PytestUnknownMarkWarning",
                 "--benchmark-only", "--benchmark-min-rounds=1", "--benchmark-max-time=0.000001",
                 f"--benchmark-json={out}", "-q"], cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    entries = json.loads(out.read_text())["benchmarks"]
    shipped = {c.group for c in cases("knn", "quick", metric="l2")}
    assert {e["group"] for e in entries} == shipped
    assert all(e["extra_info"]["impl"] == "mine" and e["extra_info"]["threads"] >= 1 for e in entries)


def test_installed_suite_collects_outside_the_source_tree(tmp_path):
    r = _pytest(["--pyargs", "imgclf.benchmarks", "-m", "quick", "--collect-only", "-q",
                 "-W", "error::pytest.PytestUnknownMarkWarning"], cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    collected = [line for line in r.stdout.splitlines() if "test_benchmark[" in line]
    assert len(collected) == sum(len(peers_for(c)) for c in QUICK)


# ---- imgclf bench ------------------------------------------------------------------------------------

def test_cli_bench_compares_with_plain_numpy(capsys):
    from imgclf.cli import main

    assert main(["bench", "--queries", "20", "--train", "300", "--repeat", "1", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "1 thread(s)" in out and "SIMD" in out and "matmul + argpartition" in out
    rows = [line for line in out.splitlines() if line.startswith(("uint8", "float32"))]
    assert len(rows) == 4
    assert rows[1].startswith("uint8    l1") and rows[1].endswith("yes")  # exact in both (NumPy in int16)
    assert all(line.endswith("yes") or "queries differ" in line for line in rows)
    assert main(["bench", "--k", "0"]) == 2
