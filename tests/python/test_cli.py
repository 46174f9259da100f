"""`python -m verikit`: the package's entry point runs the verikit command-line program shipped
next to libverikit (the same binary as bin/verikit; no second implementation), with the
arguments, output and exit code passed through."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import verikit

PACKAGE = Path(verikit.__file__).resolve().parent


def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VERIKIT_")}
    return subprocess.run([sys.executable, "-m", "verikit", *args], capture_output=True, text=True, timeout=60,
                          env={**clean, **env})


def test_help_lists_the_commands_and_exit_codes() -> None:
    p = cli("--help")
    assert p.returncode == 0, p.stderr
    for text in ("keygen", "inspect PURPOSE IDENTIFIER", "bench URL", "Exit codes"):
        assert text in p.stdout
    assert cli("doctor", "--help").returncode == 0


def test_the_binary_ships_beside_the_library() -> None:
    binary = PACKAGE / "verikit"
    assert binary.is_file() and os.access(binary, os.X_OK)
    assert (PACKAGE / "libverikit.so.0").is_file()
    version = cli("version")
    assert version.returncode == 0
    assert version.stdout.strip() == f"verikit {verikit.__version__} (library {verikit.__version__})"


def test_exit_codes_and_output_pass_through() -> None:
    assert cli().returncode == 2
    refused = cli("inspect", "login", "a", "--key", "00")
    assert refused.returncode == 2 and "--key is refused" in refused.stderr
    key = cli("keygen", "--hex")
    assert key.returncode == 0 and len(bytes.fromhex(key.stdout.strip())) == 32


def test_doctor_and_support_commands_on_redis(redis_server) -> None:  # type: ignore[no-untyped-def]
    p = cli("doctor", redis_server.url, "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["fit"] is True
    key = verikit.generate_key()
    engine = verikit.Engine(redis_server.url, key=key, key_prefix="vk-pycli")
    try:
        engine.issue_otp("login", "dee")
        env = {"VERIKIT_KEY": key.hex(), "VERIKIT_STORE": redis_server.url}
        p = cli("inspect", "login", "dee", "--prefix", "vk-pycli", "--json", **env)
        assert p.returncode == 0, p.stderr
        assert json.loads(p.stdout)["status"] == "valid"
        assert key.hex() not in p.stdout + p.stderr
        assert cli("revoke", "login", "dee", "--prefix", "vk-pycli", **env).returncode == 0
        assert cli("revoke", "login", "dee", "--prefix", "vk-pycli", **env).returncode == 1
    finally:
        engine.close()
