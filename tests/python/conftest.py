"""pytest fixtures: a redis-server of the tests' own on a free loopback port, and engines on
both stores. The suite runs against the installed verikit package (scripts/test_python.sh)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from typing import Iterator

import pytest

import verikit


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="verikit-py-redis-")
        self.port = free_port()
        log = os.path.join(self.dir, "redis.log")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.dir, "--logfile", log],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            if os.path.exists(log) and "Ready to accept" in open(log).read():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.stop()


KEY = bytes(range(32))
_prefix = 0


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    return str(request.getfixturevalue("redis_server").url)


@pytest.fixture
def make_engine(store: str):  # type: ignore[no-untyped-def]
    """Engines on the parametrised store, each test in its own key space, closed afterwards."""
    engines = []

    def make(cls: type = verikit.Engine, **kwargs):  # type: ignore[no-untyped-def]
        global _prefix
        _prefix += 1
        kwargs.setdefault("key", KEY)
        kwargs.setdefault("key_prefix", f"py{_prefix}")
        e = cls(store, **kwargs)
        engines.append(e)
        return e

    yield make
    for e in engines:
        e.close()
