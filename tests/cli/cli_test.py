"""The `verikit` command-line program against real redis-server processes started here (healthy,
allkeys-lru, a replica, an ACL user without scripting, a three-primary Cluster) and the embedded store: every subcommand,
its exit codes, --key refused, the key never printed, and that the binary uses only the C API.

Usage: cli_test.py <verikit binary> <libverikit.so> <exported_symbols.txt> <cli source folder>
<build folder> (run by ctest). State for the support commands is made through the C API (ctypes), the way an
application would make it, with the same key and prefix.
"""

from __future__ import annotations

import base64
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

BINARY, LIBRARY, EXPORTS, SOURCES, BUILD = sys.argv[1:6]
del sys.argv[1:6]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_cluster_port() -> int:
    """A free port whose Cluster bus port (the port + 10000) is free too."""
    while True:
        port = free_port()
        if port > 55535:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port


class Redis:
    """A redis-server on a free loopback port, no persistence unless asked, stopped by stop()."""

    def __init__(self, *extra: str, port: int | None = None) -> None:
        self.dir = tempfile.mkdtemp(prefix="verikit-cli-redis-")
        self.port = port or free_port()
        log = os.path.join(self.dir, "redis.log")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.dir, "--logfile", log, *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            if os.path.exists(log) and "Ready to accept" in Path(log).read_text():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("redis-server did not start")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> str:
        return subprocess.run(["redis-cli", "-p", str(self.port), *args], check=True, capture_output=True,
                              text=True).stdout

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


