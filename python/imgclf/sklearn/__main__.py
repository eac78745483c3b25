"""Run an unmodified script or module with scikit-learn patched by imgclf.

    python -m imgclf.sklearn [-v] script.py [args ...]
    python -m imgclf.sklearn [-v] -m module [args ...]      (e.g. -m pytest ...)

The script sees the arguments after its name in ``sys.argv``, as if it were run by
``python`` itself.  ``-v`` logs, on stderr, which code (imgclf or scikit-learn) answered
each call.
"""
from __future__ import annotations

import logging
import os
import runpy
import sys

USAGE = ("usage: python -m imgclf.sklearn [-v] script.py [args ...]\n"
         "       python -m imgclf.sklearn [-v] -m module [args ...]\n")


def main(argv=None):
    """Patch scikit-learn, then run the script or module named in argv."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        sys.stdout.write(USAGE + "\n" + __doc__.split("\n\n", 2)[2])
        return 0
    if argv and argv[0] == "-v":
        logging.basicConfig(format="%(name)s: %(message)s")
        logging.getLogger("imgclf.sklearn").setLevel(logging.DEBUG)
        argv = argv[1:]
    if not argv or (argv[0] == "-m" and len(argv) < 2) or (argv[0].startswith("-") and argv[0] != "-m"):
        sys.stderr.write(USAGE)
        return 2
    from imgclf.sklearn import patch_sklearn

    if argv[0] == "-m":
        module = argv[1]
        sys.argv = [module, *argv[2:]]  # runpy puts the module's file name in argv[0]
        patch_sklearn()
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return 0
    script = argv[0]
    if not os.path.exists(script):
        sys.stderr.write(f"python -m imgclf.sklearn: can't open file {script!r}: no such file\n")
        return 2
    sys.argv = argv
    sys.path[0] = os.path.dirname(os.path.abspath(script))  # as `python script.py` does
    patch_sklearn()
    runpy.run_path(script, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
