"""The installed extension is written over the C API and nothing else of the core (issue 23):
it references no C++ symbol of verikit, only verikit_* functions that libverikit exports, links
the C library (not libsodium, hiredis or OpenSSL: those are the core's), and the package ships
that library next to it, found through RPATH $ORIGIN."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import List, Set

import verikit._verikit

EXTENSION = Path(verikit._verikit.__file__)
PACKAGE = EXTENSION.parent
LIBRARY = PACKAGE / "libverikit.so.0"
ABI_LIST = Path(__file__).resolve().parent.parent / "abi" / "exported_symbols.txt"
CORE_DEPENDENCIES = ("libsodium", "libhiredis", "libssl", "libcrypto")


def run(*args: str) -> str:
    for tool in ("nm", "readelf", "ldd"):
        if args[0] == tool:
            assert shutil.which(tool), f"{tool} is needed for this test (binutils, libc-bin)"
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def raw_symbols(path: Path, *options: str) -> List[str]:
    out = run("nm", "-D", "--format=just-symbols", *options, str(path))
    return [s.split("@")[0] for s in out.split()]


def exported_api() -> Set[str]:
    return {line.strip() for line in ABI_LIST.read_text().splitlines() if line.strip() and not line.startswith("#")}


def test_the_extension_references_no_core_symbol_but_the_c_api() -> None:
    undefined = raw_symbols(EXTENSION, "--undefined-only")
    assert undefined, "nm found no undefined symbols: the check would mean nothing"
    core = [s for s in undefined if "7verikit" in s]  # _ZN7verikit..., _ZNK7verikit..., _ZTVN7verikit...
    assert core == [], f"C++ symbols of the core referenced: {core}"
    demangled = run("nm", "-D", "-C", "--undefined-only", str(EXTENSION))
    assert "verikit::" not in demangled
    api = [s for s in undefined if s.startswith("verikit_")]
    assert len(api) > 30, api  # every operation, sync and async, goes through the C API
    assert set(api) <= exported_api(), set(api) - exported_api()
    assert "verikit_engine_new" in api and "verikit_otp_verify_async" in api and "verikit_result_counter" in api
    # Nothing of the core's own dependencies is called directly either.
    foreign = [s for s in undefined if s.startswith(("sodium_", "crypto_", "randombytes", "redis", "SSL_", "EVP_"))]
    assert foreign == [], foreign


def test_the_extension_contains_no_core_code() -> None:
    defined = raw_symbols(EXTENSION, "--defined-only")
    assert "PyInit__verikit" in defined
    assert [s for s in defined if "7verikit" in s or s.startswith("verikit_")] == []
    needed = [line for line in run("readelf", "-d", str(EXTENSION)).splitlines() if "(NEEDED)" in line]
    assert any("[libverikit.so.0]" in line for line in needed), needed
    assert not [line for line in needed if any(dep in line for dep in CORE_DEPENDENCIES)], needed


def test_the_package_ships_the_c_library_next_to_the_extension() -> None:
    assert LIBRARY.is_file() and not LIBRARY.is_symlink()
    dynamic = run("readelf", "-d", str(EXTENSION))
    assert "[$ORIGIN]" in dynamic, "the extension finds libverikit through RPATH/RUNPATH $ORIGIN"
    resolved = [line for line in run("ldd", str(EXTENSION)).splitlines() if "libverikit.so.0" in line]
    assert len(resolved) == 1, resolved
    target = resolved[0].split("=>")[1].split("(")[0].strip()
    assert os.path.realpath(target) == os.path.realpath(LIBRARY), resolved
    exported = set(raw_symbols(LIBRARY, "--defined-only"))
    assert exported == exported_api(), exported ^ exported_api()
    assert verikit.__version__ == verikit._verikit.VERSION


def test_nothing_but_the_package_is_installed() -> None:
    # The wheel holds the python component only: no headers, CMake or pkg-config files at the
    # root of site-packages, no unversioned development symlink.
    site = PACKAGE.parent
    assert not (PACKAGE / "libverikit.so").exists()
    assert not (site / "include" / "verikit.h").exists()
    assert not list(site.glob("lib*/libverikit.so*"))
    assert not list(site.glob("lib*/cmake/verikit"))
