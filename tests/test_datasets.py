"""Dataset loaders on files generated here in the official formats, fetch against a local
HTTP server, and the errors a damaged or missing file gives."""
import gzip
import hashlib
import http.server
import os
import pickle
import tarfile
import threading
import tracemalloc

import numpy as np
import pytest
from imgclf import datasets


def _batch(rng, n, keys):
    d = {b"batch_label": b"generated", b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
         b"filenames": [b"img%d.png" % i for i in range(n)]}
    for k, hi in keys.items():
        d[k] = [int(v) for v in rng.integers(0, hi, n)]
    return d


def _write_cifar10(root, rng, n=20):
    folder = os.path.join(root, "cifar-10-batches-py")
    os.makedirs(folder)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batches[name] = _batch(rng, n, {b"labels": 10})
        with open(os.path.join(folder, name), "wb") as f:
            pickle.dump(batches[name], f, protocol=2)
    with open(os.path.join(folder, "batches.meta"), "wb") as f:
        pickle.dump({b"label_names": [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog",
                                      b"frog", b"horse", b"ship", b"truck"], b"num_vis": 3072}, f, protocol=2)
    return folder, batches


def _tar(folder, archive):
    with tarfile.open(archive, "w:gz") as t:
        t.add(folder, arcname=os.path.basename(folder))


def test_cifar10_folder_and_archive(tmp_path, rng):
    folder, batches = _write_cifar10(str(tmp_path / "a"), rng)
    for where in (str(tmp_path / "a"), folder):
        ds = datasets.load("cifar10", where)
        assert ds.X_train.shape == (100, 32, 32, 3) and ds.X_train.dtype == np.uint8
        assert ds.X_test.shape == (20, 32, 32, 3) and ds.classes[3] == "cat"
        # channel-first rows become H x W x C: pixel (r, c) of channel ch is data[ch*1024 + r*32 + c]
        raw = batches["data_batch_2"][b"data"][5]
        assert ds.X_train[25, 7, 9, 2] == raw[2 * 1024 + 7 * 32 + 9]
        np.testing.assert_array_equal(ds.y_train[20:40], batches["data_batch_2"][b"labels"])
    os.makedirs(tmp_path / "b")
    _tar(folder, str(tmp_path / "b" / "cifar-10-python.tar.gz"))
    ds2 = datasets.load("cifar10", str(tmp_path / "b"))
    np.testing.assert_array_equal(ds2.X_train, ds.X_train)


def test_cifar100_fine_and_coarse(tmp_path, rng):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    tr = _batch(rng, 30, {b"fine_labels": 100, b"coarse_labels": 20})
    te = _batch(rng, 10, {b"fine_labels": 100, b"coarse_labels": 20})
    for name, d in [("train", tr), ("test", te)]:
        (folder / name).write_bytes(pickle.dumps(d, protocol=2))
    (folder / "meta").write_bytes(pickle.dumps({b"fine_label_names": [b"c%d" % i for i in range(100)],
                                                b"coarse_label_names": [b"s%d" % i for i in range(20)]}))
    ds = datasets.load("cifar100", str(tmp_path))
    assert len(ds.classes) == 100 and len(ds.coarse_classes) == 20
    np.testing.assert_array_equal(ds.y_train, tr[b"fine_labels"])
    np.testing.assert_array_equal(ds.y_test_coarse, te[b"coarse_labels"])


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_crafted_pickle_is_refused(tmp_path, rng):
    folder, _ = _write_cifar10(str(tmp_path), rng)
    with open(os.path.join(folder, "data_batch_3"), "wb") as f:
        pickle.dump({b"data": _Evil(), b"labels": []}, f, protocol=2)
    with pytest.raises(ValueError, match="refused to load .*system"):
        datasets.load("cifar10", folder)


def test_damaged_and_missing_files(tmp_path, rng):
    with pytest.raises(FileNotFoundError, match="fetch"):
        datasets.load("cifar10", str(tmp_path))
    with pytest.raises(ValueError, match="data_dir"):
        datasets.load("cifar10")
    folder, _ = _write_cifar10(str(tmp_path / "x"), rng)
    raw = open(os.path.join(folder, "test_batch"), "rb").read()
    open(os.path.join(folder, "test_batch"), "wb").write(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="test_batch"):
        datasets.load("cifar10", folder)
    open(os.path.join(folder, "test_batch"), "wb").write(raw)
    os.remove(os.path.join(folder, "batches.meta"))
    with pytest.raises(FileNotFoundError, match="batches.meta"):
        datasets.load("cifar10", folder)
    # IDX: wrong magic, truncated, missing
    idx = tmp_path / "bad-idx"
    idx.write_bytes(b"\x01\x02\x03\x04" + b"\0" * 20)
    with pytest.raises(ValueError, match="magic"):
        datasets.read_idx(str(idx))
    good = b"\x00\x00\x08\x01" + (5).to_bytes(4, "big") + bytes(range(5))
    (tmp_path / "ok.gz").write_bytes(gzip.compress(good))
    np.testing.assert_array_equal(datasets.read_idx(str(tmp_path / "ok.gz")), np.arange(5))
    (tmp_path / "short").write_bytes(good[:-2])
    with pytest.raises(ValueError, match="truncated"):
        datasets.read_idx(str(tmp_path / "short"))
    with pytest.raises(FileNotFoundError, match="nothere"):
        datasets.read_idx(str(tmp_path / "nothere"))
    with pytest.raises(ValueError, match="unknown dataset"):
        datasets.load("imagenet")


