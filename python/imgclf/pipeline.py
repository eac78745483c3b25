"""The whole data-driven pipeline behind ``imgclf run``: load a dataset, choose
hyperparameters on validation data (k-fold cross-validation for kNN, a validation split for
the trained models), train, evaluate each final model on the test set once, and write a
report folder (report.md, results.json, figures)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import __version__, _gpu
from . import backend as _backend
from .datasets import load, train_val_split
from .features import color_histogram_hsv, hog
from .linear import LinearSVM, SoftmaxClassifier
from .metrics import confusion_matrix, top_k_accuracy
from .model_selection import cross_validate_k, validation_search
from .neighbors import KNearestNeighbor
from .network import NeuralNet, TwoLayerNet

__all__ = ["run_pipeline", "require_gpu", "NoGPUError", "prepare_out", "publish", "REPORT_MARKER", "table", "report_figures"]


def _log(msg):
    print(msg, file=sys.stderr, flush=True)


def _evaluate(name, est, params, val_acc, X_test, y_test, fit_s, backend, extra=None, client=None):
    t = time.perf_counter()
    if client is not None:  # a model on a cluster: both predictions in one computation, with a progress bar
        import dask.array as da
        from distributed import progress

        Q = da.from_array(X_test, chunks=(max(1, -(-len(X_test) // (2 * _n_workers(client)))), -1))
        futs = client.compute([est.predict(Q), est.predict_proba(Q)])
        if sys.stderr.isatty():
            progress(futs)
        pred, scores = client.gather(futs)
    else:
        pred = est.predict(X_test)
        scores = est.predict_proba(X_test) if hasattr(est, "predict_proba") else est.decision_function(X_test)
        pred, scores = _gpu.to_host(pred), _gpu.to_host(scores)  # (from the GPU: the answers only)
    pred_s = time.perf_counter() - t
    C = len(est.classes_)
    row = {"model": name, "params": params, "val_acc": val_acc,
           "test_acc": float(np.mean(pred == y_test)),
           "top5": top_k_accuracy(np.searchsorted(est.classes_, y_test), scores, 5) if C > 5 else None,
           "fit_s": fit_s, "predict_s": pred_s, "backend": backend}
    row.update(extra or {})
    return row, np.searchsorted(est.classes_, pred)


def _n_workers(client):
    return max(1, len(client.scheduler_info().get("workers", {})))


def connect(scheduler: str | None) -> tuple[Any, Any]:
    """(client, cluster) for ``scheduler``: None (no cluster), "local" (a LocalCluster of
    this machine, started here and closed by the caller) or a scheduler address
    ("tcp://host:8786").  The dashboard link is printed."""
    if not scheduler:
        return None, None
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise ImportError("--scheduler needs Dask: pip install 'imgclf[dask]'") from exc
    cluster = None
    if scheduler == "local":
        import dask

        from .dask import QUIET  # Dask's monitoring made quieter: the workers run compute-bound kernels

        with dask.config.set(QUIET):
            cluster = LocalCluster()
    client = Client(cluster if cluster is not None else scheduler)
    _log(f"imgclf run: Dask scheduler {client.scheduler.address}, {_n_workers(client)} workers; "
         f"dashboard: {client.dashboard_link}")
    return client, cluster


def _features(X, shape):
    H, W, C = shape
    ppc = max(2, min(H, W) // 4)
    parts = [hog(X, pixels_per_cell=ppc)]
    if C == 3:
        parts.append(color_histogram_hsv(X))
    return np.hstack(parts), {"hog_pixels_per_cell": ppc, "color_hist": C == 3}


REPORT_MARKER = ".imgclf-report"  # written into every report folder: what it owns


def prepare_out(out: str, force: bool = False) -> str:
    """Check that a report can be written to ``out`` and create the staging folder the new
    report is written into; called before any work, so a bad ``out`` fails at once.

    ``out`` may be missing (it is created), an empty folder, or a folder holding an imgclf
    report (recognised by its marker file), which only ``force`` allows to replace, and then
    only the files that report owns.  A file, a path under a file, a folder of other things
    or an unwritable place is refused.  Returns the staging folder's path.
    """
    path = os.path.abspath(out)
    if os.path.exists(path):
        if not os.path.isdir(path):
            raise FileExistsError(f"--out {out} is a file, not a folder; choose another --out")
        entries = [e for e in os.listdir(path) if not e.startswith(REPORT_MARKER + "-stage")]
        if entries:
            if not os.path.isfile(os.path.join(path, REPORT_MARKER)):
                raise FileExistsError(
                    f"{out} exists and is not an imgclf report folder (no {REPORT_MARKER} in it); "
                    "imgclf never replaces it: choose another --out")
            if not force:
                raise FileExistsError(f"{out} holds an imgclf report; pass --force to replace it "
                                      "(only the files that report wrote) or --out to choose another folder")
        where = path
    else:
        where = os.path.dirname(path)
        while not os.path.exists(where):
            where = os.path.dirname(where)
        if not os.path.isdir(where):
            raise NotADirectoryError(f"--out {out}: {where} is a file, so no folder can be made under it")
    try:  # a real probe (os.access says yes to root even on read-only places)
        return tempfile.mkdtemp(prefix=REPORT_MARKER + "-stage-", dir=where)
    except OSError as exc:
        raise PermissionError(f"--out {out}: cannot write in {where} ({exc.strerror})") from None


def _owned_files(folder):
    """The files an existing report's marker says it wrote (plain names only)."""
    try:
        with open(os.path.join(folder, REPORT_MARKER)) as f:
            names = json.load(f).get("files", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [n for n in names if isinstance(n, str) and n and os.path.basename(n) == n
            and n not in (".", "..", REPORT_MARKER)]


def publish(stage: str, out: str) -> None:
    """Move the finished report from ``stage`` to ``out``: a rename when ``out`` does not
    exist; otherwise the old report's own files are replaced one by one and every other
    file in ``out`` is left alone."""
    files = sorted(f for f in os.listdir(stage) if f != REPORT_MARKER)
    with open(os.path.join(stage, REPORT_MARKER), "w") as f:
        json.dump({"imgclf": __version__, "files": files}, f)
    path = os.path.abspath(out)
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.replace(stage, path)
        return
    for name in _owned_files(path):
        p = os.path.join(path, name)
        if name not in files and os.path.isfile(p) and not os.path.islink(p):
            os.remove(p)
    for name in files + [REPORT_MARKER]:
        os.replace(os.path.join(stage, name), os.path.join(path, name))
    os.rmdir(stage)


def run_pipeline(dataset: str = "digits", data_dir: str | None = None, out: str = "imgclf-report",
                 force: bool = False, quick: bool = False, seed: int = 0, backend: str = "auto",
                 progress: bool | str = "auto", scheduler: str | None = None) -> dict:
    """Run the pipeline and write the report; returns the results dict (also in results.json).

    ``backend="cuda"`` runs it on the GPU: the images go to the GPU once, and every search,
    fit and prediction runs there on CuPy arrays (the HOG / colour features are computed on
    the CPU and moved once); a RuntimeError says why when no GPU is usable.

    scheduler: None (everything in this process), "local" (start a Dask LocalCluster) or the
    address of a running Dask scheduler: the kNN cross-validation runs its folds as tasks on
    the workers, and the final kNN model is fitted on training shards kept on the workers,
    which compute its test predictions.  The results are the same as without a cluster.
    (Not with ``backend="cuda"``: choose one.)

    The report is written to a staging folder and moved into ``out`` only when it is
    complete (see :func:`prepare_out` for what ``out`` may be).  Ctrl-C stops the run: the
    stages that finished are written as a report that says it was interrupted, then the
    KeyboardInterrupt is re-raised.
    """
    if backend == "cuda":
        if scheduler is not None:
            raise ValueError("backend='cuda' and a Dask scheduler cannot be combined: choose one")
        require_gpu()
    stage_dir = prepare_out(out, force)
    client = cluster = None
    with _CtrlC() as ctrl_c:
        try:
            client, cluster = connect(scheduler)
            res = _run(dataset, data_dir, quick, seed, backend, progress, stage_dir, client, ctrl_c)
            publish(stage_dir, out)
        except BaseException:
            shutil.rmtree(stage_dir, ignore_errors=True)
            raise
        finally:
            if client is not None:
                client.close()
            if cluster is not None:
                cluster.close()
    if res["interrupted"] == "while drawing the figures":
        raise KeyboardInterrupt(f"imgclf run interrupted while drawing the figures; the report in {out} has "
                                "every stage, and the figures drawn")
    if res["interrupted"]:
        raise KeyboardInterrupt(f"imgclf run interrupted {res['interrupted']}; partial report in {out}")
    if ctrl_c.pressed:
        raise KeyboardInterrupt(f"imgclf run: Ctrl-C came after the last stage had finished; the report "
                                f"in {out} is complete")
    return res


class _CtrlC:
    """Ctrl-C (SIGINT) during ``imgclf run``: while the stages run it raises KeyboardInterrupt
    as usual, so the stage stops where it is; once :meth:`hold` is called (the stages are over
    and the report is being written) the first press is only counted in ``pressed``, so a
    late Ctrl-C cannot lose the report of what finished (figures stop being drawn once it
    is pressed); a second one raises, for a user who wants out at once.

    Installed only in the main thread and only over Python's default handler; a handler the
    caller installed is left alone."""

    def __init__(self):
        self.holding = False
        self.pressed = 0
        self._old = None

    def __enter__(self):
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self._old = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
        return False

    def _handler(self, signum, frame):
        if self.holding:
            self.pressed += 1
        if not self.holding or self.pressed > 1:  # a second Ctrl-C: stop now, whatever it costs
            raise KeyboardInterrupt

    def hold(self):
        self.holding = True


class NoGPUError(RuntimeError):
    """backend="cuda" was asked for where no GPU is usable (the message says why)."""


def require_gpu() -> None:
    """Raise :class:`NoGPUError`, saying why, unless a GPU is usable (a probe kernel ran)
    and CuPy imports."""
    ok, why = _backend.gpu_status()
    if ok:
        try:
            _gpu.cupy()
        except ImportError as exc:
            ok, why = False, f"CuPy is not installed ({exc}); pip install cupy-cuda12x or cupy-cuda13x"
    if not ok:
        raise NoGPUError(f"backend 'cuda' needs a usable GPU, and there is none: {why}")


def _run(dataset, data_dir, quick, seed, backend, progress, out, client=None, ctrl_c=None):
    ctrl_c = _CtrlC() if ctrl_c is None else ctrl_c
    t_all = time.perf_counter()
    gpu = backend == "cuda"
    be = "cuda" if gpu else _backend.resolve(backend)
    # the images go to the GPU once; everything after indexes them there
    put = _gpu.cupy().asarray if gpu else (lambda a: a)
    rows, confusions, histories, models = [], {}, {}, {}
    res = {"dataset": dataset, "quick": quick, "seed": seed, "imgclf": __version__, "backend": be,
           "models": rows, "histories": histories, "interrupted": None}
    stage = "while loading the dataset"
    try:
        ds = load(dataset, data_dir)
        Xtr_img, ytr, Xte_img, yte = ds.X_train, ds.y_train, ds.X_test, ds.y_test
        if quick and len(Xtr_img) > 6000:  # --quick on a large dataset: a subsample
            rng = np.random.default_rng(seed)
            a = rng.choice(len(Xtr_img), 6000, replace=False)
            b = rng.choice(len(Xte_img), 2000, replace=False)
            Xtr_img, ytr, Xte_img, yte = Xtr_img[a], ytr[a], Xte_img[b], yte[b]
        shape = Xtr_img.shape[1:]
        X = put(Xtr_img.reshape(len(Xtr_img), -1))
        Xte = put(Xte_img.reshape(len(Xte_img), -1))
        ia, iv, ya_h, yv_h = train_val_split(np.arange(len(X)), ytr, 0.2 if len(X) < 10000 else 0.1,
                                             random_state=seed)
        Xa, Xv, ya, yv = X[put(ia)], X[put(iv)], put(ya_h), put(yv_h)
        ytr_d = put(ytr)
        _log(f"imgclf run: {dataset}: train {len(Xa)}, validation {len(Xv)}, test {len(Xte)}, "
             f"{len(ds.classes)} classes, images {shape}, backend {be}")
        res.update({"classes": list(ds.classes), "image_shape": list(shape), "n_train": int(len(Xa)),
                    "n_val": int(len(Xv)), "n_test": int(len(Xte))})

        # 1. kNN: one fused search per fold scores every k; L1 and L2
        stage = "during the kNN cross-validation"
        ks = [1, 3, 5, 7] if quick else [1, 2, 3, 5, 7, 10, 15, 20]
        folds = 3 if quick else 5
        cv = {}
        for metric in ("l1", "l2"):
            cv[metric] = cross_validate_k(X, ytr_d, ks, folds=folds, metric=metric, random_state=seed,
                                          progress=progress, backend=be, client=client)
            _log(f"  kNN {metric}: best k={cv[metric]['best_k']} (cv acc {cv[metric]['mean'].max():.4f}, "
                 f"{cv[metric]['seconds']:.1f}s)")
        metric = max(cv, key=lambda m: cv[m]["mean"].max())
        k = cv[metric]["best_k"]
        t = time.perf_counter()
        knn = KNearestNeighbor(k=k, metric=metric, backend=be)
        if client is not None:  # training shards on the workers, one per worker
            import dask.array as da

            knn.fit(da.from_array(X, chunks=(-(-len(X) // _n_workers(client)), -1)), ytr)
        else:
            knn.fit(X, ytr_d)
        row, pred = _evaluate("kNN", knn, {"k": k, "metric": metric}, float(cv[metric]["mean"].max()), Xte,
                              yte, time.perf_counter() - t, be, {"val_kind": f"{folds}-fold cv"}, client=client)
        if client is not None:
            res["dask_dashboard"] = client.dashboard_link
        res["knn_cv"] = {m: {"ks": c["ks"], "mean": c["mean"].tolist(), "std": c["std"].tolist(),
                             "best_k": c["best_k"], "seconds": c["seconds"]} for m, c in cv.items()}
        rows.append(row)
        confusions["kNN"] = pred

        # 2. linear classifiers and the network: a search on the validation split
        lrs, regs = ([3e-3, 1e-2], [1e-4, 1e-3]) if quick else ([1e-3, 3e-3, 1e-2], [1e-5, 1e-4, 1e-3])
        epochs = 10 if quick else 20
        for name, cls, grid in [
                ("Softmax", SoftmaxClassifier, {"lr": lrs, "reg": regs}),
                ("LinearSVM", LinearSVM, {"lr": lrs, "reg": regs}),
                ("TwoLayerNet", TwoLayerNet, {"lr": [3e-3] if quick else [1e-3, 3e-3],
                                              "hidden": [128] if quick else [128, 256]}),
                ("3-layer net", NeuralNet, {"lr": [3e-3] if quick else [1e-3, 3e-3],
                                            "hidden": [(128, 64)] if quick else [(256, 128)]})]:
            stage = f"while training {name}"
            t = time.perf_counter()
            best, results = validation_search(
                lambda cls=cls, **p: cls(epochs=epochs, random_state=seed, progress=False, **p), Xa, ya, Xv, yv, grid,
                progress=progress)
            fit_s = time.perf_counter() - t
            _log(f"  {name}: best {results[0]['params']} (val acc {results[0]['val_acc']:.4f}, "
                 f"{len(results)} settings, {fit_s:.1f}s)")
            # the curves need validation accuracy per epoch: recorded for the chosen setting
            curve = _val_curve(best, type(best), Xa, ya, Xv, yv, epochs, seed)
            row, pred = _evaluate(name, best, results[0]["params"], results[0]["val_acc"], Xte, yte,
                                  results[0]["seconds"], be, {"val_kind": "validation split",
                                                              "search": results})
            rows.append(row)
            confusions[name] = pred
            histories[name] = {k2: best.history_[k2] for k2 in ("loss", "train_acc")}
            histories[name]["val_acc"] = curve
            models[name] = best

        # 3. image features (HOG + colour histogram) with kNN and a softmax classifier
        stage = "while computing image features"
        t = time.perf_counter()
        F, finfo = _features(Xtr_img, shape)
        Fte, _ = _features(Xte_img, shape)
        F, Fte = put(F), put(Fte)
        feat_s = time.perf_counter() - t
        stage = "during the kNN on features"
        fcv = cross_validate_k(F, ytr_d, ks, folds=folds, metric="l2", random_state=seed, progress=progress,
                               backend=be)
        t = time.perf_counter()
        fknn = KNearestNeighbor(k=fcv["best_k"], metric="l2", backend=be).fit(F, ytr_d)
        row, pred = _evaluate("kNN on features", fknn, {"k": fcv["best_k"], "metric": "l2", **finfo},
                              float(fcv["mean"].max()), Fte, yte, time.perf_counter() - t + feat_s, be,
                              {"val_kind": f"{folds}-fold cv"})
        rows.append(row)
        confusions["kNN on features"] = pred
        stage = "while training Softmax on features"
        ia, iv, fa, fv = train_val_split(np.arange(len(F)), ytr, 0.2 if len(F) < 10000 else 0.1,
                                         random_state=seed)
        Fa, Fv, fa, fv = F[put(ia)], F[put(iv)], put(fa), put(fv)
        best, results = validation_search(
            lambda **p: SoftmaxClassifier(epochs=epochs, random_state=seed, progress=False, **p), Fa, fa, Fv, fv,
            {"lr": lrs, "reg": regs}, progress=progress)
        row, pred = _evaluate("Softmax on features", best, {**results[0]["params"], **finfo},
                              results[0]["val_acc"], Fte, yte, results[0]["seconds"] + feat_s, be,
                              {"val_kind": "validation split", "search": results})
        rows.append(row)
        confusions["Softmax on features"] = pred
        _log(f"  features: {F.shape[1]} per image ({feat_s:.1f}s)")
        ctrl_c.hold()  # from here on Ctrl-C is counted, not raised: the report gets written
    except KeyboardInterrupt:
        ctrl_c.hold()
        res["interrupted"] = stage
        _log(f"imgclf run: interrupted {stage}; writing the report of what finished")

    if rows:
        best_row = max(rows, key=lambda r: r["test_acc"])
        cm = confusion_matrix(np.searchsorted(np.unique(ytr), yte), confusions[best_row["model"]],
                              len(ds.classes))
        res["confusion"] = {"model": best_row["model"], "matrix": cm.tolist()}
    res["seconds"] = time.perf_counter() - t_all

    net = models.get("3-layer net", models.get("TwoLayerNet"))
    figures = (_figures(out, res, models.get("Softmax"), tuple(res["image_shape"]), res["classes"], net,
                        stop=lambda: ctrl_c.pressed > 0) if rows else [])
    if ctrl_c.pressed and not res["interrupted"]:
        res["interrupted"] = "while drawing the figures"
        _log("imgclf run: interrupted while drawing the figures; writing the report without the rest")
    res["figures"] = figures
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(res, f, indent=1, default=_json_default)
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write(_markdown(res))
    return res


def _val_curve(model, cls, Xa, ya, Xv, yv, epochs, seed):
    """Validation accuracy per epoch of the chosen setting (refit with the same seed)."""
    m = cls(**{**model.get_params(), "epochs": 1})
    m.partial_fit(Xa, ya, classes=np.unique(_gpu.to_host(ya)))
    curve = [float(m.score(Xv, yv))]
    for _ in range(epochs - 1):
        m.partial_fit(Xa, ya)
        curve.append(float(m.score(Xv, yv)))
    return curve


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o).__name__)


def _params_text(params: dict) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


def table(res: dict) -> str:
    """The results as a fixed-width text table; every column is as wide as its longest
    entry, so no model name or hyperparameter is cut short."""
    params = [_params_text(r["params"]) for r in res["models"]]
    wm = max([len("model")] + [len(r["model"]) for r in res["models"]])
    wp = max([len("hyperparameters")] + [len(p) for p in params])
    hdr = (f"{'model':{wm}} {'hyperparameters':{wp}} {'val acc':>8} {'test acc':>8} {'top-5':>6} {'fit s':>7} "
           f"{'pred s':>7}  backend")
    lines = [hdr, "-" * len(hdr)]
    for r, p in zip(res["models"], params):
        top5 = f"{r['top5']:.4f}" if r["top5"] is not None else "-"
        lines.append(f"{r['model']:{wm}} {p:{wp}} {r['val_acc']:8.4f} {r['test_acc']:8.4f} {top5:>6} "
                     f"{r['fit_s']:7.2f} {r['predict_s']:7.2f}  {r['backend']}")
    return "\n".join(lines)


def _markdown(res):
    out = [f"# imgclf report: {res['dataset']}", ""]
    if res.get("interrupted") == "while drawing the figures":
        out += ["**Interrupted (Ctrl-C) while drawing the figures**: every stage finished and is "
                "reported below; the figures not yet drawn are missing.", ""]
    elif res.get("interrupted"):
        out += [f"**Interrupted (Ctrl-C) {res['interrupted']}**: only the stages that finished are "
                "reported below.", ""]
    if "n_train" not in res:
        out += ["Nothing finished before the interruption.", ""]
        return "\n".join(out)
    out += [f"train {res['n_train']} / validation {res['n_val']} / test {res['n_test']} images of shape "
           f"{tuple(res['image_shape'])}, {len(res['classes'])} classes; backend {res['backend']}; "
           f"imgclf {res['imgclf']}; seed {res['seed']}{' (quick)' if res['quick'] else ''}; "
           f"{res['seconds']:.1f} s in all.", "",
           "Hyperparameters were chosen on validation data only (k-fold cross-validation for kNN, a "
           "validation split of the training set for the trained models); each final model saw the "
           "test set once.", "",
           "| model | hyperparameters | val acc | test acc | top-5 | fit s | predict s | backend |",
           "|---|---|---:|---:|---:|---:|---:|---|"]
    for r in res["models"]:
        p = _params_text(r["params"])
        top5 = f"{r['top5']:.4f}" if r["top5"] is not None else "-"
        out.append(f"| {r['model']} | {p} | {r['val_acc']:.4f} | {r['test_acc']:.4f} | {top5} | "
                   f"{r['fit_s']:.2f} | {r['predict_s']:.2f} | {r['backend']} |")
    out.append("")
    for title, name in [("kNN: accuracy against k (mean and std over folds)", "knn_cv.png"),
                        ("Training loss and train/validation accuracy", "training.png"),
                        ("Softmax weights as one template image per class", "templates.png"),
                        ("First-layer weights of the network, one image per hidden unit", "weights.png"),
                        (f"Confusion matrix ({res.get('confusion', {}).get('model')}, test set)",
                         "confusion.png")]:
        if name in res.get("figures", []):
            out += [f"## {title}", "", f"![{title}]({name})", ""]
    if not res.get("figures") and res.get("interrupted") != "while drawing the figures":
        out += ["(figures need matplotlib: pip install matplotlib)", ""]
    return "\n".join(out)


def _figures(out, res, softmax, shape, classes, net=None, stop=lambda: False):
    """Write the report's figures into ``out``; returns their file names.  Stops early, with
    the ones written so far, once ``stop()`` is true (Ctrl-C)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # a dependency, but a broken install should still give a report
        _log(f"  no figures: matplotlib did not import ({exc})")
        return []
    made = []
    for name, fig in _each_figure(res, softmax, shape, classes, net):
        if not stop():
            fig.savefig(os.path.join(out, name), dpi=110)
            made.append(name)
        plt.close(fig)
        if stop():  # Ctrl-C: the figures drawn so far are kept
            break
    return made


def report_figures(res: dict, softmax: Any = None, shape: tuple[int, ...] | None = None,
                   classes: Sequence[Any] | None = None, net: Any = None) -> dict:
    """The figures of an ``imgclf run`` report as matplotlib Figures, by file name:
    knn_cv.png (accuracy against k), training.png (loss and accuracy per epoch),
    templates.png (softmax weights per class, when ``softmax`` is given), weights.png (the
    first-layer weights of a trained :class:`imgclf.NeuralNet`, one image per hidden unit,
    the first 40, when ``net`` is given) and confusion.png.
    ``res`` is the results dict that :func:`run_pipeline` returns."""
    return dict(_each_figure(res, softmax, shape, classes, net))


def _each_figure(res, softmax, shape, classes, net):
    """The figures of :func:`report_figures`, one (name, Figure) at a time."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    classes = list(res["classes"] if classes is None else classes)

    fig, ax = plt.subplots(figsize=(6, 4))
    ks = sorted({k for c in res["knn_cv"].values() for k in c["ks"]})
    for m, c in res["knn_cv"].items():
        ax.errorbar(c["ks"], c["mean"], yerr=c["std"], marker="o", capsize=3,
                    label=f"{m.upper()} (best k={c['best_k']})")
    ax.set_xticks(ks)  # k is an integer: one tick per k tried
    ax.set_xlabel("k (neighbours)")
    ax.set_ylabel("cross-validation accuracy")
    ax.set_title(f"kNN on {res['dataset']}: accuracy against k")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    yield "knn_cv.png", fig

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name, h in res["histories"].items():
        loss = np.asarray(h["loss"], dtype=float)
        ep_loss = np.arange(1, len(loss) + 1) * (len(h["train_acc"]) / max(len(loss), 1))
        w = max(1, len(loss) // 100)
        smooth = np.convolve(loss, np.ones(w) / w, mode="valid")
        axes[0].plot(ep_loss[w - 1:], smooth, label=name)
        ep = np.arange(1, len(h["train_acc"]) + 1)
        line, = axes[1].plot(ep, h["train_acc"], marker=".", label=f"{name} train")
        if h.get("val_acc"):
            axes[1].plot(np.arange(1, len(h["val_acc"]) + 1), h["val_acc"], "--", marker=".",
                         color=line.get_color(), label=f"{name} validation")
    axes[0].set_title("Training loss (minibatches, smoothed)")
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("training loss (log scale)")
    axes[0].set_yscale("log")
    axes[0].legend()
    axes[1].set_title("Accuracy per epoch")
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("accuracy")
    axes[1].legend(fontsize=7)
    for a in axes:
        a.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
        a.grid(alpha=0.3)
    fig.suptitle(f"Training on {res['dataset']} (the chosen settings of each model)")
    fig.tight_layout()
    yield "training.png", fig

    if softmax is not None and shape is not None:
        T = softmax.templates(shape)
        fig = _image_grid(plt, T, (1.3, 1.5), [str(c)[:12] for c in classes])
        fig.suptitle("Softmax weights as one template image per class")
        fig.tight_layout()
        yield "templates.png", fig

    if net is not None and shape is not None:
        T = net.first_layer_weights(shape)[:40]
        fig = _image_grid(plt, T, (1.1, 1.15))
        hidden = net.hidden if isinstance(net.hidden, (int, np.integer)) else tuple(net.hidden)
        fig.suptitle(f"First-layer weights of the network (hidden={hidden}): {len(T)} of "
                     f"{net.model_.params['W1'].shape[1]} units")
        fig.tight_layout()
        yield "weights.png", fig

    yield "confusion.png", _confusion_figure(np.asarray(res["confusion"]["matrix"]), classes,
                                              f"{res['confusion']['model']} on the {res['dataset']} test set")


def _confusion_figure(cm, classes, title):
    """Counts in the cells on a logarithmic colour scale, so that a class pair confused
    once is as visible as the diagonal; empty cells stay white."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    C = len(classes)
    size = min(4 + 0.45 * C, 16)
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    shown = np.ma.masked_equal(cm, 0)
    cmap = plt.get_cmap("viridis").with_extremes(bad="white")
    norm = LogNorm(vmin=1, vmax=max(int(cm.max()), 2))
    im = ax.imshow(shown, cmap=cmap, norm=norm)
    if C <= 30:  # numbers in the cells while they still fit
        fs = 8 if C <= 12 else 6
        for i in range(C):
            for j in range(C):
                if cm[i, j]:
                    r, g, b, _ = cmap(norm(cm[i, j]))
                    dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
                    ax.text(j, i, str(int(cm[i, j])), ha="center", va="center", fontsize=fs,
                            color="white" if dark else "black")
    labels = [str(c)[:12] for c in classes]
    ax.set_xticks(range(C))
    ax.set_yticks(range(C))
    ax.set_xticklabels(labels, rotation=90, fontsize=7)
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    acc = np.trace(cm) / max(cm.sum(), 1)
    ax.set_title(f"Confusion matrix: {title}\n{acc:.1%} correct, {int(cm.sum() - np.trace(cm))} errors")
    top = max(int(cm.max()), 2)
    ticks = [t for t in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000) if t <= top]
    fig.colorbar(im, ax=ax, ticks=ticks, format="%d", label="images (log scale)")
    fig.tight_layout()
    return fig


def _image_grid(plt, images, cell, titles=None):
    """A figure with the images (n, h, w, channels) in rows of at most 10, grey for one
    channel; ``cell``: (width, height) inches per image; optional titles."""
    n = len(images)
    cols = min(n, 10)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(cell[0] * cols, cell[1] * rows + 0.5), squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i < n:
            img = images[i]
            ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray" if img.shape[-1] == 1 else None)
            if titles is not None:
                ax.set_title(titles[i], fontsize=7)
    return fig
