"""``python -m pymcd``: the same as the ``pymcd`` console script (exit status = main's result)."""

import sys

from pymcd.cli import main

if __name__ == "__main__":
    sys.exit(main())
