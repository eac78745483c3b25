"""What a packager and a new user rely on: one version everywhere, the license and typing
files in the install, stubs that match the compiled modules, `python -m imgclf`, a loud
warning when the compiled module cannot load, and a plain GPU line in `imgclf info`."""
import ast
import importlib
import importlib.machinery
import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import imgclf
import pytest
from imgclf import backend

from .helpers import source_dir

PKG = Path(imgclf.__file__).parent


def _cli(*args, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "imgclf", *args], capture_output=True, text=True,
                          timeout=120, env=env, cwd=cwd)


def test_version_has_one_source():
    meta = importlib.metadata.version("imgclf")
    assert imgclf.__version__ == meta
    assert re.fullmatch(r"\d+\.\d+\.\d+([.-]?\w+)*", meta), meta
    if backend.cpu_available():
        assert importlib.import_module("imgclf._cpu").__version__ == meta  # compiled in from the same metadata
    r = _cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"imgclf {meta}", r.stdout + r.stderr
    scripts = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="console_scripts")
               if ep.name == "imgclf"}
    assert scripts == {"imgclf": "imgclf.cli:main"}


def test_python_m_imgclf_info():
    r = _cli("info")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"imgclf {imgclf.__version__}")
    assert "CPU backend:" in r.stdout and "GPU:" in r.stdout


def test_license_and_typing_files_are_installed():
    dist = importlib.metadata.distribution("imgclf")
    names = [str(f) for f in dist.files or []]
    lic = [n for n in names if n.endswith("LICENSE")]
    assert lic, f"no LICENSE among the installed files: {names[:20]}"
    text = Path(dist.locate_file(lic[0])).read_text()
    assert "MIT License" in text and "WITHOUT WARRANTY" in text
    assert dist.metadata["License-Expression"] == "MIT"
    assert (PKG / "py.typed").is_file()
    for stub in ("_cpu.pyi", "_cuda.pyi"):
        assert (PKG / stub).is_file(), stub
    assert (PKG / "__main__.py").is_file()


def _stub_functions(path):
    """{name: [parameter names]} and {name: return annotation} of a stub file."""
    tree = ast.parse(Path(path).read_text())
    params, returns = {}, {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            kw = [a.arg for a in node.args.kwonlyargs]
            params[node.name] = [a.arg for a in node.args.args] + (["*", *kw] if kw else [])
            returns[node.name] = ast.unparse(node.returns)
    return params, returns


@pytest.mark.skipif(not backend.cpu_available(), reason="imgclf._cpu did not load")
def test_cpu_stub_matches_the_compiled_module():
    params, returns = _stub_functions(PKG / "_cpu.pyi")
    mod = importlib.import_module("imgclf._cpu")
    public = {n for n in dir(mod) if not n.startswith("_") and callable(getattr(mod, n))
              and not isinstance(getattr(mod, n), type)}  # (the enums are classes)
    assert set(params) == public
    for name in public:
        sig = getattr(mod, name).__doc__.splitlines()[0]  # pybind11: "name(a: T, b: U) -> R"
        m = re.fullmatch(rf"{name}\((.*)\) -> (.+)", sig)
        assert m, sig
        names = [p.split(":")[0].strip() for p in re.split(r",\s*(?![^\[]*\])", m.group(1)) if p]
        assert params[name] == names, (name, params[name], names)
        ret = m.group(2).replace("typing.", "")
        assert returns[name] == ret, (name, returns[name], ret)




def test_cuda_stub_matches_the_bindings():
    """The CPU build has no imgclf._cuda to inspect, so the stub is checked against the
    binding sources (csrc/bindings/cuda/*.cpp): every m.def with its py::arg names, in order."""
    src = source_dir()
    if src is None:
        pytest.skip("the imgclf source tree is not reachable (set IMGCLF_SOURCE_DIR)")
    defs = {}
    for f in sorted((src / "csrc" / "bindings" / "cuda").glob("*.cpp")):
        # each m.def's arguments lie between it and the next m.def (lambda bodies hold none);
        # the name may start on the next line (clang-format breaks before a lambda)
        for chunk in re.split(r'\bm\.def\(\s*"', f.read_text())[1:]:
            name = chunk[: chunk.index('"')]
            defs[name] = [m.group(1) or "*" for m in re.finditer(r'py::arg\("(\w+)"\)|py::kw_only\(\)', chunk)]
    params, _ = _stub_functions(PKG / "_cuda.pyi")
    assert defs and params == defs


def _copy_without_compiled(tmp_path, broken=False):
    """A copy of the installed imgclf package without its compiled modules (or with a
    corrupt imgclf._cpu), importable from tmp_path."""
    dst = tmp_path / "imgclf"
    shutil.copytree(PKG, dst, ignore=shutil.ignore_patterns("_cpu*.so", "_cuda*.so", "__pycache__"))
    if broken:
        (dst / f"_cpu{importlib.machinery.EXTENSION_SUFFIXES[0]}").write_bytes(b"not a shared object")
    # python -S with site-packages on PYTHONPATH: no .pth files run, so an editable install's
    # import hook cannot bring the real package back in front of the copy
    site = [sysconfig.get_paths()[k] for k in ("purelib", "platlib")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *site])}
    env.pop("IMGCLF_BACKEND", None)
    return env