def test_image_folder(tmp_path, rng):
    from PIL import Image

    for c, color in [("cats", (200, 30, 30)), ("dogs", (30, 30, 200))]:
        (tmp_path / c).mkdir()
        for i in range(5):
            arr = np.clip(np.array(color) + rng.integers(-20, 20, (40, 50, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(arr).save(tmp_path / c / f"{i}.{'png' if i % 2 else 'jpg'}")
    ds = datasets.load_image_folder(str(tmp_path), size=(16, 12), test_size=0.2)
    assert ds.classes == ["cats", "dogs"]
    assert ds.X_train.shape == (8, 12, 16, 3) and ds.X_test.shape == (2, 12, 16, 3)
    red = ds.X_train[ds.y_train == 0][..., 0].mean()
    assert red > 150  # cats are red
    (tmp_path / "dogs" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="broken.png"):
        datasets.load_image_folder(str(tmp_path))


def test_train_val_split_stratified(rng):
    X = rng.standard_normal((200, 3))
    y = np.repeat([0, 1, 2, 3], 50)
    Xa, Xv, ya, yv = datasets.train_val_split(X, y, 0.2, random_state=0)
    assert len(yv) == 40 and (np.bincount(yv) == 10).all()
    with pytest.raises(ValueError, match="samples"):
        datasets.train_val_split(X, y[:10])


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(root), **kw)

        def log_message(self, *a):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    th = threading.Thread(target=httpd.serve_forever, daemon=True)
    th.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_fetch_verifies_unpacks_and_caches(tmp_path, rng, server):
    root, base = server
    folder, _ = _write_cifar10(str(tmp_path / "src"), rng)
    _tar(folder, str(root / "cifar-10-python.tar.gz"))
    sha = hashlib.sha256((root / "cifar-10-python.tar.gz").read_bytes()).hexdigest()
    cache = tmp_path / "cache"
    url = f"{base}/cifar-10-python.tar.gz"
    with pytest.raises(ValueError, match="checksum mismatch"):
        datasets.fetch("cifar10", str(cache), url=url, sha256="0" * 64, progress=False)
    assert not (cache / "cifar-10-batches-py").exists()  # nothing half-done looks complete
    assert not [p for p in os.listdir(cache) if p.endswith(".part")]
    out = datasets.fetch("cifar10", str(cache), url=url, sha256=sha, progress=False)
    ds = datasets.load("cifar10", out)
    assert ds.X_train.shape == (100, 32, 32, 3)
    (root / "cifar-10-python.tar.gz").unlink()  # the cache is reused: no download needed
    assert datasets.fetch("cifar10", str(cache), url=url, sha256=sha, progress=False) == out
    with pytest.raises(ValueError, match="fetch knows"):
        datasets.fetch("fashion-mnist", str(cache))


# ---- files that lie ------------------------------------------------------------

def test_idx_header_with_huge_dims_names_the_file(tmp_path):
    p = tmp_path / "evil-idx4-ubyte"
    p.write_bytes(bytes([0, 0, 8, 4]) + (65536).to_bytes(4, "big") * 4 + b"\0" * 16)
    with pytest.raises(ValueError, match="evil-idx4-ubyte"):
        datasets.read_idx(str(p))


def _cifar_dir(tmp_path, data, labels, name="cifar-10-batches-py"):
    d = tmp_path / name
    d.mkdir()
    for f in ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"]:
        with open(d / f, "wb") as fh:
            pickle.dump({b"data": data, b"labels": labels}, fh, protocol=2)
    with open(d / "batches.meta", "wb") as fh:
        pickle.dump({b"label_names": [f"c{i}".encode() for i in range(10)]}, fh, protocol=2)
    return str(tmp_path)


@pytest.mark.parametrize("labels", [[-7, 0], [255, 0]])
def test_cifar_labels_out_of_range_are_refused(tmp_path, labels):
    data = np.zeros((2, 3072), np.uint8)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\)"):
        datasets.load("cifar10", _cifar_dir(tmp_path, data, labels))


@pytest.mark.parametrize("data", [np.full((2, 3072), 300.7), np.full((2, 3072), -1.0),
                                  np.full((2, 3072), 300, np.int64)])
def test_cifar_pixels_that_would_wrap_are_refused(tmp_path, data):
    with pytest.raises(ValueError, match=r"pixels must be integers in \[0, 255\]"):
        datasets.load("cifar10", _cifar_dir(tmp_path, data, [0, 1]))


class _HugeShell:
    """Pickles as NumPy's array constructor asked for 300,040 images, with no data."""

    def __reduce__(self):
        from numpy._core.multiarray import _reconstruct

        return _reconstruct, (np.ndarray, (300040, 3072), b"B")


def test_cifar_batch_claiming_huge_data_allocates_nothing(tmp_path):
    raw = pickle.dumps({b"data": _HugeShell(), b"labels": [0]}, protocol=2)
    assert len(raw) < 400
    d = tmp_path / "cifar-10-batches-py"
    d.mkdir()
    (d / "data_batch_1").write_bytes(raw)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="refused an array of shape"):
            datasets.load("cifar10", str(tmp_path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50e6, f"{peak / 1e6:.0f} MB allocated for a {len(raw)}-byte file"


def test_real_cifar_pickles_still_load(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, (4, 3072), dtype=np.uint8)
    ds = datasets.load("cifar10", _cifar_dir(tmp_path, data, [0, 9, 3, 4]))
    assert ds.X_train.shape == (20, 32, 32, 3) and ds.X_train.dtype == np.uint8
    np.testing.assert_array_equal(ds.X_train[0], data[0].reshape(3, 32, 32).transpose(1, 2, 0))
