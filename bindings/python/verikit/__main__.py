"""`python -m verikit ...`: the verikit command-line program (cli/) that this package ships next
to libverikit, run in place of this process with the same arguments: one implementation, the
same program `cmake --install` puts in bin/ (see `python -m verikit --help`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main() -> None:
    binary = Path(__file__).resolve().parent / "verikit"
    if not os.access(binary, os.X_OK):
        sys.stderr.write(f"verikit: the command-line program is missing from this package ({binary}): "
                         "reinstall verikit (pip install --force-reinstall verikit)\n")
        sys.exit(2)
    os.execv(binary, ["verikit", *sys.argv[1:]])


if __name__ == "__main__":
    main()
