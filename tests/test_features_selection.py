"""Features, metrics and model selection."""
import numpy as np
import pytest
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from imgclf import features, metrics
from imgclf.model_selection import cross_validate_k, validation_search
from imgclf import SoftmaxClassifier


def test_hog_known_edges():
    img = np.zeros((1, 16, 16), np.uint8)
    img[0, :, 8:] = 255  # a vertical edge: horizontal gradient, orientation 0 degrees
    h = features.hog(img, orientations=9, pixels_per_cell=8, norm=None).reshape(2, 2, 9)
    assert h[:, :, 0].sum() > 0 and h[:, :, 1:].sum() == 0
    img2 = np.zeros((1, 16, 16), np.uint8)
    img2[0, 8:, :] = 255  # a horizontal edge: orientation 90 degrees -> bin 4 of 9
    h2 = features.hog(img2, norm=None).reshape(2, 2, 9)
    assert h2[:, :, 4].sum() > 0 and np.delete(h2, 4, axis=2).sum() == 0


def test_hog_matches_scikit_image(rng):
    skf = pytest.importorskip("skimage.feature")
    imgs = rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    ours = features.hog(imgs)
    for i in range(4):
        ref = skf.hog(imgs[i], orientations=9, pixels_per_cell=(8, 8), cells_per_block=(1, 1),
                      block_norm="L1", channel_axis=-1)
        np.testing.assert_allclose(ours[i], ref, atol=1e-6)
    g = rng.integers(0, 256, (2, 28, 30), dtype=np.uint8)
    ref = skf.hog(g[1], orientations=6, pixels_per_cell=(7, 7), cells_per_block=(1, 1), block_norm="L1")
    np.testing.assert_allclose(features.hog(g, orientations=6, pixels_per_cell=7)[1], ref, atol=1e-6)


def test_color_histogram_and_hsv():
    red = np.zeros((1, 4, 4, 3), np.uint8)
    red[..., 0] = 255
    hsv = features.rgb_to_hsv(red)
    np.testing.assert_allclose(hsv[0, 0, 0], [0, 1, 1])
    h = features.color_histogram_hsv(red, bins=5)
    assert h.shape == (1, 15) and h[0, 0] == 1 and h[0, 9] == 1 and h[0, 14] == 1
    blue = np.zeros((1, 2, 2, 3), np.uint8)
    blue[..., 2] = 255
    assert features.rgb_to_hsv(blue)[0, 0, 0, 0] == pytest.approx(2 / 3)


def test_bag_of_words(rng):
    a = np.zeros((20, 12, 12), np.uint8)
    a[:10, :, ::2] = 255  # stripes
    a[10:] = rng.integers(0, 256, (10, 12, 12))  # noise
    bow = features.BagOfWords(n_words=6, patch=4, stride=2, random_state=0).fit(a)
    H = bow.transform(a)
    assert H.shape == (20, 6)
    np.testing.assert_allclose(H.sum(1), 1, rtol=1e-6)
    # stripes and noise use different words
    assert np.abs(H[:10].mean(0) - H[10:].mean(0)).sum() > 0.5
    F = features.extract_features(a, ["hog", bow], pixels_per_cell=4, progress=False)
    assert F.shape == (20, 9 * 9 + 6)
    with pytest.raises(ValueError, match="unknown feature"):
        features.extract_features(a, ["sift"])


def test_metrics():
    y = np.array([0, 1, 2, 2])
    assert metrics.accuracy(y, np.array([0, 1, 1, 2])) == 0.75
    s = np.array([[0.9, 0.1, 0.0], [0.2, 0.3, 0.5], [0.5, 0.4, 0.1], [0.0, 0.0, 1.0]])
    assert metrics.top_k_accuracy(y, s, 1) == 0.5
    assert metrics.top_k_accuracy(y, s, 2) == 0.75
    assert metrics.top_k_accuracy(y, s, 5) == 1.0
    cm = metrics.confusion_matrix(y, np.array([0, 1, 1, 2]), 3)
    np.testing.assert_array_equal(cm, [[1, 0, 0], [0, 1, 0], [0, 1, 1]])
    with pytest.raises(ValueError):
        metrics.accuracy(y, y[:2])


def test_cross_validate_k_matches_per_k_sklearn(rng):
    # continuous data: scikit-learn's brute search orders tied distances arbitrarily, so a tie
    # at the k-th neighbour would make the comparison depend on luck
    X = rng.standard_normal((150, 16))
    y = rng.integers(0, 3, 150)
    X[y == 1, :4] += 1.0  # some signal
    ks = [1, 3, 5, 8]
    res = cross_validate_k(X, y, ks, folds=5, metric="l1", tie_break="smallest", progress=False)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    for j, k in enumerate(ks):
        ref = cross_val_score(KNeighborsClassifier(k, metric="manhattan", algorithm="brute"),
                              X.astype(float), y, cv=cv)
        np.testing.assert_allclose(res["scores"][:, j], ref)
    assert res["best_k"] == ks[int(np.argmax(res["mean"]))]
    with pytest.raises(ValueError, match="max"):
        cross_validate_k(X, y, [200])


def test_validation_search(rng):
    X = rng.standard_normal((200, 5))
    y = (X[:, 0] > 0).astype(int)
    best, results = validation_search(lambda **p: SoftmaxClassifier(epochs=3, progress=False, **p),
                                      X[:150], y[:150], X[150:], y[150:], {"lr": [1e-3, 1e-2], "reg": [0.0, 1.0]})
    assert len(results) == 4 and results[0]["val_acc"] >= results[-1]["val_acc"]
    assert best.score(X[150:], y[150:]) == results[0]["val_acc"]
    _, rand = validation_search(lambda **p: SoftmaxClassifier(epochs=2, progress=False, **p),
                                X[:150], y[:150], X[150:], y[150:], {"lr": [1e-3, 1e-2, 1e-1]}, n_iter=2)
    assert len(rand) == 2
