"""``python -m imgclf``: the same command line as ``imgclf`` (run, info, bench)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
