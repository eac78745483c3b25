"""imgclf.features: HOG (against scikit-image), colour histograms, bag of words, and bad
arguments."""
import tracemalloc

import numpy as np
import pytest
from imgclf import features


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


def test_features_refuse_bad_arguments_with_clear_errors(rng):
    img = rng.integers(0, 255, (2, 16, 16, 3), dtype=np.uint8)
    with pytest.raises(TypeError, match="pixels_per_cell must be an int"):
        features.hog(img, pixels_per_cell=2.5)
    with pytest.raises(ValueError, match="orientations must be >= 1"):
        features.hog(img, orientations=0)
    bad = img.astype(np.float32)
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="images contains NaN"):
        features.color_histogram_hsv(bad)
    with pytest.raises(ValueError, match="1 .grey. or 3 .RGB. channels, got 2"):
        features.color_histogram_hsv(img[..., :2])


def test_feature_memory_is_bounded_by_blocks():
    imgs = np.random.default_rng(0).integers(0, 256, (12000, 28, 28, 1), dtype=np.uint8)
    tracemalloc.start()
    try:
        F = features.hog(imgs, pixels_per_cell=7)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert F.shape == (12000, 144)
    # the float64 temporaries of 12000 images would be ~7 x 75 MB; blocks keep them small
    assert peak < 300e6, f"hog peaked at {peak / 1e6:.0f} MB"
    np.testing.assert_allclose(F[:100], features.hog(imgs[:100], pixels_per_cell=7), rtol=1e-6)
