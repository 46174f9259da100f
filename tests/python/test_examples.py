"""The Python examples run as users run them, and type-check with mypy --strict."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Optional

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


class Browser:
    """One browser profile: its own cookie jar (the flow cookie lives here)."""

    def __init__(self) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def open(self, url: str, data: Optional[bytes] = None) -> tuple[int, str]:
        try:
            with self.opener.open(url, data=data, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def post(self, base: str, path: str, **fields: str) -> tuple[int, str]:
        return self.open(base + path, urllib.parse.urlencode(fields).encode())

    def get(self, url: str) -> tuple[int, str]:
        return self.open(url)


def test_webapp_signup_with_code_and_magic_link() -> None:
    from conftest import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, os.path.join(EXAMPLES, "webapp.py"), str(port)],
                            stdout=subprocess.PIPE, text=True, cwd="/")
    try:
        assert proc.stdout is not None
        assert "listening" in proc.stdout.readline()
        base = f"http://127.0.0.1:{port}"
        asker, other = Browser(), Browser()
        assert asker.post(base, "/signup", email=" Jo@Example.com ")[0] == 202
        assert asker.post(base, "/signup", email="jo@example.com")[0] == 429, "resend cooldown"
        mail = json.loads(asker.get(base + "/outbox")[1])[-1]
        assert mail["to"] == " Jo@Example.com "
        wrong = "000000" if mail["code"] != "000000" else "111111"
        assert asker.post(base, "/verify", email="jo@example.com", code=wrong)[0] == 401
        assert other.post(base, "/verify", email="jo@example.com", code=mail["code"]) == (401, "INVALID"), \
            "the code relayed to another browser is a wrong guess"
        assert asker.post(base, "/verify", email="JO@example.com", code=mail["code"]) == (200, "VERIFIED")
        status, page = asker.get(mail["link"])
        assert status == 200 and "Confirm sign-up for jo@example.com" in page
        token = re.search(r"value='([^']+)'", page).group(1)  # type: ignore[union-attr]
        assert other.get(mail["link"])[0] == 200, "a GET (link scanner, other browser) does not consume the link"
        status, page = other.post(base, "/magic", token=token)
        assert status == 403 and "another browser" in page, "opened elsewhere: the fallback offer"
        assert asker.post(base, "/magic", token=token) == (200, "VERIFIED jo@example.com"), "same browser: signed in"
        assert asker.post(base, "/magic", token=token)[0] == 410
        assert asker.get(mail["link"])[0] == 410
        assert asker.post(base, "/signup", email="")[0] == 400
    finally:
        proc.terminate()
        proc.wait(10)


def test_webapp_cross_device_fallback() -> None:
    from conftest import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, os.path.join(EXAMPLES, "webapp.py"), str(port)],
                            stdout=subprocess.PIPE, text=True, cwd="/")
    try:
        assert proc.stdout is not None
        assert "listening" in proc.stdout.readline()
        base = f"http://127.0.0.1:{port}"
        asker, phone = Browser(), Browser()

        def fallback_code(email: str) -> tuple[str, str]:
            """asker asks for a link to email, phone opens it: the link's token and the code shown."""
            assert asker.post(base, "/signup", email=email)[0] == 202
            mail = json.loads(asker.get(base + "/outbox")[1])[-1]
            token = urllib.parse.parse_qs(urllib.parse.urlsplit(mail["link"]).query)["token"][0]
            assert phone.post(base, "/magic", token=token)[0] == 403
            status, page = phone.post(base, "/magic/code", token=token)
            assert status == 200
            return token, re.search(r"<b id=code>([^<]+)</b>", page).group(1)  # type: ignore[union-attr]

        token, code = fallback_code("kim@example.com")
        assert "Not signed in" in asker.get(base + "/")[1]
        assert asker.post(base, "/fallback", email="kim@example.com", code=code) == (200, "VERIFIED")
        assert "Signed in as kim@example.com" in asker.get(base + "/")[1]
        assert asker.post(base, "/magic", token=token)[0] == 410, "the fallback used the link"
        assert "Not signed in" in phone.get(base + "/")[1]

        token, code = fallback_code("lee@example.com")
        assert phone.post(base, "/fallback", email="lee@example.com", code=code) == (401, "NOT_FOUND"), \
            "the code typed on a browser without the link's flow cookie signs nobody in"
        assert "Not signed in" in phone.get(base + "/")[1]
        assert asker.post(base, "/magic", token=token) == (200, "VERIFIED lee@example.com"), "the link is still live"
    finally:
        proc.terminate()
        proc.wait(10)


def test_webapp_answers_hostile_requests_and_stays_up() -> None:
    """A NUL in a token, a negative or oversized length, a body that is not UTF-8: each gets a 400
    (they dropped the connection with a traceback), and the server goes on."""
    import socket

    from conftest import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, os.path.join(EXAMPLES, "webapp.py"), str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/")

    def raw(request: bytes) -> str:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(request)
            s.shutdown(socket.SHUT_WR)
            reply = b""
            while chunk := s.recv(65536):
                reply += chunk
        return reply.split(b"\r\n", 1)[0].decode()

    try:
        assert proc.stdout is not None
        assert "listening" in proc.stdout.readline()
        assert raw(b"GET /magic?token=%00 HTTP/1.0\r\n\r\n").startswith("HTTP/1.0 400")
        assert raw(b"POST /signup HTTP/1.0\r\nContent-Length: -5\r\n\r\n").startswith("HTTP/1.0 400")
        assert raw(b"POST /signup HTTP/1.0\r\nContent-Length: 999999\r\n\r\n").startswith("HTTP/1.0 400")
        assert raw(b"POST /signup HTTP/1.0\r\nContent-Length: 8\r\n\r\nemail=\xff\xfe").startswith("HTTP/1.0 400")
        assert "Not signed in" in Browser().get(f"http://127.0.0.1:{port}/")[1], "still serving"
    finally:
        proc.terminate()
        _, errors = proc.communicate(timeout=10)
    assert "Traceback" not in errors, errors


def test_mypy_strict_on_the_examples() -> None:
    out = subprocess.run([sys.executable, "-m", "mypy", "--strict", EXAMPLES], capture_output=True, text=True,
                         timeout=300, cwd="/")
    assert out.returncode == 0, out.stdout + out.stderr
