"""The Python examples run as users run them, and type-check with mypy --strict."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLES = os.path.join(ROOT, "examples", "python")


def test_quickstart_memory() -> None:
    out = subprocess.run([sys.executable, os.path.join(EXAMPLES, "quickstart.py")], capture_output=True, text=True,
                         timeout=120, cwd="/")
    assert out.returncode == 0, out.stderr
    assert "all flows behaved as documented" in out.stdout


def test_quickstart_redis(redis_server) -> None:
    out = subprocess.run([sys.executable, os.path.join(EXAMPLES, "quickstart.py"), redis_server.url],
                         capture_output=True, text=True, timeout=120, cwd="/")
    assert out.returncode == 0, out.stderr
    assert "all flows behaved as documented" in out.stdout


def post(base: str, path: str, **fields: str) -> tuple[int, str]:
    data = urllib.parse.urlencode(fields).encode()
    try:
        with urllib.request.urlopen(base + path, data=data, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_webapp_signup_with_code_and_magic_link() -> None:
    from conftest import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, os.path.join(EXAMPLES, "webapp.py"), str(port)],
                            stdout=subprocess.PIPE, text=True, cwd="/")
    try:
        assert proc.stdout is not None
        assert "listening" in proc.stdout.readline()
        base = f"http://127.0.0.1:{port}"
        assert post(base, "/signup", email=" Jo@Example.com ")[0] == 202
        assert post(base, "/signup", email="jo@example.com")[0] == 429, "resend cooldown"
        mail = json.loads(get(base + "/outbox")[1])[-1]
        assert mail["to"] == " Jo@Example.com "
        assert post(base, "/verify", email="jo@example.com", code="000000" if mail["code"] != "000000" else "111111")[0] == 401
        assert post(base, "/verify", email="JO@example.com", code=mail["code"]) == (200, "VERIFIED")
        status, page = get(mail["link"])
        assert status == 200 and "Confirm sign-up for jo@example.com" in page
        token = re.search(r"value='([^']+)'", page).group(1)  # type: ignore[union-attr]
        assert get(mail["link"])[0] == 200, "a GET (link scanner) does not consume the link"
        assert post(base, "/magic", token=token) == (200, "VERIFIED jo@example.com")
        assert post(base, "/magic", token=token)[0] == 410
        assert get(mail["link"])[0] == 410
        assert post(base, "/signup", email="")[0] == 400
    finally:
        proc.terminate()
        proc.wait(10)


def test_mypy_strict_on_the_examples() -> None:
    out = subprocess.run([sys.executable, "-m", "mypy", "--strict", EXAMPLES], capture_output=True, text=True,
                         timeout=300, cwd="/")
    assert out.returncode == 0, out.stdout + out.stderr
