"""A plain scikit-learn script (no imgclf in it): kNN on Fashion-MNIST with L1 distances.

    python bench/sklearn_fashion_knn.py [--queries N] [--dtype uint8|float32] [--out preds.npy]
    python -m imgclf.sklearn bench/sklearn_fashion_knn.py [same arguments]

The second line runs the same file with scikit-learn patched by imgclf.  The images are
read as uint8 from the IDX files of the Debian package dataset-fashion-mnist; with
--dtype float32 they are converted first (scikit-learn's other L1 path: its
multithreaded ArgKmin takes float32/float64, uint8 goes through scipy's cdist).
"""
import argparse
import gzip
import os
import time

import numpy as np
from sklearn.neighbors import KNeighborsClassifier

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(name):
    with gzip.open(os.path.join(DATA, name)) as f:
        raw = f.read()
    ndim = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", type=int, default=1000, help="test images to classify")
    ap.add_argument("--dtype", default="uint8", choices=["uint8", "float32"], help="pixel type given to fit/predict")
    ap.add_argument("--out", help="save the predictions here (.npy)")
    args = ap.parse_args()
    X_train = read_idx("train-images-idx3-ubyte.gz").reshape(60000, -1)
    y_train = read_idx("train-labels-idx1-ubyte.gz")
    X_test = read_idx("t10k-images-idx3-ubyte.gz").reshape(10000, -1)[: args.queries]
    y_test = read_idx("t10k-labels-idx1-ubyte.gz")[: args.queries]
    X_train, X_test = X_train.astype(args.dtype), X_test.astype(args.dtype)

    t0 = time.perf_counter()
    clf = KNeighborsClassifier(n_neighbors=5, metric="manhattan")
    clf.fit(X_train, y_train)
    pred = clf.predict(X_test)
    seconds = time.perf_counter() - t0
    print(f"{type(clf).__module__}.{type(clf).__name__}: {len(pred)} queries, "
          f"{X_test.dtype}, accuracy {np.mean(pred == y_test):.4f}, fit+predict {seconds:.3f} s")
    if args.out:
        np.save(args.out, pred)


if __name__ == "__main__":
    main()
