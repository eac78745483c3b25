"""Dataset loaders.  Images come back as uint8 arrays (N, H, W, C) with int64 labels.

    load(name, data_dir=None)      "digits", "mnist", "fashion-mnist", "cifar10", "cifar100"
    load_image_folder(path, size)  one subfolder per class of PNG/JPEG files
    fetch(name, cache_dir)         download + SHA-256 check + atomic unpack (CIFAR archives)
    train_val_split(X, y, ...)     a (stratified) validation split
"""
from __future__ import annotations

import gzip
import hashlib
import io
import math
import os
import pickle
import shutil
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["Dataset", "load", "read_idx", "load_image_folder", "fetch", "train_val_split",
           "FASHION_MNIST_DIR", "DATASETS", "ARCHIVES"]

DATASETS = ("digits", "mnist", "fashion-mnist", "cifar10", "cifar100")

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
    coarse_classes: list = field(default_factory=list)  # cifar100: the 20 superclasses
    y_train_coarse: np.ndarray | None = None
    y_test_coarse: np.ndarray | None = None

    @property
    def image_shape(self) -> tuple[int, ...]:
        return self.X_train.shape[1:]

    def __repr__(self):
        return (f"Dataset({self.name!r}: train {self.X_train.shape}, test {self.X_test.shape}, "
                f"{len(self.classes)} classes)")


def read_idx(path: str | os.PathLike) -> np.ndarray:
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
    need = header + math.prod(shape) * dtype.itemsize  # Python ints: no overflow
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
        if X.ndim != 3 or y.ndim != 1:
            raise ValueError(f"{data_dir}: {prefix} files hold arrays of shape {X.shape} and {y.shape}, "
                             "expected images (N, rows, cols) and labels (N,)")
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"{data_dir}: {prefix} images ({X.shape[0]}) and labels ({y.shape[0]}) differ in count")
        if X.dtype != np.uint8:
            raise ValueError(f"{data_dir}: {prefix} images must be uint8 pixels, got {X.dtype}")
        if y.size and (y.min() < 0 or y.max() >= len(classes)):
            raise ValueError(f"{data_dir}: {prefix} labels must lie in [0, {len(classes)}), "
                             f"got values in [{y.min()}, {y.max()}]")
        parts[split] = (X[..., None], y)
    return Dataset(name, *parts["train"], *parts["test"], classes)


def load(name: str, data_dir: str | os.PathLike | None = None) -> Dataset:
    """Load a dataset with its official train/test split.

    name: "digits" (scikit-learn's 8x8 digits, always available; a fixed 80/20 split),
    "mnist" / "fashion-mnist" (the four IDX files, gzipped or not; Fashion-MNIST defaults to
    /usr/share/datasets/fashion-mnist where Debian's dataset-fashion-mnist installs it),
    "cifar10" / "cifar100" (the official python version: data_dir holds the .tar.gz or its
    extracted folder, or is that folder itself).  Returns a :class:`Dataset` of uint8
    images (N, H, W, C) and int64 labels; cifar100 also fills the coarse (superclass) labels.
    """
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
    if name in ("cifar10", "cifar100"):
        if data_dir is None:
            raise ValueError(f"{name} needs data_dir: the folder holding {ARCHIVES[name]['file']} or "
                             f"{ARCHIVES[name]['folder']}/ (imgclf.datasets.fetch({name!r}, dir) downloads it)")
        return _load_cifar(name, data_dir)
    raise ValueError(f"unknown dataset {name!r}; expected one of {DATASETS}")


# ---- CIFAR (the official python version) ----------------------------------------------------

ARCHIVES = {
    "cifar10": {"url": "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                "file": "cifar-10-python.tar.gz", "folder": "cifar-10-batches-py",
                "sha256": "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"},
    "cifar100": {"url": "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
                 "file": "cifar-100-python.tar.gz", "folder": "cifar-100-python",
                 "sha256": "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"},
}
_CIFAR_FILES = {"cifar10": ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4",
                            "data_batch_5", "test_batch", "batches.meta"],
                "cifar100": ["train", "test", "meta"]}


