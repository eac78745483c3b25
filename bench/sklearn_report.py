"""Side by side: an unmodified scikit-learn script, plain and patched by imgclf.

    python3 bench/sklearn_report.py [--queries 1000] [--repeat 3] [--dtypes uint8,float32]

Runs bench/sklearn_fashion_knn.py (KNeighborsClassifier(n_neighbors=5, metric="manhattan")
on Fashion-MNIST, uint8 images as read, and converted to float32, which takes scikit-learn's
multithreaded L1 search) as `python script.py` and as
`python -m imgclf.sklearn script.py`, each run in a fresh process, the two alternating
(the order swapped every round), checks that both predict the same labels, and prints
the medians: the whole process (imports, reading the data, fit, predict) and the
fit+predict time the script measures itself.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "sklearn_fashion_knn.py")


def run(patched, queries, dtype, out):
    args = [*(["-m", "imgclf.sklearn"] if patched else []), os.path.relpath(SCRIPT),
            "--queries", str(queries), "--dtype", dtype]
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, *args, "--out", out], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    line = r.stdout.strip().splitlines()[-1]
    inner = float(re.search(r"fit\+predict ([0-9.]+) s", line).group(1))
    acc = float(re.search(r"accuracy ([0-9.]+)", line).group(1))
    return {"cmd": "python " + " ".join(args), "wall_s": wall, "fit_predict_s": inner, "accuracy": acc,
            "class": line.split(":")[0]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dtypes", default="uint8,float32", help="comma-separated: uint8, float32")
    ap.add_argument("--json", help="write the raw runs here")
    args = ap.parse_args()
    report = {"queries": args.queries, "repeat": args.repeat, "by_dtype": {}}
    print(f"Fashion-MNIST, KNeighborsClassifier(n_neighbors=5, metric='manhattan'), 60000 train, "
          f"{args.queries} queries; medians of {args.repeat} runs, each in its own process, plain and "
          f"patched alternating\n")
    print("| run as | class | process s | fit+predict s | same predictions |")
    print("|---|---|---:|---:|---|")
    for dtype in args.dtypes.split(","):
        runs = {"sklearn": [], "imgclf": []}
        same = True
        with tempfile.TemporaryDirectory() as tmp:
            for r in range(args.repeat):
                order = ["sklearn", "imgclf"] if r % 2 == 0 else ["imgclf", "sklearn"]
                for impl in order:
                    out = os.path.join(tmp, f"{impl}{r}.npy")
                    runs[impl].append(run(impl == "imgclf", args.queries, dtype, out))
                    print(f"{dtype} round {r + 1} {impl:8s} {runs[impl][-1]['wall_s']:8.2f} s", file=sys.stderr)
                a = np.load(os.path.join(tmp, f"sklearn{r}.npy"))
                b = np.load(os.path.join(tmp, f"imgclf{r}.npy"))
                if not np.array_equal(a, b):
                    same = False
                    print(f"{dtype} round {r + 1}: predictions differ on {int((a != b).sum())} of {len(a)} images",
                          file=sys.stderr)
        med = {impl: {k: statistics.median(x[k] for x in rs) for k in ("wall_s", "fit_predict_s")}
               for impl, rs in runs.items()}
        for impl in ("sklearn", "imgclf"):
            print(f"| `{runs[impl][0]['cmd']}` | {runs[impl][0]['class']} | {med[impl]['wall_s']:.2f} | "
                  f"{med[impl]['fit_predict_s']:.3f} | {'yes' if same else 'NO'} "
                  f"(accuracy {runs[impl][0]['accuracy']:.4f}) |")
        print(f"| {dtype}: patched is faster by | | {med['sklearn']['wall_s'] / med['imgclf']['wall_s']:.1f}x | "
              f"{med['sklearn']['fit_predict_s'] / med['imgclf']['fit_predict_s']:.0f}x | |")
        report["by_dtype"][dtype] = {"runs": runs, "medians": med, "same_predictions": same}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    if not all(v["same_predictions"] for v in report["by_dtype"].values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
