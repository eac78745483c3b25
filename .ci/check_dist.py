"""Check a repaired imgclf wheel and its sdist against the source tree; print what they hold.

usage: python .ci/check_dist.py WHEEL SDIST   (run from the source tree: it asks git which
files the package and the sdist must contain)

Fails (exit 1) when the wheel lacks a file of python/imgclf, the compiled CPU module, the
vendored OpenMP runtime, the license or the typing files, when it contains imgclf._cuda
(the CPU wheel never does), when its tag is not manylinux, or when the sdist lacks a file
that git tracks under csrc/, python/, tests/ or at the top level of the build.
"""
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path


def tracked(*paths):
    out = subprocess.run(["git", "ls-files", "--", *paths], check=True, capture_output=True, text=True)
    return [line for line in out.stdout.splitlines() if line]


def main(wheel, sdist):
    wheel, sdist = Path(wheel), Path(sdist)
    problems = []
    names = zipfile.ZipFile(wheel).namelist()
    tag = wheel.name.split("-", 2)[2][:-4]
    libs = sorted(n for n in names if n.startswith("imgclf.libs/") and not n.endswith("/"))
    print(f"wheel:   {wheel.name}")
    print(f"tag:     {tag}")
    print(f"size:    {wheel.stat().st_size / 1e6:.2f} MB")
    print(f"vendors: {', '.join(Path(n).name for n in libs) or 'nothing'}")
    if "manylinux" not in tag:
        problems.append(f"the tag {tag} is not a manylinux tag")
    for src in tracked("python/imgclf"):
        if src.split("/", 1)[1] not in names:
            problems.append(f"{src} is not in the wheel")
    must = {
        "the compiled CPU module imgclf/_cpu*.so": lambda n: n.startswith("imgclf/_cpu") and n.endswith(".so"),
        "the vendored OpenMP runtime imgclf.libs/libgomp*": lambda n: n.startswith("imgclf.libs/libgomp"),
        "LICENSE in the .dist-info": lambda n: ".dist-info/" in n and n.endswith("LICENSE"),
        "imgclf/py.typed": lambda n: n == "imgclf/py.typed",
    }
    for what, ok in must.items():
        if not any(ok(n) for n in names):
            problems.append(f"the wheel lacks {what}")
    if any(n.startswith("imgclf/_cuda") and n.endswith(".so") for n in names):
        problems.append("the CPU wheel contains imgclf._cuda (build it with IMGCLF_CUDA=OFF)")

    members = tarfile.open(sdist).getnames()
    top = members[0].split("/", 1)[0]
    inside = {m.split("/", 1)[1] for m in members if "/" in m}
    print(f"sdist:   {sdist.name}, {len(inside)} files, {sdist.stat().st_size / 1e6:.2f} MB")
    for src in tracked("csrc", "python", "tests", "CMakeLists.txt", "pyproject.toml", "README.md",
                       "LICENSE", "CHANGELOG.md"):
        if src not in inside:
            problems.append(f"{src} is not in the sdist ({top})")
    for p in problems:
        print(f"CI: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
