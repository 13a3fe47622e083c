# SPDX-License-Identifier: MIT
"""``python -m fastmc``: the same command line as the ``fastmc`` script (see fastmc.cli)."""

from fastmc.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