class Cluster:
    """Three redis-server primaries in Cluster mode (no replicas) joined with redis-cli --cluster create,
    stopped by stop(): tests/support/redis_cluster.cpp's setup, for the command-line program."""

    def __init__(self) -> None:
        self.nodes: list[Redis] = []
        try:
            for _ in range(3):
                self.nodes.append(Redis("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                                        port=free_cluster_port()))
            create = subprocess.run(["redis-cli", "--cluster", "create", *(f"127.0.0.1:{n.port}" for n in self.nodes),
                                     "--cluster-replicas", "0", "--cluster-yes"], capture_output=True, text=True,
                                    timeout=60)
            if "[OK] All 16384 slots covered" not in create.stdout:
                raise RuntimeError(f"redis-cli --cluster create: {create.stdout}{create.stderr}")
            deadline = time.time() + 20
            while not all("cluster_state:ok" in n.cli("CLUSTER", "INFO") for n in self.nodes):
                if time.time() > deadline:
                    raise RuntimeError("the Redis Cluster did not settle")
                time.sleep(0.05)
        except BaseException:
            self.stop()
            raise

    @property
    def url(self) -> str:  # two seeds; the third primary is found through CLUSTER SLOTS
        return f"redis+cluster://127.0.0.1:{self.nodes[0].port},127.0.0.1:{self.nodes[1].port}"

    def stop(self) -> None:
        for n in self.nodes:
            n.stop()


KEY = bytes(range(1, 33))
KEY_HEX = KEY.hex()
KEY_B64 = base64.b64encode(KEY).decode()


def run(*args: str, env: dict | None = None, key: bool = True) -> subprocess.CompletedProcess:
    e = {k: v for k, v in os.environ.items() if not k.startswith("VERIKIT_")}
    if key:
        e["VERIKIT_KEY"] = KEY_HEX
    e.update(env or {})
    p = subprocess.run([BINARY, *args], env=e, capture_output=True, text=True, timeout=120)
    assert KEY_HEX not in p.stdout + p.stderr and KEY_B64 not in p.stdout + p.stderr, "the key was printed"
    return p


class App:
    """An application's engine through the C API (ctypes), on the same store, key and prefix."""

    lib = ctypes.CDLL(LIBRARY)

    def __init__(self, url: str, fields: dict | None = None) -> None:
        lib = self.lib
        lib.verikit_error_message.restype = ctypes.c_char_p
        cfg = ctypes.c_void_p()
        assert lib.verikit_config_new(ctypes.byref(cfg)) == 0
        assert lib.verikit_config_set_store(cfg, url.encode()) == 0
        assert lib.verikit_config_set_key(cfg, ctypes.c_uint8(1), KEY, ctypes.c_size_t(32)) == 0
        assert lib.verikit_config_set_policy_field(cfg, b"login", b"max_attempts", b"20") == 0
        assert lib.verikit_config_set_policy_field(cfg, b"login", b"resend_cooldown", b"0") == 0
        for name, value in (fields or {}).items():
            assert lib.verikit_config_set_policy_field(cfg, b"login", name.encode(), value.encode()) == 0
        self.engine = ctypes.c_void_p()
        rc = lib.verikit_engine_new(ctypes.byref(self.engine), cfg)
        lib.verikit_config_free(cfg)
        assert rc == 0, lib.verikit_error_message()

    def _result(self, rc: int, r: ctypes.c_void_p) -> tuple[int, str]:
        assert rc == 0, self.lib.verikit_error_message()
        status, data, n = ctypes.c_int(), ctypes.c_char_p(), ctypes.c_size_t()
        self.lib.verikit_result_status(r, ctypes.byref(status))
        self.lib.verikit_result_secret(r, ctypes.byref(data), ctypes.byref(n))
        secret = (data.value or b"").decode()
        self.lib.verikit_result_free(r)
        return status.value, secret

    def issue(self, identifier: str, kind: str = "otp") -> str:
        r = ctypes.c_void_p()
        rc = getattr(self.lib, f"verikit_{kind}_issue")(ctypes.byref(r), self.engine, b"login", identifier.encode(),
                                                        ctypes.c_size_t(len(identifier)), None)
        status, secret = self._result(rc, r)
        assert status == 2, status  # issued
        return secret

    def verify(self, identifier: str, code: str) -> int:
        r = ctypes.c_void_p()
        rc = self.lib.verikit_otp_verify(ctypes.byref(r), self.engine, b"login", identifier.encode(),
                                         ctypes.c_size_t(len(identifier)), code.encode(), ctypes.c_size_t(len(code)), None)
        return self._result(rc, r)[0]

    def second_factors(self, identifier: str) -> None:
        """An authenticator enrollment and a set of recovery codes for (login, identifier)."""
        for make in (lambda r: self.lib.verikit_totp_enroll(ctypes.byref(r), self.engine, b"login", identifier.encode(),
                                                             ctypes.c_size_t(len(identifier)), b"Acme"),
                     lambda r: self.lib.verikit_recovery_generate(ctypes.byref(r), self.engine, b"login",
                                                                  identifier.encode(), ctypes.c_size_t(len(identifier)))):
            result = ctypes.c_void_p()
            assert self._result(make(result), result)[0] == 2  # issued

    def recovery_codes(self, identifier: str) -> int:
        n = ctypes.c_int()
        assert self.lib.verikit_recovery_remaining(ctypes.byref(n), self.engine, b"login", identifier.encode(),
                                                   ctypes.c_size_t(len(identifier))) == 0
        return n.value

    def close(self) -> None:
        self.lib.verikit_engine_free(self.engine)


def doctor(url: str, *extra: str) -> tuple[int, dict]:
    p = run("doctor", url, "--json", *extra, key=False)
    return p.returncode, json.loads(p.stdout) if p.stdout else {"stderr": p.stderr}


def verdicts(report: dict) -> dict:
    return {i["item"]: (i["verdict"], i["detail"]) for i in report["items"]}


class Usage(unittest.TestCase):
    def test_help_and_usage_errors(self) -> None:
        p = run("--help")
        self.assertEqual(p.returncode, 0)
        for text in ("keygen", "doctor", "inspect", "unlock", "revoke-all", "stats", "bench", "Exit codes", "0  done",
                     "2  usage", "3  the store"):
            self.assertIn(text, p.stdout)
        for cmd in ("keygen", "doctor", "inspect", "unlock", "revoke", "revoke-all", "revoke-second-factors", "stats",
                    "bench"):
            h = run(cmd, "--help")
            self.assertEqual(h.returncode, 0, cmd)
            self.assertIn("usage: verikit", h.stdout)
            self.assertIn("Exit codes", h.stdout, cmd)
        self.assertEqual(run().returncode, 2)
        self.assertEqual(run("frobnicate").returncode, 2)
        bad = run("doctor", "redis://127.0.0.1:1", "--pending", "lots")
        self.assertEqual(bad.returncode, 2)
        self.assertIn("--pending must be a whole number", bad.stderr)
        self.assertEqual(run("inspect", "login", "--store", "redis://x").returncode, 2)  # one positional short
        self.assertEqual(run("bench", "memory://", "--ops", "5", "--seconds", "5").returncode, 2)

    def test_a_key_in_argv_is_refused(self) -> None:
        for args in (["inspect", "login", "a", "--key", KEY_HEX], ["unlock", "login", "a", f"--key={KEY_HEX}"],
                     ["doctor", "redis://127.0.0.1:1", "--key", "x"]):
            p = subprocess.run([BINARY, *args], capture_output=True, text=True)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn("--key is refused", p.stderr)
            self.assertIn("VERIKIT_KEY", p.stderr)
            self.assertIn("--key-file", p.stderr)

    def test_a_key_in_the_wrong_place_is_not_repeated(self) -> None:
        # run() fails the test if the key shows in the output; each is refused as a usage error.
        for args, said in ((["inspect", "login", "a", f"-key={KEY_HEX}"], "-key is refused"),
                           (["inspect", "login", "a", "-key", KEY_HEX], "-key is refused"),
                           (["inspect", "login", "a", f"-k={KEY_HEX}"], "unknown option '-k'"),
                           (["inspect", "login", "a", f"--kee={KEY_B64}"], "unknown option '--kee'"),
                           (["inspect", "login", "a", "--store", "redis://127.0.0.1:1", "--key-file", KEY_HEX],
                            "reads as a key"),
                           (["inspect", "login", "a", "--store", "redis://127.0.0.1:1", "--key-file", KEY_B64],
                            "reads as a key"),
                           ([KEY_HEX], "unknown command")):
            p = run(*args, key=False)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn(said, p.stderr, args)
        p = run("inspect", "login", "a", "--store", "redis://127.0.0.1:1", "--key-id", KEY_HEX)  # (run: not printed)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--key-id must be a whole number from 0 to 255 (the value given is not one; not shown)", p.stderr)
        # a short number out of range is still named
        p = run("inspect", "login", "a", "--store", "redis://127.0.0.1:1", "--key-id", "300")
        self.assertIn("--key-id must be a whole number from 0 to 255, not 300", p.stderr)

    def test_keygen(self) -> None:
        a, b = run("keygen", key=False), run("keygen", key=False)
        self.assertEqual(a.returncode, 0)
        self.assertRegex(a.stdout, r"^VERIKIT_KEY=[0-9a-f]{64}\n$")
        self.assertNotEqual(a.stdout, b.stdout)
        self.assertRegex(run("keygen", "--hex", key=False).stdout, r"^[0-9a-f]{64}\n$")
        self.assertEqual(len(base64.b64decode(run("keygen", "--base64", key=False).stdout.strip())), 32)
        self.assertEqual(run("keygen", "--hex", "--base64", key=False).returncode, 2)

    def test_missing_or_malformed_key_and_store(self) -> None:
        url = "redis://127.0.0.1:1"
        p = run("inspect", "login", "a", "--store", url, key=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("no key: set VERIKIT_KEY", p.stderr)
        p = run("inspect", "login", "a", "--store", url, env={"VERIKIT_KEY": "abc"})
        self.assertEqual(p.returncode, 2)
        self.assertIn("$VERIKIT_KEY is not a verikit key", p.stderr)
        p = run("inspect", "login", "a")
        self.assertEqual(p.returncode, 2)
        self.assertIn("VERIKIT_STORE", p.stderr)
        p = run("inspect", "login", "a", "--store", url, "--key-file", "/nonexistent/key")
        self.assertEqual(p.returncode, 2)
        self.assertIn("cannot read the --key-file file", p.stderr)

    def test_the_embedded_store_is_refused_for_support_commands(self) -> None:
        for cmd in ("inspect", "unlock", "revoke", "revoke-all", "revoke-second-factors"):
            for p in (run(cmd, "login", "a", env={"VERIKIT_STORE": "memory://"}),
                      run(cmd, "login", "a", "--store", "memory://?capacity=10")):
                self.assertEqual(p.returncode, 2, (cmd, p.stderr))
                self.assertIn("new, empty store", p.stderr)
        for url in ("memory://", "file:///tmp/verikit-cli-not-redis"):
            p = run("doctor", url, key=False)
            self.assertEqual(p.returncode, 2)
            self.assertIn("not a Redis URL (redis://, rediss://, unix://, redis+cluster://, redis+sentinel://)", p.stderr)

    def test_help_with_arguments_is_refused_not_taken_as_done(self) -> None:
        # An identifier "-h" from a script must not print help and exit 0 ("done").
        env = {"VERIKIT_STORE": "redis://127.0.0.1:1"}
        for args in (["unlock", "login", "-h"], ["revoke-all", "login", "--help", "--json"],
                     ["doctor", "redis://127.0.0.1:1", "--help"]):
            p = run(*args, env=env)
            self.assertEqual(p.returncode, 2, (args, p.stdout))
            self.assertIn("goes after --", p.stderr)
            self.assertEqual(p.stdout, "")

    def test_a_file_store_that_is_not_there_is_refused_and_not_made(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            missing = Path(d, "typo", "store")
            for cmd in ("inspect", "unlock", "revoke", "revoke-all", "revoke-second-factors"):
                p = run(cmd, "login", "a", env={"VERIKIT_STORE": f"file://{missing}"})
                self.assertEqual(p.returncode, 2, (cmd, p.stderr))
                self.assertIn("no file store at", p.stderr)
            self.assertFalse(Path(d, "typo").exists(), "a support command made a new store")

    def test_output_that_cannot_be_written_is_a_failure(self) -> None:
        # A key printed to a full disk or a closed pipe was not printed.
        with open("/dev/full", "w") as full:
            p = subprocess.run([BINARY, "keygen"], stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("could not write the output", p.stderr)
        r, w = os.pipe()
        os.close(r)
        try:
            p = subprocess.run([BINARY, "keygen"], stdout=w, stderr=subprocess.PIPE, text=True, timeout=60)
        finally:
            os.close(w)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("could not write the output", p.stderr)

    def test_a_key_file_that_is_not_a_file_is_refused(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            big = Path(d, "big")
            big.write_bytes(b"0" * 5000)
            for path in (d, "/dev/zero", str(big)):  # (/dev/zero would never end)
                p = run("inspect", "login", "a", "--store", "redis://127.0.0.1:1", "--key-file", path, key=False)
                self.assertEqual(p.returncode, 2, (path, p.stderr))
                self.assertIn("is not a key file", p.stderr)
        # A pipe is a key file (`--key-file <(vault read ...)`): accepted, then the store is unreachable.
        e = {k: v for k, v in os.environ.items() if not k.startswith("VERIKIT_")}
        p = subprocess.run([BINARY, "inspect", "login", "a", "--store", "redis://127.0.0.1:1", "--key-file", "/dev/stdin"],
                           input=KEY_HEX, env=e, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertNotIn("can be read by other users", p.stderr, "a pipe has no mode to warn about")

    def test_a_key_file_others_can_read_is_warned_about(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            path = Path(d, "key")
            path.write_text(KEY_HEX)
            for mode, warned in ((0o600, False), (0o400, False), (0o640, True), (0o604, True)):
                path.chmod(mode)
                p = run("inspect", "login", "a", "--store", "redis://127.0.0.1:1", "--key-file", str(path), key=False)
                self.assertEqual(p.returncode, 3, p.stderr)  # read, then the store is unreachable
                self.assertEqual("can be read by other users" in p.stderr, warned, (oct(mode), p.stderr))
                if warned:
                    self.assertIn(f"(mode {mode:04o}): chmod 600 it", p.stderr)

    def test_a_password_in_a_mistyped_url_is_not_echoed(self) -> None:
        for url in ("Redis://:Hunter2Secret@127.0.0.1:1", "reddis://u:Hunter2Secret@h:1", "redis:/x:Hunter2Secret@h"):
            p = run("doctor", url, key=False)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("not a Redis URL", p.stderr)
            self.assertNotIn("Hunter2Secret", p.stderr + p.stdout)

    def test_support_commands_on_a_file_store(self) -> None:
        # file:// is one state for a machine's processes: the command sees the application's.
        with tempfile.TemporaryDirectory() as d:
            url = f"file://{d}"
            app = App(url)
            try:
                code = app.issue("cy@example.com")
                wrong = ("1" if code[0] != "1" else "2") + code[1:]
                self.assertEqual(app.verify("cy@example.com", wrong), 3)  # invalid
                p = run("inspect", "login", "cy@example.com", "--json", "--store", url)
                self.assertEqual(p.returncode, 0, p.stderr)
                got = json.loads(p.stdout)
                self.assertEqual((got["status"], got["code_attempts_remaining"], got["failures"]), ("valid", 19, 1))
                p = run("revoke", "login", "cy@example.com", "--store", url)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(app.verify("cy@example.com", code), 4)  # not_found: revoked by the command
                # An identifier cannot print a line or a terminal sequence of its own in the text output.
                forged = "bob\nlogin bob: unlocked: the failure budgets are full again\x1b[2K\u009b31m\\\u202e\u2066"
                for cmd in ("unlock", "inspect", "revoke"):
                    p = run(cmd, "login", forged, "--keep-case", "--keep-spaces", "--store", url)
                    self.assertIn(p.returncode, (0, 1), p.stderr)
                    self.assertNotIn("\x1b", p.stdout)
                    self.assertNotIn("\u009b", p.stdout)
                    self.assertFalse([line for line in p.stdout.splitlines() if line.startswith("login bob:")], p.stdout)
                    self.assertIn("bob\\x0alogin bob", p.stdout)
                    self.assertIn("\\x1b[2K\\xc2\\x9b31m\\x5c\\xe2\\x80\\xae\\xe2\\x81\\xa6", p.stdout)
                    self.assertNotIn("\u202e", p.stdout)
            finally:
                app.close()

    def test_bench_on_the_embedded_store_and_its_url_rule(self) -> None:
        p = run("bench", "--ops", "5", env={"VERIKIT_STORE": "memory://"})
        self.assertEqual(p.returncode, 2)
        self.assertIn("never takes $VERIKIT_STORE", p.stderr)
        p = run("bench", "memory://", "--ops", "300", "--concurrency", "3", "--json", key=False)
        self.assertEqual(p.returncode, 0, p.stderr)
        s = json.loads(p.stdout)
        self.assertEqual((s["operations"], s["errors"], s["wrong_outcomes"]), (300, 0, 0))
        self.assertLessEqual(s["issue"]["p50_ms"], s["issue"]["p99_ms"])
        self.assertLessEqual(s["verify"]["p99_ms"], s["verify"]["max_ms"])
        self.assertIn("bench: 100%", p.stderr)  # not a terminal: plain progress lines


class OnRedis(unittest.TestCase):
    redis: Redis

    @classmethod
    def setUpClass(cls) -> None:
        cls.redis = Redis("--maxmemory", "64mb")

    @classmethod
    def tearDownClass(cls) -> None:
        cls.redis.stop()

    def test_doctor_on_a_fit_server(self) -> None:
        rc, report = doctor(self.redis.url)
        self.assertEqual(rc, 0, report)
        self.assertTrue(report["fit"])
        v = verdicts(report)
        self.assertEqual(list(v), ["version", "role", "eviction", "memory", "persistence", "replicas", "keys",
                                   "permissions", "tls"])
        for item in ("version", "role", "eviction", "memory", "replicas", "permissions", "tls"):
            self.assertEqual(v[item][0], "ok", v[item])
        self.assertEqual(v["persistence"][0], "warn")  # --save '' --appendonly no
        self.assertIn("a restart loses every credential", v["persistence"][1])
        self.assertIn("room for about", v["memory"][1])
        text = run("doctor", "--store", self.redis.url, key=False)
        self.assertEqual(text.returncode, 0)
        self.assertRegex(text.stdout, r"(?m)^OK    version +Redis at 127\.0\.0\.1:\d+ is Redis 7")
        self.assertIn("FIT with 1 warning(s)", text.stdout)

    def test_doctor_memory_headroom(self) -> None:
        rc, report = doctor(self.redis.url, "--pending", "10000000")  # ~5 GB in a 64 MB server
        self.assertEqual(rc, 1)
        self.assertFalse(report["fit"])
        verdict, detail = verdicts(report)["memory"]
        self.assertEqual(verdict, "fail")
        self.assertIn("raise maxmemory", detail)
        self.assertIn("320 bytes per pending code", detail)
        rc, report = doctor(self.redis.url, "--pending", "1000")
        self.assertEqual((rc, verdicts(report)["memory"][0]), (0, "ok"))

    def test_doctor_without_maxmemory_fails_what_the_machine_cannot_hold(self) -> None:
        # No maxmemory: a WARN, and a FAIL when --pending would not fit in the machine's memory.
        unlimited = Redis()
        try:
            ram = int(re.search(r"total_system_memory:(\d+)", unlimited.cli("INFO", "memory")).group(1))
            self.assertGreater(ram, 0)
            rc, report = doctor(unlimited.url, "--pending", "1000")
            self.assertEqual((rc, verdicts(report)["memory"][0]), (0, "warn"), report)
            rc, report = doctor(unlimited.url, "--pending", str(ram // 320 + 1))  # 320 bytes per pending code
            verdict, detail = verdicts(report)["memory"]
            self.assertEqual((rc, verdict), (1, "fail"), report)
            self.assertIn("more than the machine's", detail)
            self.assertIn("has no maxmemory limit", detail)
        finally:
            unlimited.stop()

    def test_doctor_fails_a_server_already_full(self) -> None:
        # With noeviction a Redis over its maxmemory refuses every write: not fit, whatever --pending.
        with_memory = Redis("--maxmemory", "64mb")
        try:
            used = int(re.search(r"used_memory:(\d+)", with_memory.cli("INFO", "memory")).group(1))
            with_memory.cli("CONFIG", "SET", "maxmemory", str(used // 2))
            rc, report = doctor(with_memory.url)
            self.assertEqual(rc, 1, report)
            verdict, detail = verdicts(report)["memory"]
            self.assertEqual(verdict, "fail")
            self.assertIn("it is full", detail)
        finally:
            with_memory.stop()

    def test_support_commands(self) -> None:
        app = App(self.redis.url)
        try:
            env = {"VERIKIT_STORE": self.redis.url}
            code = app.issue("ann@example.com")
            app.issue("ann@example.com", "token")
            wrong = ("1" if code[0] != "1" else "2") + code[1:]
            self.assertEqual(app.verify("ann@example.com", wrong), 3)  # invalid
            p = run("inspect", "login", " Ann@Example.com", "--json", env=env)
            self.assertEqual(p.returncode, 0, p.stderr)
            got = json.loads(p.stdout)
            self.assertEqual((got["identifier"], got["status"], got["code_attempts_remaining"], got["live_tokens_and_links"],
                              got["failures"]), ("ann@example.com", "valid", 19, 1, 1))
            self.assertGreater(got["code_expires_at_ms"], time.time() * 1000)
            self.assertNotIn(code, p.stdout)
            text = run("inspect", "login", "ann@example.com", env=env)
            self.assertIn("live: 19 wrong guess(es) left", text.stdout)

            p = run("revoke", "login", "ann@example.com", env=env)
            self.assertEqual((p.returncode, p.stdout.strip()), (0, "login ann@example.com: revoked the live code"))
            self.assertEqual(run("revoke", "login", "ann@example.com", env=env).returncode, 1)
            self.assertEqual(app.verify("ann@example.com", code), 4)  # not_found: revoked
            p = run("revoke-all", "login", "ann@example.com", "--json", env=env)
            self.assertEqual((p.returncode, json.loads(p.stdout)["count"]), (0, 1))  # the token
            p = run("revoke-all", "login", "ann@example.com", env=env)
            self.assertEqual(p.returncode, 1)
            self.assertIn("recovery codes are not revoked by revoke-all", p.stdout)
            self.assertIn("revoke-second-factors removes them", p.stdout)
            self.assertEqual(json.loads(run("inspect", "login", "ann@example.com", "--json", env=env).stdout)["recovery_codes"], 0)

            # Second factors: revoke-all leaves them, revoke-second-factors removes them (and only them).
            app.second_factors("ann@example.com")
            code = app.issue("ann@example.com")
            self.assertEqual(run("revoke-all", "login", "ann@example.com", env=env).returncode, 0)  # the code
            self.assertEqual(app.recovery_codes("ann@example.com"), 10)
            token = app.issue("ann@example.com", "token")
            p = run("revoke-second-factors", "login", " Ann@example.com", "--json", env=env)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(json.loads(p.stdout), {"command": "revoke-second-factors", "purpose": "login",
                                                    "identifier": "ann@example.com", "count": 11})
            self.assertEqual(app.recovery_codes("ann@example.com"), 0)
            p = run("revoke-second-factors", "login", "ann@example.com", env=env)
            self.assertEqual((p.returncode, p.stdout.strip()),
                             (1, "login ann@example.com: no authenticator enrollment or recovery codes: nothing removed"))
            app.second_factors("dee")
            p = run("revoke-second-factors", "login", "dee", env=env)
            self.assertEqual((p.returncode, p.stdout.strip()), (0, "login dee: removed 11 second factor(s): the "
                             "authenticator enrollment counts one, each recovery code left one"))
            self.assertEqual(json.loads(run("inspect", "login", "ann@example.com", "--json", env=env).stdout)
                             ["live_tokens_and_links"], 1, "the token issued before stays")
            self.assertTrue(token)

            # Ten wrong guesses spend the failure budget: locked, then unlocked by support.
            code = app.issue("bob")
            wrong = ("1" if code[0] != "1" else "2") + code[1:]
            for _ in range(10):
                app.verify("bob", wrong)
            self.assertEqual(app.verify("bob", code), 6)  # locked
            p = run("inspect", "login", "bob", "--store", self.redis.url)
            self.assertIn("status      locked (the failure budget is spent", p.stdout)
            self.assertEqual(run("unlock", "login", "bob", "--store", self.redis.url).returncode, 0)
            self.assertEqual(run("unlock", "login", "bob", "--store", self.redis.url).returncode, 1)
            self.assertEqual(app.verify("bob", code), 0)  # verified

            # The key from a file (hex text, base64 text or raw bytes); another key finds nothing.
            with tempfile.TemporaryDirectory() as d:
                for content in (KEY_HEX.encode(), (KEY_B64 + "\n").encode(), KEY):
                    path = Path(d, "key")
                    path.write_bytes(content)
                    app.issue("cy") if content == KEY_HEX.encode() else None
                    p = run("inspect", "login", "cy", "--key-file", str(path), "--json", env=env, key=False)
                    self.assertEqual(json.loads(p.stdout)["status"], "valid", p.stderr)
            # Another key, or a mistyped prefix, is refused by the store's key check (exit 3), not
            # answered as "nothing live"; --no-key-check (for applications with key_check=off) reads nothing.
            for cmd in ("inspect", "unlock", "revoke", "revoke-all", "revoke-second-factors"):
                other = run(cmd, "login", "cy", "--json", env={**env, "VERIKIT_KEY": bytes(32).hex()})
                self.assertEqual((other.returncode, other.stdout), (3, ""), cmd)
                self.assertIn("were written with another key", other.stderr)
                typo = run(cmd, "login", "cy", "--prefix", "vkk", env=env)
                self.assertEqual((typo.returncode, typo.stdout), (3, ""), cmd)
                self.assertIn("no key-check record under key prefix 'vkk'", typo.stderr)
            other = run("inspect", "login", "cy", "--json", "--no-key-check", env={**env, "VERIKIT_KEY": bytes(32).hex()})
            self.assertEqual(json.loads(other.stdout)["status"], "not_found")
            self.assertIsNone(self.redis.cli("--scan", "--pattern", "vkk:*").strip() or None, "nothing made under the typo")

            p = run("stats", self.redis.url, "--json", key=False)
            self.assertEqual(p.returncode, 0)
            keys = verdicts(json.loads(p.stdout))["keys"][1]
            self.assertRegex(keys, r"holds [1-9]\d* keys under the prefix 'vk:'")
            self.assertIn("operation counters live in each application process", run("stats", self.redis.url).stdout)
        finally:
            app.close()

    def test_a_prefix_the_engine_would_refuse_is_a_usage_error(self) -> None:
        # doctor and stats make no engine: the prefix is checked as an engine would check it.
        dead = f"redis://127.0.0.1:{free_port()}"
        for args in (["doctor", dead], ["stats", dead], ["bench", dead, "--ops", "1"], ["inspect", "login", "a"]):
            for prefix in ("a b", "a{b}", "", "x" * 65):
                p = run(*args, "--prefix", prefix, env={"VERIKIT_STORE": dead})
                self.assertEqual((p.returncode, p.stdout), (2, ""), (args, prefix, p.stderr))
                self.assertIn("--prefix: key_prefix must be", p.stderr)

    def test_an_application_that_keeps_case_is_matched_with_keep_case(self) -> None:
        # "Alice" and "alice" are two accounts when the application keeps case: without
        # --keep-case the command acts on "alice" (the default policy's form), and says so.
        app = App(self.redis.url, {"lowercase_identifier": "false", "trim_identifier": "false"})
        try:
            env = {"VERIKIT_STORE": self.redis.url}
            for who in ("Alice", "alice", " Alice "):
                app.second_factors(who)
            p = run("revoke-second-factors", "login", "Alice", "--keep-case", "--json", env=env)
            self.assertEqual(json.loads(p.stdout)["identifier"], "Alice", p.stderr)
            self.assertEqual((app.recovery_codes("Alice"), app.recovery_codes("alice")), (0, 10))
            p = run("revoke-second-factors", "login", " Alice ", "--keep-case", "--keep-spaces", env=env)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual((app.recovery_codes(" Alice "), app.recovery_codes("alice")), (0, 10))
            p = run("revoke-second-factors", "login", "Alice", env=env)  # acts on "alice", and names it
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("login alice: removed 11", p.stdout)
            self.assertIn("(acted on 'alice', as the default policy normalises 'Alice'; --keep-case", p.stdout)
            self.assertEqual(app.recovery_codes("alice"), 0)
        finally:
            app.close()

    def test_json_output_stays_json_for_identifiers_that_are_not_utf8(self) -> None:
        app = App(self.redis.url)  # (makes the prefix's key-check record)
        try:
            env = {"VERIKIT_STORE": self.redis.url}
            # \udcXX: the byte XX in argv (surrogateescape); then well-formed UTF-8 that stays as it is
            for ident, shown in (("a\udcffb", "a\ufffdb"), ("\udcc3\udca9t\udce9", "\u00e9t\ufffd"),
                                 ("\udced\udca0\udc80", "\ufffd\ufffd\ufffd"), ("zo\u00eb\u2603", "zo\u00eb\u2603")):
                for cmd in ("inspect", "revoke-all", "revoke-second-factors"):
                    p = run(cmd, "login", ident, "--json", env=env)
                    self.assertIn(p.returncode, (0, 1), p.stderr)
                    got = json.loads(p.stdout)
                    if cmd == "inspect":
                        self.assertEqual(got["identifier"], shown)
        finally:
            app.close()

    def test_store_errors(self) -> None:
        dead = f"redis://127.0.0.1:{free_port()}"
        p = run("inspect", "login", "a", "--store", dead)
        self.assertEqual(p.returncode, 3)
        self.assertIn("VERIKIT_E_STORE_UNAVAILABLE", p.stderr)
        self.assertIn("Check that the server runs", p.stderr)
        self.assertEqual(run("doctor", dead, key=False).returncode, 3)
        self.assertEqual(run("bench", dead, "--ops", "1").returncode, 3)

    def test_bench_cleans_up_and_touches_only_its_prefix(self) -> None:
        before = set(self.redis.cli("--scan", "--pattern", "vk:*").split())
        p = run("bench", self.redis.url, "--ops", "400", "--concurrency", "4", key=False)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"400 operations \(issue \+ verify\)")
        self.assertRegex(p.stdout, r"(?m)^issue +\d+\.\d+ +\d+\.\d+ +\d+\.\d+ +\d+\.\d+$")
        self.assertIn('verikit_operations_total{op="otp_verify",outcome="verified"} 400', p.stdout)
        self.assertEqual(set(self.redis.cli("--scan", "--pattern", "vk:*").split()), before)
        p = run("bench", self.redis.url, "--ops", "50", "--issue-only", "--json", key=False)
        self.assertEqual(json.loads(p.stdout)["cleaned_up"], 50)
        for key in self.redis.cli("--scan", "--pattern", "vk-bench:*").split():  # what remains expires
            self.assertTrue(0 < int(self.redis.cli("PTTL", key)) <= 86_400_000, key)

    def test_bench_stopped_by_ctrl_c_cleans_up_and_reports(self) -> None:
        e = {k: v for k, v in os.environ.items() if not k.startswith("VERIKIT_")}
        p = subprocess.Popen([BINARY, "bench", self.redis.url, "--seconds", "120", "--issue-only", "--json",
                              "--concurrency", "2", "--prefix", "vk-bench-int"],
                             env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            started = time.monotonic()
            for line in p.stderr:  # progress, one line a second (not a terminal)
                if re.search(r"bench: +\d+% +[1-9]\d* ops", line):
                    break
            p.send_signal(signal.SIGINT)
            out, _ = p.communicate(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
        self.assertEqual(p.returncode, 0)
        s = json.loads(out)
        self.assertTrue(s["interrupted"])
        self.assertLess(time.monotonic() - started, 100, "it ran to its end instead of stopping")
        self.assertGreater(s["operations"], 0)
        self.assertEqual(s["cleaned_up"], s["operations"], "every code it issued was revoked on the way out")
        for key in self.redis.cli("--scan", "--pattern", "vk-bench-int:*").split():  # counters: they expire
            self.assertTrue(0 < int(self.redis.cli("PTTL", key)) <= 86_400_000, key)


class Misconfigured(unittest.TestCase):
    def test_allkeys_lru_fails_and_allow_eviction_warns(self) -> None:
        r = Redis("--maxmemory-policy", "allkeys-lru")
        try:
            rc, report = doctor(r.url)
            self.assertEqual(rc, 1)
            verdict, detail = verdicts(report)["eviction"]
            self.assertEqual(verdict, "fail")
            self.assertIn("allkeys-lru", detail)
            self.assertIn("noeviction", detail)
            rc, report = doctor(r.url + "?allow_eviction=1")
            self.assertEqual((rc, verdicts(report)["eviction"][0]), (0, "warn"))
            p = run("doctor", r.url, key=False)
            self.assertIn("FAIL  eviction", p.stdout)
            self.assertIn("UNFIT", p.stdout)
            p = run("inspect", "login", "a", "--store", r.url)  # the engine refuses it too
            self.assertEqual(p.returncode, 3)
            self.assertIn("maxmemory-policy", p.stderr)
        finally:
            r.stop()

    def test_a_replica_fails(self) -> None:
        master = Redis()
        replica = Redis("--replicaof", "127.0.0.1", str(master.port))
        try:
            rc, report = doctor(replica.url)
            self.assertEqual(rc, 1)
            verdict, detail = verdicts(report)["role"]
            self.assertEqual(verdict, "fail")
            self.assertIn(f"is a replica of 127.0.0.1:{master.port}", detail)
            self.assertIn("point verikit at the master", detail)
            deadline = time.time() + 10
            while "connected_slaves:1" not in master.cli("INFO", "replication") and time.time() < deadline:
                time.sleep(0.05)
            rc, report = doctor(master.url)
            self.assertEqual((rc, verdicts(report)["replicas"][0]), (0, "warn"))
            self.assertIn("wait_replicas=1", verdicts(report)["replicas"][1])
            rc, report = doctor(master.url + "?wait_replicas=1")
            self.assertEqual(verdicts(report)["replicas"][0], "ok")
        finally:
            replica.stop()
            master.stop()

    def test_an_acl_user_without_scripting_fails_naming_the_permission(self) -> None:
        r = Redis()
        try:
            r.cli("ACL", "SETUSER", "limited", "on", ">pw", "~*", "+@all", "-@scripting")
            url = f"redis://limited:pw@127.0.0.1:{r.port}"
            rc, report = doctor(url)
            self.assertEqual(rc, 1)
            verdict, detail = verdicts(report)["permissions"]
            self.assertEqual(verdict, "fail")
            self.assertIn("refused EVAL for user 'limited'", detail)
            self.assertIn("ACL SETUSER limited +eval +evalsha +script|load", detail)
            self.assertNotIn("pw@", json.dumps(report))  # the password is never shown
            p = run("doctor", f"redis://limited:wrong@127.0.0.1:{r.port}", key=False)
            self.assertEqual(p.returncode, 3)
            self.assertIn("WRONGPASS", p.stderr)
        finally:
            r.stop()


class OnACluster(unittest.TestCase):
    def test_doctor_checks_every_primary(self) -> None:
        cluster = Cluster()
        try:
            rc, report = doctor(cluster.url)
            self.assertEqual(rc, 0, report)
            self.assertTrue(report["fit"])
            roles = [i for i in report["items"] if i["item"] == "role"]
            self.assertEqual(sorted(i["detail"] for i in roles),
                             sorted(f"Redis at 127.0.0.1:{n.port} is a Cluster primary" for n in cluster.nodes))
            self.assertEqual({i["verdict"] for i in roles}, {"ok"})
            # The primary that is not a seed, misconfigured: found, named, and the cluster unfit.
            third = cluster.nodes[2]
            third.cli("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
            rc, report = doctor(cluster.url)
            self.assertEqual(rc, 1, report)
            failed = [i["detail"] for i in report["items"] if i["verdict"] == "fail"]
            self.assertEqual(len(failed), 1, failed)
            self.assertTrue(failed[0].startswith(f"Redis at 127.0.0.1:{third.port} has maxmemory-policy 'allkeys-lru'"),
                            failed)
            text = run("doctor", "--store", cluster.url, key=False)
            self.assertEqual(text.returncode, 1)
            self.assertRegex(text.stdout, rf"(?m)^FAIL  eviction +Redis at 127\.0\.0\.1:{third.port} has")
            self.assertIn("UNFIT", text.stdout)
            # A node of the cluster named with redis://: a FAIL that names the URL to use.
            rc, report = doctor(f"redis://127.0.0.1:{cluster.nodes[0].port}")
            self.assertEqual(rc, 1)
            self.assertIn("name the cluster with a redis+cluster:// URL", verdicts(report)["role"][1])
        finally:
            cluster.stop()


class Persistence(unittest.TestCase):
    def test_what_a_crash_can_lose(self) -> None:
        r = Redis("--appendonly", "yes", "--appendfsync", "everysec")
        try:
            verdict, detail = verdicts(doctor(r.url)[1])["persistence"]
            self.assertEqual(verdict, "ok")
            self.assertIn("a crash can lose about the last second of writes", detail)
            r.cli("CONFIG", "SET", "appendfsync", "always")
            self.assertIn("loses no acknowledged write", verdicts(doctor(r.url)[1])["persistence"][1])
            r.cli("CONFIG", "SET", "appendonly", "no")
            r.cli("CONFIG", "SET", "save", "900 1")
            verdict, detail = verdicts(doctor(r.url)[1])["persistence"]
            self.assertEqual(verdict, "warn")
            self.assertIn("keeps only RDB snapshots (save '900 1')", detail)
            # A user that may not read the configuration or scan: those items are WARNs, not guesses.
            r.cli("ACL", "SETUSER", "app", "on", ">pw", "~*", "+@all", "-config", "-scan")
            rc, report = doctor(f"redis://app:pw@127.0.0.1:{r.port}")
            v = verdicts(report)
            self.assertEqual((rc, v["persistence"][0], v["keys"][0]), (0, "warn", "warn"), report)
            self.assertIn("did not say how it persists", v["persistence"][1])
            self.assertIn("SCAN refused", v["keys"][1])
            # stats with neither figure readable is "the store cannot be asked" (3), never ok (0)
            r.cli("ACL", "SETUSER", "blind", "on", ">pw", "~*", "+@all", "-config", "-scan", "-info")
            p = run("stats", f"redis://blind:pw@127.0.0.1:{r.port}", "--json", key=False)
            self.assertEqual(p.returncode, 3, p.stdout + p.stderr)
            self.assertFalse(json.loads(p.stdout)["ok"])
            self.assertIn("neither figure", p.stderr)
            p = run("stats", f"redis://app:pw@127.0.0.1:{r.port}", "--json", key=False)  # memory read, keys not
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertTrue(json.loads(p.stdout)["ok"])
        finally:
            r.stop()


class OnlyTheCApi(unittest.TestCase):
    def test_cmake_install_puts_it_in_bin_finding_the_installed_library(self) -> None:
        with tempfile.TemporaryDirectory() as prefix:
            subprocess.run(["cmake", "--install", BUILD, "--prefix", prefix], check=True, capture_output=True)
            installed = Path(prefix, "bin", "verikit")
            p = subprocess.run([str(installed), "keygen", "--hex"], capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            resolved = [line for line in subprocess.run(["ldd", str(installed)], capture_output=True, text=True)
                        .stdout.splitlines() if "libverikit.so.0" in line]
            self.assertEqual(len(resolved), 1, resolved)
            self.assertTrue(resolved[0].split("=>")[1].strip().startswith(prefix), resolved)

    def test_the_binary_imports_only_verikit_functions_from_the_core(self) -> None:
        undefined = subprocess.run(["nm", "-D", "--undefined-only", "--format=just-symbols", BINARY], check=True,
                                   capture_output=True, text=True).stdout.split()
        api = {s for s in undefined if s.startswith("verikit_")}
        exported = {line for line in Path(EXPORTS).read_text().split() if line.startswith("verikit_")}
        self.assertIn("verikit_store_check", api)
        self.assertLessEqual(api, exported)
        self.assertEqual([s for s in undefined if "7verikit" in s], [])  # no C++ symbol of the core
        needed = subprocess.run(["readelf", "-d", BINARY], check=True, capture_output=True, text=True).stdout
        self.assertIn("[libverikit.so.0]", needed)
        for dep in ("hiredis", "sodium", "libssl", "libcrypto"):
            self.assertNotIn(dep, needed)
        for src in Path(SOURCES).rglob("*.[ch]pp"):
            includes = re.findall(r'#include "([^"]+)"', src.read_text())
            self.assertEqual([i for i in includes if i not in ("verikit.h", "cli.hpp")], [], src)


if __name__ == "__main__":
    unittest.main(verbosity=2)
