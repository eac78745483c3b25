"""`imgclf run --quick` end to end: the table, the report folder, its numbers, no overwrite."""
import json
import os
import subprocess
import sys

import pytest


def _run(*args, cwd):
    return subprocess.run([sys.executable, "-m", "imgclf.cli", "run", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_run_quick_digits(tmp_path):
    r = _run("--quick", "--seed", "1", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "imgclf-report"
    for f in ("report.md", "results.json", "knn_cv.png", "training.png", "templates.png", "confusion.png"):
        assert (out / f).stat().st_size > 0, f
    res = json.loads((out / "results.json").read_text())
    names = [m["model"] for m in res["models"]]
    assert names[:4] == ["kNN", "Softmax", "LinearSVM", "TwoLayerNet"]
    acc = {m["model"]: m["test_acc"] for m in res["models"]}
    assert acc["kNN"] > 0.95 and acc["TwoLayerNet"] > 0.9 and acc["Softmax"] > 0.85
    assert all(m["top5"] is not None and m["top5"] >= m["test_acc"] for m in res["models"])
    assert set(res["knn_cv"]) == {"l1", "l2"} and len(res["knn_cv"]["l1"]["mean"]) == 4
    cm = res["confusion"]["matrix"]
    assert sum(map(sum, cm)) == res["n_test"]
    assert "kNN" in r.stdout and "test acc" in r.stdout
    assert "![" in (out / "report.md").read_text()
    # an existing report is never overwritten without --force
    stamp = (out / "results.json").stat().st_mtime_ns
    again = _run("--quick", cwd=tmp_path)
    assert again.returncode == 2 and "--force" in again.stderr
    assert (out / "results.json").stat().st_mtime_ns == stamp
    assert _run("--quick", "--force", "--out", str(out), cwd=tmp_path).returncode == 0
