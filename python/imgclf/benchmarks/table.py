"""The ratio table of a pytest-benchmark JSON file: one row per group, imgclf's median time
and, for every other implementation, its median and how many times imgclf's it is.

    python -m imgclf.benchmarks.table out.json [--markdown] [--require-peers]

Implementations come from ``extra_info["impl"]`` (a user's own entries appear as their own
columns).  Where one implementation has several entries in a group (several configs), its
fastest counts.  ``--require-peers`` exits with status 1 unless every group holds an
imgclf entry and at least one other.
"""
from __future__ import annotations

import argparse
import json
import sys

ORDER = ("imgclf", "numpy", "scipy", "sklearn", "torch", "faiss")


def fmt_time(s):
    for unit, f in (("s", 1.0), ("ms", 1e3), ("us", 1e6)):
        if s * f >= 1:
            return f"{s * f:.3g} {unit}"
    return f"{s * 1e9:.3g} ns"


def load(path):
    """{group: {impl: (median seconds, config, threads)}} from a --benchmark-json file."""
    with open(path) as f:
        data = json.load(f)
    groups = {}
    for b in data.get("benchmarks", []):
        info = b.get("extra_info", {})
        impl = info.get("impl")
        if impl is None:
            continue
        g = groups.setdefault(b.get("group") or b["name"], {})
        med = b["stats"]["median"]
        if impl not in g or med < g[impl][0]:
            g[impl] = (med, info.get("config", ""), info.get("threads"))
    return groups, data.get("machine_info", {})


def table(groups):
    """Markdown lines of the ratio table, and the groups where another implementation is
    faster than imgclf (group, impl, ratio)."""
    impls = [i for i in ORDER if any(i in g for g in groups.values())]
    impls += sorted({i for g in groups.values() for i in g} - set(impls))
    peers = [i for i in impls if i != "imgclf"]
    lines = ["| group | imgclf | " + " | ".join(peers) + " | fastest other |",
             "|---|---:|" + "---:|" * len(peers) + "---|"]
    wins = []
    for name in sorted(groups):
        g = groups[name]
        mine = g.get("imgclf", (None,))[0]
        cells = []
        for p in peers:
            if p not in g:
                cells.append("-")
            elif mine is None:
                cells.append(fmt_time(g[p][0]))
            else:
                r = g[p][0] / mine
                cells.append(f"{r:.2f}x" if r >= 1 else f"**{r:.2f}x**")
        others = [(g[p][0], p) for p in peers if p in g]
        if mine is not None and others:
            t, p = min(others)
            best = f"{p} {t / mine:.2f}x"
            if t < mine:
                wins.append((name, p, t / mine))
        else:
            best = "-"
        lines.append(f"| {name} | {fmt_time(mine) if mine is not None else '-'} | " + " | ".join(cells)
                     + f" | {best} |")
    return lines, wins


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json", help="a pytest --benchmark-json output file")
    ap.add_argument("--require-peers", action="store_true",
                    help="exit 1 unless every group has an imgclf entry and another")
    a = ap.parse_args(argv)
    groups, machine = load(a.json)
    if not groups:
        print(f"{a.json}: no benchmarks with extra_info['impl']", file=sys.stderr)
        return 1
    lines, wins = table(groups)
    threads = sorted({v[2] for g in groups.values() for v in g.values() if v[2] is not None})
    cpu = machine.get("cpu", {}).get("brand_raw", "")
    print(f"Median time of imgclf; for the others, their median / imgclf's (above 1: imgclf is faster). "
          f"Threads: {', '.join(map(str, threads)) or '?'}; imgclf SIMD: {machine.get('imgclf_simd', '?')}"
          + (f"; CPU: {cpu}" if cpu else "") + "\n")
    print("\n".join(lines))
    if wins:
        print("\nFaster than imgclf: " + "; ".join(f"{p} in '{g}' ({r:.2f}x)" for g, p, r in wins))
    incomplete = [n for n, g in groups.items() if "imgclf" not in g or len(g) < 2]
    if incomplete:
        print("\nGroups without imgclf or without another implementation: " + "; ".join(incomplete))
        if a.require_peers:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