class _SafeUnpickler(pickle.Unpickler):
    """Accepts only what the CIFAR batches contain: containers, strings, numbers and NumPy
    arrays.  Any other global (os.system, builtins.eval, ...) is refused before it runs."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"), ("_codecs", "encode"),
    }

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            found = super().find_class(module, name)
            return _empty_reconstruct(found) if name == "_reconstruct" else found
        raise pickle.UnpicklingError(f"refused to load {module}.{name}: a CIFAR batch holds only "
                                     "arrays, lists and strings (this file is not a genuine CIFAR batch)")


def _empty_reconstruct(reconstruct):
    """NumPy pickles an array as _reconstruct(ndarray, (0,), ...) followed by its state (shape,
    dtype, bytes), which NumPy checks against the bytes really there.  A crafted file could
    instead ask _reconstruct for a huge shape and never fill it: only empty shells pass."""
    def guarded(subtype, shape, dtype):
        if math.prod(shape) != 0:
            raise pickle.UnpicklingError(f"refused an array of shape {tuple(shape)} created without "
                                         "its data (not how NumPy pickles arrays)")
        return reconstruct(subtype, shape, dtype)
    return guarded


def _unpickle(raw, where):
    try:
        return _SafeUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except pickle.UnpicklingError as exc:
        raise ValueError(f"{where}: {exc}") from None
    except Exception as exc:  # truncated / corrupt
        raise ValueError(f"{where}: not a readable CIFAR batch ({type(exc).__name__}: {exc}); "
                         "download the archive again") from None


def _cifar_source(name, data_dir):
    """A function file -> bytes over the archive or folder found at data_dir."""
    info = ARCHIVES[name]
    if not os.path.exists(data_dir):
        raise FileNotFoundError(f"{data_dir} does not exist (expected {info['file']} or {info['folder']}/ in it)")
    candidates = [data_dir, os.path.join(data_dir, info["folder"])]
    for folder in candidates:
        if os.path.isdir(folder) and os.path.exists(os.path.join(folder, _CIFAR_FILES[name][0])):
            def read(f, folder=folder):
                p = os.path.join(folder, f)
                if not os.path.exists(p):
                    raise FileNotFoundError(f"{p} is missing: the {name} folder is incomplete")
                with open(p, "rb") as fh:
                    return fh.read(), p
            return read
    archive = data_dir if os.path.isfile(data_dir) else os.path.join(data_dir, info["file"])
    if os.path.isfile(archive):
        try:
            tar = tarfile.open(archive, "r:gz")
            members = {os.path.basename(m.name): m for m in tar.getmembers() if m.isfile()}
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise ValueError(f"{archive}: damaged or truncated archive ({exc}); download it again") from None

        def read(f):
            if f not in members:
                raise FileNotFoundError(f"{archive} has no {info['folder']}/{f}: not the official archive")
            try:
                return tar.extractfile(members[f]).read(), f"{archive}:{f}"
            except (tarfile.TarError, OSError, EOFError) as exc:
                raise ValueError(f"{archive}: damaged or truncated ({exc}); download it again") from None
        return read
    raise FileNotFoundError(f"neither {info['file']} nor {info['folder']}/ found in {data_dir}; "
                            f"download it with imgclf.datasets.fetch({name!r}, {data_dir!r})")


def _cifar_batch(read, f, label_keys):
    """One batch: uint8 images (N, 32, 32, 3) and, for each label key, int64 labels checked
    against its number of classes (label_keys: {key: n_classes})."""
    raw, where = read(f)
    d = _unpickle(raw, where)
    if not isinstance(d, dict) or b"data" not in d:
        raise ValueError(f"{where}: not a CIFAR batch (no 'data' entry)")
    X = np.asarray(d[b"data"])
    if X.ndim != 2 or X.shape[1] != 3072:
        raise ValueError(f"{where}: data has shape {X.shape}, expected (N, 3072)")
    if X.dtype != np.uint8:
        # the official batches hold uint8; integers in [0, 255] are converted, anything else
        # (floats, negative or larger values) would wrap around silently
        if X.dtype.kind not in "iu" or (X.size and (int(X.min()) < 0 or int(X.max()) > 255)):
            raise ValueError(f"{where}: pixels must be integers in [0, 255] (uint8), got dtype {X.dtype}"
                             + (f" with values in [{X.min()}, {X.max()}]" if X.size and X.dtype.kind in "iuf" else ""))
        X = X.astype(np.uint8)
    X = X.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()
    ys = []
    for key in label_keys:
        if key not in d:
            raise ValueError(f"{where}: no {key.decode()} entry")
        y = np.asarray(d[key])
        if y.ndim != 1 or y.shape != (X.shape[0],):
            raise ValueError(f"{where}: {key.decode()} has shape {y.shape} for {X.shape[0]} images")
        if y.size and y.dtype.kind not in "iu":
            raise ValueError(f"{where}: {key.decode()} must be integer class indices, got dtype {y.dtype}")
        n_classes = label_keys[key]
        if y.size and (int(y.min()) < 0 or int(y.max()) >= n_classes):
            raise ValueError(f"{where}: {key.decode()} must lie in [0, {n_classes}), "
                             f"got values in [{y.min()}, {y.max()}]")
        ys.append(y.astype(np.int64))
    return X, ys


def _names(raw):
    return [v.decode() if isinstance(v, bytes) else str(v) for v in raw]


def _load_cifar(name, data_dir):
    read = _cifar_source(name, data_dir)
    if name == "cifar10":
        parts = [_cifar_batch(read, f"data_batch_{i}", {b"labels": 10}) for i in range(1, 6)]
        Xtr = np.concatenate([p[0] for p in parts])
        ytr = np.concatenate([p[1][0] for p in parts])
        Xte, (yte,) = _cifar_batch(read, "test_batch", {b"labels": 10})
        raw, where = read("batches.meta")
        meta = _unpickle(raw, where)
        return Dataset("cifar10", Xtr, ytr, Xte, yte, _names(meta[b"label_names"]))
    keys = {b"fine_labels": 100, b"coarse_labels": 20}
    Xtr, (ytr, ctr) = _cifar_batch(read, "train", keys)
    Xte, (yte, cte) = _cifar_batch(read, "test", keys)
    raw, where = read("meta")
    meta = _unpickle(raw, where)
    return Dataset("cifar100", Xtr, ytr, Xte, yte, _names(meta[b"fine_label_names"]),
                   _names(meta[b"coarse_label_names"]), ctr, cte)


# ---- image folders --------------------------------------------------------------------------

_IMAGE_EXT = (".png", ".jpg", ".jpeg")


def load_image_folder(path: str | os.PathLike, size: tuple[int, int] = (32, 32), test_size: float = 0.2,
                      random_state: int | None = 0) -> Dataset:
    """Images in ``path/<class name>/*.png|jpg``, resized to ``size`` (width, height) with
    Pillow, as RGB uint8 (N, H, W, 3).  Class names are the sorted subfolder names.  A file
    that cannot be read raises an error that names it (nothing is dropped silently).
    There is no official split: a stratified ``test_size`` share is held out as the test set."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover
        raise ImportError("load_image_folder needs Pillow: pip install pillow") from None
    if not os.path.isdir(path):
        raise FileNotFoundError(f"image folder {path} does not exist")
    classes = sorted(d for d in os.listdir(path) if os.path.isdir(os.path.join(path, d)))
    if len(classes) < 2:
        raise ValueError(f"{path} must hold one subfolder per class (found {len(classes)})")
    w, h = size
    X, y, bad = [], [], []
    for ci, c in enumerate(classes):
        files = sorted(f for f in os.listdir(os.path.join(path, c)) if f.lower().endswith(_IMAGE_EXT))
        if not files:
            raise ValueError(f"class folder {os.path.join(path, c)} holds no PNG/JPEG images")
        for f in files:
            p = os.path.join(path, c, f)
            try:
                with Image.open(p) as im:
                    X.append(np.asarray(im.convert("RGB").resize((w, h), Image.BILINEAR), dtype=np.uint8))
                y.append(ci)
            except Exception as exc:
                bad.append(f"{p} ({type(exc).__name__}: {exc})")
    if bad:
        raise ValueError(f"{len(bad)} image(s) could not be read:\n  " + "\n  ".join(bad[:20]))
    X, y = np.stack(X), np.asarray(y, dtype=np.int64)
    Xtr, Xte, ytr, yte = train_val_split(X, y, test_size, stratify=True, random_state=random_state)
    return Dataset(os.path.basename(os.path.normpath(path)), Xtr, ytr, Xte, yte, classes)


# ---- splits ----------------------------------------------------------------------------------

def train_val_split(X: ArrayLike, y: ArrayLike, val_size: float = 0.1, stratify: bool = True,
                    random_state: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(X_train, X_val, y_train, y_val)``: hold out ``val_size`` (a fraction or a count),
    with the class proportions kept when ``stratify``.  Wraps scikit-learn's
    train_test_split."""
    from sklearn.model_selection import train_test_split

    y = np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
    return train_test_split(X, y, test_size=val_size, stratify=y if stratify else None,
                            random_state=random_state)


# ---- downloads --------------------------------------------------------------------------------

def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(name: str, cache_dir: str | os.PathLike, url: str | None = None, sha256: str | None = None,
          progress: bool = True) -> str:
    """Download the official archive of ``name`` ("cifar10" or "cifar100") into
    ``cache_dir``, check its SHA-256, unpack it, and return the folder to pass to
    :func:`load` as data_dir.

    The download goes to a temporary file renamed into place only once its checksum
    matches, and the archive is unpacked into a temporary folder renamed into place at the
    end: an interrupted run never leaves something that looks complete.  A cached, verified
    copy is reused.  ``url`` / ``sha256`` override the official ones (mirrors).
    """
    if name not in ARCHIVES:
        raise ValueError(f"fetch knows {tuple(ARCHIVES)}; got {name!r} (Fashion-MNIST: "
                         "apt-get install dataset-fashion-mnist; digits ships with scikit-learn)")
    info = ARCHIVES[name]
    url = url or info["url"]
    sha256 = (sha256 or info["sha256"]).lower()
    os.makedirs(cache_dir, exist_ok=True)
    folder = os.path.join(cache_dir, info["folder"])
    archive = os.path.join(cache_dir, info["file"])
    if os.path.isdir(folder) and os.path.exists(os.path.join(folder, ".complete")):
        return cache_dir
    if not (os.path.isfile(archive) and _sha256(archive) == sha256):
        fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".download-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as resp:
                total = int(resp.headers.get("Content-Length") or 0) or None
                bar = None
                if progress:
                    from tqdm.auto import tqdm

                    bar = tqdm(total=total, unit="B", unit_scale=True, desc=info["file"], leave=False)
                for chunk in iter(lambda: resp.read(1 << 20), b""):
                    out.write(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
                if bar is not None:
                    bar.close()
            got = _sha256(tmp)
            if got != sha256:
                raise ValueError(f"checksum mismatch for {url}: SHA-256 {got}, expected {sha256}; "
                                 "the download is corrupt or the mirror serves another file; try again")
            os.replace(tmp, archive)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    staging = tempfile.mkdtemp(dir=cache_dir, prefix=".unpack-")
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for m in tar.getmembers():
                target = os.path.realpath(os.path.join(staging, m.name))
                if not target.startswith(os.path.realpath(staging) + os.sep) or not (m.isfile() or m.isdir()):
                    raise ValueError(f"{archive}: unsafe member {m.name!r}; refusing to unpack")
            tar.extractall(staging)
        src = os.path.join(staging, info["folder"])
        if not os.path.isdir(src):
            raise ValueError(f"{archive} has no {info['folder']}/ folder: not the official archive")
        open(os.path.join(src, ".complete"), "w").close()
        if os.path.isdir(folder):
            shutil.rmtree(folder)  # an incomplete earlier unpack
        os.replace(src, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return cache_dir
