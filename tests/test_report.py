"""The report of `imgclf run` as a person reads it: a table that cuts nothing short, and
figures with titles, integer epoch and k axes, and a confusion matrix whose errors show."""
import matplotlib
import numpy as np
import pytest
from imgclf.pipeline import report_figures, table

matplotlib.use("Agg")


def _results(rng, n_classes=10, epochs=7):
    cm = np.diag(rng.integers(200, 900, n_classes))
    cm[3, 5] = 1  # one rare confusion: must stand out from the empty cells
    cm[5, 3] = 17
    ks = [1, 2, 3, 5, 7, 10, 15, 20]
    curve = lambda: sorted(rng.uniform(0.5, 0.9, epochs).tolist())
    return {
        "dataset": "fashion-mnist", "classes": [f"class-{i}" for i in range(n_classes)],
        "models": [
            {"model": "kNN", "params": {"k": 5, "metric": "l1"}, "val_acc": 0.86, "test_acc": 0.861,
             "top5": 0.99, "fit_s": 0.1, "predict_s": 1.2, "backend": "cpu"},
            {"model": "Softmax on features", "params": {"lr": 0.003, "reg": 1e-05, "hog_pixels_per_cell": 7,
                                                        "color_hist": False, "a_very_long_hyperparameter_name": 1},
             "val_acc": 0.8, "test_acc": 0.81, "top5": None, "fit_s": 12.5, "predict_s": 0.01, "backend": "cpu"},
        ],
        "knn_cv": {m: {"ks": ks, "mean": rng.uniform(0.8, 0.9, len(ks)).tolist(),
                       "std": rng.uniform(0, 0.01, len(ks)).tolist(), "best_k": 5} for m in ("l1", "l2")},
        "histories": {name: {"loss": rng.uniform(0.2, 2, 50 * epochs).tolist(), "train_acc": curve(),
                             "val_acc": curve()} for name in ("Softmax", "TwoLayerNet")},
        "confusion": {"model": "kNN", "matrix": cm.tolist()},
    }


def test_table_never_cuts_a_hyperparameter_short(rng):
    res = _results(rng)
    lines = table(res).splitlines()
    for r, line in zip(res["models"], lines[2:]):
        for k, v in r["params"].items():
            assert f"{k}={v:g}" in line if isinstance(v, float) else f"{k}={v}" in line
        assert line.startswith(r["model"])
    # the columns line up: the numbers start at the same place in every row
    starts = {line.index(f"{r['val_acc']:8.4f}") for r, line in zip(res["models"], lines[2:])}
    assert len(starts) == 1 and lines[0].index("val acc") <= starts.pop() + 8


@pytest.fixture
def figures(rng):
    import matplotlib.pyplot as plt

    res = _results(rng)
    figs = report_figures(res)
    yield res, figs
    for f in figs.values():
        plt.close(f)


def test_every_panel_has_a_title(figures):
    _, figs = figures
    assert set(figs) == {"knn_cv.png", "training.png", "confusion.png"}  # templates need a model
    for name, fig in figs.items():
        for ax in fig.axes:
            if ax.get_label() == "<colorbar>":
                continue
            assert ax.get_title(), f"{name}: a panel without a title"


def test_epoch_and_k_ticks_are_integers(figures):
    res, figs = figures
    fig = figs["training.png"]
    fig.canvas.draw()
    for ax in fig.axes:
        assert ax.get_xlabel() == "epoch"
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
    ax = figs["knn_cv.png"].axes[0]
    assert list(ax.get_xticks()) == res["knn_cv"]["l1"]["ks"]


def test_confusion_matrix_shows_counts_and_errors(figures):
    res, figs = figures
    cm = np.asarray(res["confusion"]["matrix"])
    ax = figs["confusion.png"].axes[0]
    texts = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts}
    nonzero = {(int(i), int(j)): str(cm[i, j]) for i, j in zip(*np.nonzero(cm))}
    assert texts == nonzero  # every count in its cell, nothing in the empty ones
    im = ax.images[0]
    rgba = im.to_rgba(im.get_array())
    white = np.ones(3)

    def contrast(i, j):
        return np.abs(rgba[i, j, :3] - white).sum()

    assert contrast(0, 1) == 0  # empty cells stay white
    assert contrast(3, 5) > 1.0  # a single error is far from white: visible
    assert contrast(5, 3) > 0.5
    # and the largest count is clearly another colour than the single error
    assert np.abs(rgba[3, 5, :3] - rgba[0, 0, :3]).sum() > 1.0


def test_first_layer_weights_figure(rng):
    import matplotlib.pyplot as plt
    from imgclf import NeuralNet

    res = _results(rng)
    X = rng.integers(0, 256, (60, 20)).astype(np.uint8)
    y = np.arange(60) % 3
    net = NeuralNet(hidden=(6, 4), epochs=2, random_state=0, progress=False).fit(X, y)
    figs = report_figures(res, shape=(4, 5, 1), net=net)
    try:
        fig = figs["weights.png"]
        images = [ax.get_images()[0].get_array() for ax in fig.axes if ax.get_images()]
        assert len(images) == 6 and all(im.shape == (4, 5) for im in images)  # one per first-layer unit
        W = net.model_.params["W1"]
        np.testing.assert_allclose(images[2].ravel(), (W[:, 2] - W[:, 2].min()) / np.ptp(W[:, 2]), rtol=1e-6)
        assert "First-layer weights" in fig._suptitle.get_text()
    finally:
        for f in figs.values():
            plt.close(f)
