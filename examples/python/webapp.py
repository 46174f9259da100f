"""A small sign-up web app on the standard library: an e-mailed code and a magic link, both bound
to the browser that asked for them (flow binding), with a cross-device fallback for the link.

    python examples/python/webapp.py [port] [store-url]

GET  /              the forms below, and who this browser is signed in as
POST /signup        email=...             -> sets the flow cookie, sends a 6-digit code and a magic
                                             link (to the outbox), both bound to that cookie
POST /verify        email=..., code=...   -> 200 verified, signed in / 401 with the status (this
                                             browser only)
GET  /magic?token=  a confirmation page (the link is only peeked: scanners don't consume it)
POST /magic         token=...             -> consumes the link with this browser's flow cookie:
                                             signed in; opened elsewhere: 403 and the fallback offer
POST /magic/code    token=...             -> the fallback: a short code to type on the browser
                                             that asked (shown only to whoever holds the link)
POST /fallback      email=..., code=...   -> on the browser that asked: the fallback code, then the
                                             link consumed with this browser's flow cookie: signed in
GET  /outbox        DEMO ONLY: the "e-mails" sent, as JSON, for the tests (a real app sends them and
                                             has no such page: it would hand every code to anyone)
"""

from __future__ import annotations

import html
import json
import secrets
import sys
import threading
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional
from urllib.parse import parse_qs, urlparse

import verikit

OUTBOX: List[Dict[str, str]] = []
SESSIONS: Dict[str, str] = {}  # session id -> e-mail (a real app has its framework's sessions)
LOCK = threading.Lock()
FLOW_COOKIE, SESSION_COOKIE = "vk_flow", "vk_session"
CODE_FORM = ("<form method=post action={}><input name=email placeholder=e-mail> "
             "<input name=code placeholder=code autocomplete=off> <button>{}</button></form>")