@pytest.mark.parametrize("broken", [False, True], ids=["missing", "corrupt"])
def test_import_warns_once_without_the_compiled_module(tmp_path, broken):
    env = _copy_without_compiled(tmp_path, broken)
    code = ("import imgclf, imgclf.ops, imgclf.backend as b, importlib; importlib.reload(imgclf.ops); "
            "import imgclf.neighbors; print(imgclf.__file__); print(b.cpu_available())")
    r = subprocess.run([sys.executable, "-S", "-W", "default", "-c", code], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(tmp_path / "imgclf" / "__init__.py"), "False"]
    assert r.stderr.count("RuntimeWarning") == 1, r.stderr
    assert "imgclf._cpu could not be loaded" in r.stderr
    assert ("ModuleNotFoundError" in r.stderr) != broken  # the reason is named
    if broken:
        assert "ImportError" in r.stderr
    assert "Fix: " in r.stderr and "pip install" in r.stderr  # and the fix
    info = subprocess.run([sys.executable, "-S", "-m", "imgclf", "info"], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120)
    assert info.returncode == 0
    assert "NumPy reference only" in info.stdout and "Fix: " in info.stdout
    # choosing the reference on purpose is not warned about
    env["IMGCLF_BACKEND"] = "numpy"
    quiet = subprocess.run([sys.executable, "-S", "-W", "default", "-c", "import imgclf"], capture_output=True,
                           text=True, env=env, cwd=tmp_path, timeout=120)
    assert quiet.returncode == 0 and "RuntimeWarning" not in quiet.stderr, quiet.stderr


def test_info_says_plainly_when_there_is_no_gpu():
    found, driver = backend.nvidia_driver()
    r = _cli("info")
    gpu = [line for line in r.stdout.splitlines() if line.startswith("GPU:")]
    assert len(gpu) == 1
    assert driver in gpu[0]
    if not found:
        assert "no NVIDIA driver on this machine" in gpu[0]
        assert "insufficient" not in gpu[0]  # no hint at an old driver where there is none
    if importlib.util.find_spec("imgclf._cuda") is None:
        assert "no imgclf._cuda" in gpu[0] or "imgclf._cuda did not load" in gpu[0]


PUBLIC_MODULES = ["imgclf", "imgclf.ops", "imgclf.backend", "imgclf.datasets", "imgclf.features", "imgclf.gradcheck",
                  "imgclf.linear", "imgclf.metrics", "imgclf.model_selection", "imgclf.neighbors", "imgclf.network",
                  "imgclf.optim", "imgclf.pipeline", "imgclf.train"]


def _public_callables():
    import inspect
    import typing

    seen = {}
    for name in PUBLIC_MODULES:
        mod = importlib.import_module(name)
        for attr in getattr(mod, "__all__", [n for n in dir(mod) if not n.startswith("_")]):
            obj = getattr(mod, attr)
            if inspect.isclass(obj) and obj.__module__.startswith("imgclf"):
                for cls in obj.__mro__:  # with the methods its imgclf base classes give it
                    if not cls.__module__.startswith("imgclf"):
                        continue
                    for meth_name, meth in vars(cls).items():
                        if (meth_name == "__init__" or not meth_name.startswith("_")) and inspect.isfunction(meth):
                            seen[f"{cls.__module__}.{cls.__qualname__}.{meth_name}"] = meth
            elif inspect.isfunction(obj) and obj.__module__.startswith("imgclf"):
                seen[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return seen, inspect, typing


def test_public_api_has_type_hints():
    """Every public function and method of the documented modules annotates its parameters
    and its return, and the annotations resolve (on the oldest supported Python too)."""
    funcs, inspect, typing = _public_callables()
    assert len(funcs) > 60
    missing = []
    for qual, f in funcs.items():
        hints = typing.get_type_hints(f)
        params = [p for p in inspect.signature(f).parameters.values() if p.name not in ("self", "cls")]
        if "return" not in hints or any(p.name not in hints for p in params):
            missing.append(qual)
    assert not missing, f"without type hints: {missing}"
