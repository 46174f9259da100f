"""A small sign-up web app on the standard library: an e-mailed code and a magic link.

    python examples/python/webapp.py [port] [store-url]

POST /signup        email=...             -> sends a 6-digit code and a magic link (to the outbox)
POST /verify        email=..., code=...   -> 200 verified / 401 with the status
GET  /magic?token=  a confirmation page (the link is only peeked: scanners don't consume it)
POST /magic         token=...             -> consumes the link
GET  /outbox        the "e-mails" sent, as JSON (a real app would send them)
"""

from __future__ import annotations

import html
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List
from urllib.parse import parse_qs, urlparse

import verikit

OUTBOX: List[Dict[str, str]] = []
OUTBOX_LOCK = threading.Lock()


def make_handler(engine: verikit.Engine, base_url: str) -> type:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def form(self) -> Dict[str, str]:
            length = int(self.headers.get("Content-Length", "0"))
            fields = parse_qs(self.rfile.read(length).decode())
            return {k: v[0] for k, v in fields.items()}

        def reply(self, code: int, body: str, kind: str = "text/plain") -> None:
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            if url.path == "/outbox":
                with OUTBOX_LOCK:
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
            fields = self.form()
            try:
                if self.path == "/signup":
                    email = fields.get("email", "")
                    code = engine.issue_otp("signup", email, client_key=self.client_address[0])
                    if not code:
                        return self.reply(429, f"{code.status.name}: retry in {code.retry_after:.0f} s")
                    link = engine.issue_link("signup-link", email, base_url + "/magic")
                    with OUTBOX_LOCK:
                        OUTBOX.append({"to": email, "code": code.secret, "link": link.url})
                    self.reply(202, "check your e-mail")
                elif self.path == "/verify":
                    r = engine.verify_otp("signup", fields.get("email", ""), fields.get("code", ""),
                                          client_key=self.client_address[0])
                    self.reply(200 if r else 401, r.status.name)
                elif self.path == "/magic":
                    r = engine.consume_link(fields.get("token", ""), "signup-link")
                    self.reply(200 if r else 410, f"{r.status.name} {r.identifier}")
                else:
                    self.reply(404, "not found")
            except verikit.InvalidArgumentError as e:
                self.reply(400, str(e))
            except verikit.Error as e:
                self.reply(503, f"try again later ({type(e).__name__})")

    return Handler


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
    store = sys.argv[2] if len(sys.argv) > 2 else "memory://"
    key = verikit.generate_key() if store == "memory://" else bytes(32)  # demo only: use a real secret
    policies: Dict[str, Dict[str, Any]] = {"signup": {"trim_identifier": True, "lowercase_identifier": True},
                "signup-link": {"trim_identifier": True, "lowercase_identifier": True, "ttl": 3600}}
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