def make_handler(engine: verikit.Engine, base_url: str) -> type:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def form(self) -> Dict[str, str]:
            """The POSTed form; ValueError (a 400) for a length that is no count or past 64 KiB, or
            a body that is not UTF-8."""
            length = int(self.headers.get("Content-Length", "0"))
            if not 0 <= length <= 65536:
                raise ValueError("the form's length is out of range")
            fields = parse_qs(self.rfile.read(length).decode())
            return {k: v[0] for k, v in fields.items()}

        def cookie(self, name: str) -> Optional[str]:
            cookie = SimpleCookie(self.headers.get("Cookie", ""))
            return cookie[name].value if name in cookie else None

        def flow(self) -> Optional[str]:
            """This browser's flow value: the binding of what it asked for (an empty cookie is none)."""
            return self.cookie(FLOW_COOKIE) or None

        def reply(self, code: int, body: str, kind: str = "text/plain",
                  cookies: Optional[Dict[str, str]] = None) -> None:
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (cookies or {}).items():  # production: add Secure (https)
                self.send_header("Set-Cookie", f"{name}={value}; HttpOnly; SameSite=Lax; Path=/")
            self.end_headers()
            self.wfile.write(data)

        def signed_in(self, r: verikit.Result, body: str) -> None:
            """A verified result signs this browser in: a new session cookie."""
            if not r:
                return self.reply(401, r.status.name)
            session = secrets.token_urlsafe(32)
            with LOCK:
                SESSIONS[session] = r.identifier
            self.reply(200, body, cookies={SESSION_COOKIE: session})

        def do_GET(self) -> None:
            try:
                self.get()
            except (ValueError, verikit.InvalidArgumentError) as e:  # a hostile URL: 400, never a dropped connection
                self.reply(400, str(e))
            except verikit.Error as e:
                self.reply(503, f"try again later ({type(e).__name__})")

        def get(self) -> None:
            url = urlparse(self.path)
            if url.path == "/":
                with LOCK:
                    who = SESSIONS.get(self.cookie(SESSION_COOKIE) or "")
                page = (f"<p id=who>{'Signed in as ' + html.escape(who) if who else 'Not signed in'}</p>"
                        "<form method=post action=/signup><input name=email placeholder=e-mail> "
                        "<button>Send a code and a link</button></form>"
                        + CODE_FORM.format("/verify", "Verify the e-mailed code")
                        + CODE_FORM.format("/fallback", "Use the code shown on the other device"))
                self.reply(200, page, "text/html")
            elif url.path == "/outbox":  # DEMO ONLY (see above)
                with LOCK:
                    self.reply(200, json.dumps(OUTBOX), "application/json")
            elif url.path == "/magic":
                token = parse_qs(url.query).get("token", [""])[0]
                if not token:
                    return self.reply(400, "missing token")
                seen = engine.peek_link(token, "signup-link")
                if not seen:
                    return self.reply(410, "this link has expired or was used")
                page = (f"<form method=post action=/magic><input type=hidden name=token value='{html.escape(token)}'>"
                        f"<button>Confirm sign-up for {html.escape(seen.identifier)}</button></form>")
                self.reply(200, page, "text/html")
            else:
                self.reply(404, "not found")

        def do_POST(self) -> None:
            try:
                fields = self.form()
                if self.path == "/signup":
                    email = fields.get("email", "")
                    flow = secrets.token_urlsafe(32)  # kept only in this browser's cookie
                    code = engine.issue_otp("signup", email, client_key=self.client_address[0], binding=flow)
                    if not code:
                        return self.reply(429, f"{code.status.name}: retry in {code.retry_after:.0f} s")
                    link = engine.issue_link("signup-link", email, base_url + "/magic", binding=flow)
                    with LOCK:
                        OUTBOX.append({"to": email, "code": code.secret, "link": link.url})
                    self.reply(202, "check your e-mail", cookies={FLOW_COOKIE: flow})
                elif self.path == "/verify":
                    r = engine.verify_otp("signup", fields.get("email", ""), fields.get("code", ""),
                                          client_key=self.client_address[0], binding=self.flow())
                    self.signed_in(r, r.status.name)
                elif self.path == "/magic":
                    token = fields.get("token", "")
                    asker = self.flow()
                    if asker is not None:  # same device: the link is used only with this browser's flow
                        used = engine.consume_link(token, "signup-link", binding=asker)
                        if used:
                            return self.signed_in(used, f"{used.status.name} {used.identifier}")
                    if not engine.peek_link(token, "signup-link"):
                        return self.reply(410, "this link has expired or was used")
                    # Live, but asked for by another browser: offer the cross-device fallback.
                    page = ("<p>This link was opened in another browser than the one that asked for it.</p>"
                            "<form method=post action=/magic/code><input type=hidden name=token "
                            f"value='{html.escape(token)}'><button>Show a code to type there</button></form>")
                    self.reply(403, page, "text/html")
                elif self.path == "/magic/code":
                    token = fields.get("token", "")
                    seen = engine.peek_link(token, "signup-link")
                    if not seen:
                        return self.reply(410, "this link has expired or was used")
                    # The code carries the link (sealed in the store) to the browser that asked.
                    code = engine.issue_otp("signup-fallback", seen.identifier, payload=token.encode())
                    if not code:
                        return self.reply(429, f"{code.status.name}: retry in {code.retry_after:.0f} s")
                    self.reply(200, f"<p>Type <b id=code>{code.secret}</b> on the device where you asked to sign "
                                    "up. If you did not ask, ignore this.</p>", "text/html")
                elif self.path == "/fallback":
                    r = engine.verify_otp("signup-fallback", fields.get("email", ""), fields.get("code", ""),
                                          client_key=self.client_address[0])
                    if r:  # the right code: now the link itself, with this browser's flow (not anyone's)
                        r = engine.consume_link(r.payload.decode(), "signup-link", binding=self.flow())
                    self.signed_in(r, r.status.name)
                else:
                    self.reply(404, "not found")
            except (ValueError, verikit.InvalidArgumentError) as e:  # (InvalidArgumentError is a ValueError too)
                self.reply(400, str(e))
            except verikit.Error as e:
                self.reply(503, f"try again later ({type(e).__name__})")

    return Handler


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
    store = sys.argv[2] if len(sys.argv) > 2 else "memory://"
    key = verikit.generate_key() if store == "memory://" else bytes(32)  # demo only: use a real secret
    normalised = {"trim_identifier": True, "lowercase_identifier": True}
    policies: Dict[str, Dict[str, Any]] = {"signup": normalised, "signup-link": {**normalised, "ttl": 3600},
                                           "signup-fallback": {**normalised, "ttl": 300, "max_attempts": 3}}
    base_url = f"http://127.0.0.1:{port}"
    # Links go only to this origin (a forged Host header cannot redirect them); http is for
    # this local demo only: production links are https.
    engine = verikit.Engine(store, key=key, policies=policies, link_origins=[base_url], link_allow_http=True)
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(engine, base_url))
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        engine.close()


if __name__ == "__main__":
    main()
