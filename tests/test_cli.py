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
    for f in ("report.md", "results.json", "knn_cv.png", "training.png", "templates.png", "weights.png",
              "confusion.png"):
        assert (out / f).stat().st_size > 0, f
    res = json.loads((out / "results.json").read_text())
    names = [m["model"] for m in res["models"]]
    assert names[:5] == ["kNN", "Softmax", "LinearSVM", "TwoLayerNet", "3-layer net"]
    acc = {m["model"]: m["test_acc"] for m in res["models"]}
    assert acc["kNN"] > 0.95 and acc["TwoLayerNet"] > 0.9 and acc["Softmax"] > 0.85
    assert acc["3-layer net"] > 0.9
    net = next(m for m in res["models"] if m["model"] == "3-layer net")
    assert list(net["params"]["hidden"]) == [128, 64]
    assert "weights.png" in res["figures"] and "First-layer weights" in (out / "report.md").read_text()
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


def _tree(folder):
    return {p: open(os.path.join(folder, p), "rb").read() for p in os.listdir(folder)
            if os.path.isfile(os.path.join(folder, p))}


def test_force_never_touches_a_folder_that_is_not_a_report(tmp_path):
    """`--force --out .` once deleted every file of the current folder; `--out photos`
    deleted any folder it was pointed at."""
    (tmp_path / "thesis.tex").write_text("years of work")
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"\xff\xd8 not really")
    before, photos = _tree(tmp_path), _tree(tmp_path / "photos")
    for out in (".", "photos"):
        r = _run("--quick", "--force", "--out", out, cwd=tmp_path)
        assert r.returncode == 2 and "not an imgclf report" in r.stderr, r.stderr
    assert _tree(tmp_path) == before and _tree(tmp_path / "photos") == photos
    assert sorted(os.listdir(tmp_path)) == ["photos", "thesis.tex"]  # no staging left behind


@pytest.mark.parametrize("case", ["file", "under-file", "unwritable"])
def test_invalid_out_is_refused_at_start(tmp_path, case):
    (tmp_path / "notes.txt").write_text("keep")
    out = {"file": "notes.txt", "under-file": "notes.txt/report",
           "unwritable": "/proc/imgclf-report"}[case]
    # the dataset does not exist either: the --out error must come first, before any loading
    r = _run("--dataset", "mnist", "--data-dir", str(tmp_path / "nowhere"), "--out", out, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "--out" in r.stderr and "nowhere" not in r.stderr, r.stderr
    assert (tmp_path / "notes.txt").read_text() == "keep"


def test_force_replaces_only_the_reports_own_files_and_only_when_ready(tmp_path):
    out = tmp_path / "rep"
    assert _run("--quick", "--out", str(out), cwd=tmp_path).returncode == 0
    assert (out / ".imgclf-report").is_file()
    owned = json.loads((out / ".imgclf-report").read_text())["files"]
    assert "report.md" in owned and "results.json" in owned
    (out / "my-notes.md").write_text("mine")
    stamp = (out / "results.json").read_bytes()
    # a run that fails (no such dataset) leaves the old report exactly as it was
    r = _run("--dataset", "mnist", "--data-dir", str(tmp_path / "nowhere"), "--force", "--out", str(out),
             cwd=tmp_path)
    assert r.returncode == 2 and (out / "results.json").read_bytes() == stamp
    assert r.returncode == 2 and not [p for p in os.listdir(out) if p.startswith(".imgclf-report-stage")]
    r = _run("--quick", "--seed", "2", "--force", "--out", str(out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (out / "my-notes.md").read_text() == "mine"
    assert json.loads((out / "results.json").read_text())["seed"] == 2


def test_ctrl_c_stops_the_run_and_writes_what_finished(tmp_path):
    """Ctrl-C once cut one training short and the run went on to exit 0 with a report that
    did not mention it."""
    import signal
    import time

    p = subprocess.Popen([sys.executable, "-m", "imgclf.cli", "run", "--quick", "--out", "rep"],
                         cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = ""
    t0 = time.time()
    while "kNN l2" not in seen and time.time() - t0 < 300:  # the first stage has finished
        line = p.stderr.readline()
        if not line:
            break
        seen += line
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=300)
    assert p.returncode == 130, seen + err
    report = (tmp_path / "rep" / "report.md").read_text()
    assert "Interrupted" in report
    res = json.loads((tmp_path / "rep" / "results.json").read_text())
    assert res["interrupted"] and [m["model"] for m in res["models"]][:1] == ["kNN"]
    assert "Softmax on features" not in [m["model"] for m in res["models"]]


def test_backend_cuda_says_clearly_when_no_gpu_is_usable(tmp_path):
    from imgclf import backend

    from .conftest import gpu_usable

    ok, why = gpu_usable()
    if ok:
        pytest.skip("a GPU is usable here: tests/test_cli.py::test_run_quick_digits_on_the_gpu runs")
    r = _run("--quick", "--backend", "cuda", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "backend 'cuda' needs a usable GPU, and there is none" in r.stderr
    assert backend.gpu_status()[1].split(";")[0] in r.stderr or "CuPy" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "imgclf-report").exists()  # refused before anything was written


@pytest.mark.gpu
def test_run_quick_digits_on_the_gpu(tmp_path):
    from .conftest import need_gpu, need_module

    need_gpu()
    need_module("cupy")
    r = _run("--quick", "--seed", "1", "--backend", "cuda", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    res = json.loads((tmp_path / "imgclf-report" / "results.json").read_text())
    assert res["backend"] == "cuda" and all(m["backend"] == "cuda" for m in res["models"])
    acc = {m["model"]: m["test_acc"] for m in res["models"]}
    assert acc["kNN"] > 0.95 and acc["TwoLayerNet"] > 0.9 and acc["Softmax"] > 0.85
    assert "backend cuda" in (tmp_path / "imgclf-report" / "report.md").read_text()
