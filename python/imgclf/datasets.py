"""Dataset loaders.  Images come back as uint8 arrays (N, H, W, C) with int64 labels."""
from __future__ import annotations

import gzip
import os
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Dataset", "load", "read_idx", "FASHION_MNIST_DIR"]

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]


@dataclass
class Dataset:
    """A labelled image dataset with its official train/test split."""
    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: list = field(default_factory=list)


def read_idx(path):
    """Read an IDX file (the MNIST format), gzipped or not, into a NumPy array."""
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"IDX file not found: {path}") from None
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path}: cannot be read ({exc}); the file is damaged, download it again") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic number {data[:4].hex()}); "
                         "expected the MNIST-format files such as train-images-idx3-ubyte.gz")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: truncated IDX header; download the file again")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[data[2]])
    need = header + int(np.prod(shape)) * dtype.itemsize
    if len(data) != need:
        raise ValueError(f"{path}: truncated or oversized IDX file ({len(data)} bytes, expected {need} "
                         f"for shape {shape}); download it again")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).copy()


def _find(data_dir, stem):
    for name in (stem + ".gz", stem, stem.replace("-idx", ".idx")):
        p = os.path.join(data_dir, name)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(f"{stem}[.gz] not found in {data_dir}")


def _load_mnist_like(name, data_dir, classes):
    parts = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        X = read_idx(_find(data_dir, f"{prefix}-images-idx3-ubyte"))
        y = read_idx(_find(data_dir, f"{prefix}-labels-idx1-ubyte")).astype(np.int64)
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"{data_dir}: {prefix} images ({X.shape[0]}) and labels ({y.shape[0]}) differ in count")
        parts[split] = (X[..., None], y)
    return Dataset(name, *parts["train"], *parts["test"], classes)


def load(name, data_dir=None):
    """Load a dataset by name: "digits" (scikit-learn's 8x8 digits), "mnist" or
    "fashion-mnist" (IDX files; Fashion-MNIST defaults to Debian's install location)."""
    if name == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()
        X = np.rint(d.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
        y = d.target.astype(np.int64)
        rng = np.random.default_rng(0)  # digits has no official split: a fixed 80/20 one
        perm = rng.permutation(len(y))
        cut = int(0.8 * len(y))
        tr, te = perm[:cut], perm[cut:]
        return Dataset("digits", X[tr], y[tr], X[te], y[te], [str(i) for i in range(10)])
    if name in ("fashion-mnist", "mnist"):
        if data_dir is None:
            if name == "mnist":
                raise ValueError("mnist needs data_dir (the folder holding the four IDX files)")
            data_dir = FASHION_MNIST_DIR
            if not os.path.isdir(data_dir):
                raise FileNotFoundError(f"Fashion-MNIST not found in {data_dir}: install it with "
                                        "'apt-get install dataset-fashion-mnist' or pass data_dir")
        classes = FASHION_CLASSES if name == "fashion-mnist" else [str(i) for i in range(10)]
        return _load_mnist_like(name, data_dir, classes)
    raise ValueError(f"unknown dataset {name!r}; expected 'digits', 'mnist' or 'fashion-mnist'")
