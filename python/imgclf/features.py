"""Image features: HSV colour histograms, HOG, and a bag of visual words.

Every function takes uint8 (or float) images (N, H, W[, C]) and returns float32 features
(N, n_features).  :func:`extract_features` stacks several with a progress bar.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from . import ops
from ._validation import check_int, check_real

__all__ = ["rgb_to_hsv", "color_histogram_hsv", "hog", "BagOfWords", "extract_features"]


def _images(images, name="images"):
    a = np.asarray(images)
    if a.ndim == 3:
        a = a[..., None]
    if a.ndim != 4:
        raise ValueError(f"{name} must be (N, H, W) or (N, H, W, C), got shape {a.shape}")
    if a.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    if a.dtype.kind not in "uif":
        raise TypeError(f"{name} must be numeric, got {a.dtype}")
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        bad = "NaN" if np.isnan(a).any() else "infinity"
        raise ValueError(f"{name} contains {bad}; features of such pixels are undefined")
    return a


# images per block in the feature functions: about this many pixel values, so that their
# float64 temporaries stay near 32 MiB each whatever the dataset's size
_BLOCK_VALUES = 1 << 22


def _blockwise(fn: Any, a: np.ndarray, *args: Any) -> np.ndarray:
    """fn over blocks of images, stacked: bounded memory for any number of images."""
    step = max(1, _BLOCK_VALUES // max(1, int(np.prod(a.shape[1:]))))
    if a.shape[0] <= step:
        return fn(a, *args)
    return np.concatenate([fn(a[s : s + step], *args) for s in range(0, a.shape[0], step)])


def rgb_to_hsv(images: ArrayLike) -> np.ndarray:
    """RGB (uint8 0..255 or float 0..1) -> HSV in [0, 1] (float32); grey images give S = 0."""
    a = _images(images)
    if a.shape[-1] not in (1, 3):
        raise ValueError(f"images must have 1 (grey) or 3 (RGB) channels, got {a.shape[-1]} "
                         f"(shape {a.shape})")
    scale = 1 / 255.0 if a.dtype == np.uint8 else 1.0
    a = a.astype(np.float32) * np.float32(scale)
    if a.shape[-1] == 1:
        a = np.repeat(a, 3, axis=-1)
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    mx, mn = a.max(-1), a.min(-1)
    d = mx - mn
    safe = np.where(d > 0, d, 1)
    h = np.where(mx == r, ((g - b) / safe) % 6, np.where(mx == g, (b - r) / safe + 2, (r - g) / safe + 4))
    h = np.where(d > 0, h / 6.0, 0.0)
    s = np.where(mx > 0, d / np.where(mx > 0, mx, 1), 0.0)
    return np.stack([h, s, mx], axis=-1).astype(np.float32)


def color_histogram_hsv(images: ArrayLike, bins: int = 10) -> np.ndarray:
    """Histograms of hue, saturation and value (``bins`` each), every histogram summing to 1."""
    bins = check_int(bins, "bins", low=1)
    return _blockwise(_color_histogram_block, _images(images), bins)


def _color_histogram_block(images, bins):
    hsv = rgb_to_hsv(images)
    n = hsv.shape[0]
    out = np.empty((n, 3 * bins), np.float32)
    for c in range(3):
        idx = np.minimum((hsv[..., c].reshape(n, -1) * bins).astype(np.int64), bins - 1)
        counts = np.apply_along_axis(np.bincount, 1, idx, minlength=bins)
        out[:, c * bins:(c + 1) * bins] = counts / idx.shape[1]
    return out


def hog(images: ArrayLike, orientations: int = 9, pixels_per_cell: int = 8, norm: str = "l1",
        eps: float = 1e-5) -> np.ndarray:
    """Histograms of oriented gradients over non-overlapping cells.

    Gradients are centred differences (zero on the border); a colour image uses, at each
    pixel, the channel with the largest gradient.  Unsigned orientations in [0, 180) fall
    into ``orientations`` equal bins; each cell's histogram is the mean gradient magnitude
    per bin, then normalized per cell ("l1": v / (sum|v| + eps), "l2", or None).  With
    norm="l1" this equals scikit-image's ``hog(..., cells_per_block=(1, 1), block_norm="L1")``.
    """
    a = _images(images)
    N, H, W, C = a.shape
    c = check_int(pixels_per_cell, "pixels_per_cell", low=1, high=min(H, W))
    orientations = check_int(orientations, "orientations", low=1)
    eps = check_real(eps, "eps", low=0.0)
    if norm not in ("l1", "l2", None):
        raise ValueError(f"norm must be 'l1', 'l2' or None, got {norm!r}")
    return _blockwise(_hog_block, a, orientations, c, norm, eps)


def _hog_block(a, orientations, c, norm, eps):
    a = a.astype(np.float64)
    N, H, W, C = a.shape
    gr = np.zeros_like(a)
    gc = np.zeros_like(a)
    gr[:, 1:-1] = a[:, 2:] - a[:, :-2]
    gc[:, :, 1:-1] = a[:, :, 2:] - a[:, :, :-2]
    mag = np.hypot(gr, gc)
    if C > 1:
        pick = mag.argmax(-1)[..., None]
        gr = np.take_along_axis(gr, pick, -1)
        gc = np.take_along_axis(gc, pick, -1)
        mag = np.take_along_axis(mag, pick, -1)
    gr, gc, mag = gr[..., 0], gc[..., 0], mag[..., 0]
    ori = np.rad2deg(np.arctan2(gr, gc)) % 180
    nr, nc = H // c, W // c
    b = np.minimum((ori / (180.0 / orientations)).astype(np.int64), orientations - 1)
    mag, b = mag[:, :nr * c, :nc * c], b[:, :nr * c, :nc * c]
    cell = (np.arange(nr * c)[:, None] // c) * nc + np.arange(nc * c)[None, :] // c  # (H', W')
    key = (cell[None] * orientations + b) + (np.arange(N) * nr * nc * orientations)[:, None, None]
    hist = np.bincount(key.ravel(), weights=mag.ravel(), minlength=N * nr * nc * orientations)
    hist = hist.reshape(N, nr * nc, orientations) / (c * c)
    if norm == "l1":
        hist = hist / (np.abs(hist).sum(-1, keepdims=True) + eps)
    elif norm == "l2":
        hist = hist / np.sqrt((hist ** 2).sum(-1, keepdims=True) + eps ** 2)
    return hist.reshape(N, -1).astype(np.float32)


class BagOfWords:
    """Bag of visual words: random patches clustered into ``n_words`` words by k-means
    (whose assignment step is imgclf's fused nearest-neighbour kernel); an image becomes the
    normalized histogram of the nearest word of each of its patches (taken on a grid with
    step ``stride``).  Patches are centred per patch, so words describe texture, not
    brightness."""

    def __init__(self, n_words: int = 64, patch: int = 4, stride: int = 2, patches_per_image: int = 8,
                 iterations: int = 15, random_state: int | None = 0) -> None:
        self.n_words = check_int(n_words, "n_words", low=1)
        self.patch = check_int(patch, "patch", low=1)
        self.stride = check_int(stride, "stride", low=1)
        self.patches_per_image = check_int(patches_per_image, "patches_per_image", low=1)
        self.iterations = check_int(iterations, "iterations", low=0)
        self.random_state = random_state

    def _grid_patches(self, a):
        p, s = self.patch, self.stride
        N, H, W, C = a.shape
        if p > min(H, W):
            raise ValueError(f"patch {p} is larger than the {H}x{W} images")
        rows = range(0, H - p + 1, s)
        cols = range(0, W - p + 1, s)
        P = np.stack([a[:, r:r + p, q:q + p].reshape(N, -1) for r in rows for q in cols], axis=1)
        return P  # (N, n_patches, p*p*C)

    @staticmethod
    def _centre(P):
        P = P.astype(np.float32)
        return P - P.mean(-1, keepdims=True)

    def fit(self, images: ArrayLike) -> BagOfWords:
        a = _images(images)
        rng = np.random.default_rng(self.random_state)
        P = self._grid_patches(a)
        N, n_p, d = P.shape
        take = rng.integers(0, n_p, size=(N, min(self.patches_per_image, n_p)))
        sample = self._centre(np.take_along_axis(P, take[..., None], 1).reshape(-1, d))
        if len(sample) < self.n_words:
            raise ValueError(f"{len(sample)} patches are too few for {self.n_words} words")
        words = sample[rng.choice(len(sample), self.n_words, replace=False)].copy()
        for _ in range(self.iterations):
            _, idx = ops.knn(sample, words, 1, "sqeuclidean")
            idx = idx[:, 0]
            counts = np.bincount(idx, minlength=self.n_words)
            sums = np.zeros_like(words, dtype=np.float64)
            np.add.at(sums, idx, sample)
            empty = counts == 0
            words[~empty] = (sums[~empty] / counts[~empty, None]).astype(np.float32)
            if empty.any():  # re-seed empty words on random patches
                words[empty] = sample[rng.choice(len(sample), int(empty.sum()), replace=False)]
        self.words_ = words
        return self

    def transform(self, images: ArrayLike) -> np.ndarray:
        if not hasattr(self, "words_"):
            raise RuntimeError("BagOfWords must be fitted first (call fit(images))")
        return _blockwise(self._transform_block, _images(images))

    def _transform_block(self, a):
        P = self._grid_patches(a)
        N, n_p, d = P.shape
        if d != self.words_.shape[1]:
            raise ValueError("images differ in shape or channels from those the words were fitted on")
        _, idx = ops.knn(self._centre(P.reshape(-1, d)), self.words_, 1, "sqeuclidean")
        idx = idx[:, 0].reshape(N, n_p) + (np.arange(N) * self.n_words)[:, None]
        h = np.bincount(idx.ravel(), minlength=N * self.n_words).reshape(N, self.n_words)
        return (h / n_p).astype(np.float32)

    def __call__(self, images):
        return self.transform(images)


def extract_features(images: ArrayLike, features: Sequence[Any] = ("hog", "color"), batch_size: int = 2000,
                     progress: bool | str = "auto", **kw: Any) -> np.ndarray:
    """Stack features of ``images`` column-wise, in batches, with a progress bar.

    features: names ("hog", "color") or callables images -> (n, f) (e.g. a fitted
    :class:`BagOfWords`).  kw: pixels_per_cell / orientations for HOG, bins for colour."""
    a = _images(images)
    fns = []
    for f in features:
        if callable(f):
            fns.append(f)
        elif f == "hog":
            fns.append(lambda x: hog(x, orientations=kw.get("orientations", 9),
                                     pixels_per_cell=kw.get("pixels_per_cell", 8)))
        elif f == "color":
            fns.append(lambda x: color_histogram_hsv(x, bins=kw.get("bins", 10)))
        else:
            raise ValueError(f"unknown feature {f!r}; expected 'hog', 'color' or a callable")
    show = sys.stderr.isatty() if progress == "auto" else bool(progress)
    starts = range(0, len(a), batch_size)
    if show:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="features", unit="batch", leave=False)
    out = [np.hstack([np.asarray(fn(a[s:s + batch_size]), np.float32) for fn in fns]) for s in starts]
    return np.vstack(out)
