#!/usr/bin/env bash
# The Python package tested as users install it: a fresh virtual environment, `pip install .`
# (scikit-build-core + pybind11 from PyPI, against the system's libsodium/hiredis/OpenSSL),
# then pytest against the installed copy (not the source tree).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/build/py-venv"
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q "$root" pytest mypy
[ "${1:-}" = "--install-only" ] && exit 0  # scripts/test_e2e.sh: the package, not the tests
cd "$root/tests/python"  # the installed package is imported, not bindings/python
"$venv/bin/python" -m pytest -q -p no:cacheprovider .
