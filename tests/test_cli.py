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
    did not mention it.  A real SIGINT to a real process; where it lands (a stage, or the
    figures of a run that is almost done) depends on the machine: the points are tested one
    by one in-process below."""
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
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=300)
    assert p.returncode == 130, seen + err
    report = (tmp_path / "rep" / "report.md").read_text()
    res = json.loads((tmp_path / "rep" / "results.json").read_text())
    models = [m["model"] for m in res["models"]]
    order = ["kNN", "Softmax", "LinearSVM", "TwoLayerNet", "3-layer net", "kNN on features",
             "Softmax on features"]
    assert models == order[:len(models)], (res["interrupted"], models)
    if res["interrupted"] is None:  # it landed while the finished report was written
        assert "after the last stage had finished" in err and models == order and "Interrupted" not in report
    elif res["interrupted"] == "while drawing the figures":
        assert models == order and "Interrupted (Ctrl-C) while drawing the figures" in report
    else:
        assert len(models) < len(order) and f"Interrupted (Ctrl-C) {res['interrupted']}" in report


@pytest.fixture
def sigint_default():
    """Python's own SIGINT handler for the test (the one a plain `python` process has)."""
    import signal

    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


def _ctrl_c():
    import signal

    os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_during_a_stage_reports_the_stages_before_it(tmp_path, monkeypatch, sigint_default):
    import signal

    from imgclf import pipeline

    class Interrupted(pipeline.LinearSVM):
        def fit(self, *a, **k):
            _ctrl_c()
            return super().fit(*a, **k)

    monkeypatch.setattr(pipeline, "LinearSVM", Interrupted)
    with pytest.raises(KeyboardInterrupt, match="interrupted while training LinearSVM; partial report"):
        pipeline.run_pipeline("digits", out=str(tmp_path / "rep"), quick=True, progress=False)
    res = json.loads((tmp_path / "rep" / "results.json").read_text())
    assert res["interrupted"] == "while training LinearSVM"
    assert [m["model"] for m in res["models"]] == ["kNN", "Softmax"]
    assert "Interrupted (Ctrl-C) while training LinearSVM" in (tmp_path / "rep" / "report.md").read_text()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # given back


def test_ctrl_c_while_drawing_the_figures_keeps_every_stage_and_the_figures_drawn(tmp_path, monkeypatch,
                                                                                sigint_default):
    """Ctrl-C in the last second of a run, while matplotlib drew, deleted the whole report."""
    from imgclf import pipeline

    each = pipeline._each_figure

    def first_then_ctrl_c(*a):
        figs = each(*a)
        yield next(figs)
        _ctrl_c()
        yield from figs

    monkeypatch.setattr(pipeline, "_each_figure", first_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt, match="interrupted while drawing the figures; the report in .* has every"):
        pipeline.run_pipeline("digits", out=str(tmp_path / "rep"), quick=True, progress=False)
    res = json.loads((tmp_path / "rep" / "results.json").read_text())
    assert res["interrupted"] == "while drawing the figures"
    assert len(res["models"]) == 7 and res["models"][-1]["model"] == "Softmax on features"
    assert res["figures"] == ["knn_cv.png"]
    assert sorted(os.listdir(tmp_path / "rep")) == [pipeline.REPORT_MARKER, "knn_cv.png", "report.md",
                                                    "results.json"]
    report = (tmp_path / "rep" / "report.md").read_text()
    assert "every stage finished" in report and "knn_cv.png" in report and "training.png" not in report


def test_a_second_ctrl_c_after_the_stages_stops_at_once(tmp_path, monkeypatch, sigint_default):
    from imgclf import pipeline

    each = pipeline._each_figure

    def twice(*a):
        figs = each(*a)
        yield next(figs)
        _ctrl_c()
        _ctrl_c()
        yield from figs

    monkeypatch.setattr(pipeline, "_each_figure", twice)
    with pytest.raises(KeyboardInterrupt):
        pipeline.run_pipeline("digits", out=str(tmp_path / "rep"), quick=True, progress=False)
    assert not (tmp_path / "rep").exists() or not os.listdir(tmp_path / "rep")  # nothing half-written


def test_ctrl_c_while_the_report_is_written_finishes_it_first(tmp_path, monkeypatch, sigint_default):
    from imgclf import pipeline

    publish = pipeline.publish

    def ctrl_c_then_publish(*a):
        _ctrl_c()
        return publish(*a)

    monkeypatch.setattr(pipeline, "publish", ctrl_c_then_publish)
    with pytest.raises(KeyboardInterrupt, match="after the last stage had finished; the report in .* is complete"):
        pipeline.run_pipeline("digits", out=str(tmp_path / "rep"), quick=True, progress=False)
    res = json.loads((tmp_path / "rep" / "results.json").read_text())
    assert res["interrupted"] is None and len(res["models"]) == 7 and len(res["figures"]) == 5
    assert "Interrupted" not in (tmp_path / "rep" / "report.md").read_text()


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
