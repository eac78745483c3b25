"""Side by side: an unmodified scikit-learn script, plain and patched by imgclf.

    python3 bench/sklearn_report.py [--queries 1000] [--repeat 3]

Runs bench/sklearn_fashion_knn.py (KNeighborsClassifier(n_neighbors=5, metric="manhattan")
on Fashion-MNIST uint8 images) as `python script.py` and as
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


def run(patched, queries, out):
    cmd = [sys.executable, *(["-m", "imgclf.sklearn"] if patched else []), SCRIPT,
           "--queries", str(queries), "--out", out]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    line = r.stdout.strip().splitlines()[-1]
    inner = float(re.search(r"fit\+predict ([0-9.]+) s", line).group(1))
    acc = float(re.search(r"accuracy ([0-9.]+)", line).group(1))
    return {"cmd": " ".join(cmd[1:]), "wall_s": wall, "fit_predict_s": inner, "accuracy": acc,
            "class": line.split(":")[0]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", help="write the raw runs here")
    args = ap.parse_args()
    runs = {"sklearn": [], "imgclf": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeat):
            order = ["sklearn", "imgclf"] if r % 2 == 0 else ["imgclf", "sklearn"]
            for impl in order:
                out = os.path.join(tmp, f"{impl}{r}.npy")
                runs[impl].append(run(impl == "imgclf", args.queries, out))
                print(f"round {r + 1} {impl:8s} {runs[impl][-1]['wall_s']:8.2f} s", file=sys.stderr)
            a, b = np.load(os.path.join(tmp, f"sklearn{r}.npy")), np.load(os.path.join(tmp, f"imgclf{r}.npy"))
            if not np.array_equal(a, b):
                sys.exit(f"round {r + 1}: the predictions differ on {int((a != b).sum())} of {len(a)} images")
    med = {impl: {k: statistics.median(x[k] for x in rs) for k in ("wall_s", "fit_predict_s")}
           for impl, rs in runs.items()}
    print(f"Fashion-MNIST, KNeighborsClassifier(n_neighbors=5, metric='manhattan'), uint8, "
          f"60000 train, {args.queries} queries; medians of {args.repeat} runs, each in its own process; "
          f"identical predictions in every round (accuracy {runs['imgclf'][0]['accuracy']:.4f})\n")
    print("| run as | class | process s | fit+predict s |")
    print("|---|---|---:|---:|")
    for impl in ("sklearn", "imgclf"):
        print(f"| `python {runs[impl][0]['cmd']}` | {runs[impl][0]['class']} | "
              f"{med[impl]['wall_s']:.2f} | {med[impl]['fit_predict_s']:.3f} |")
    print(f"| speedup | | {med['sklearn']['wall_s'] / med['imgclf']['wall_s']:.1f}x | "
          f"{med['sklearn']['fit_predict_s'] / med['imgclf']['fit_predict_s']:.0f}x |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"queries": args.queries, "runs": runs, "medians": med}, f, indent=1)


if __name__ == "__main__":
    main()
