"""Real loopback servers for the channel tests: aiosmtpd SMTP and a stdlib HTTP webhook receiver."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Collect:
    def __init__(self):
        self.messages: list[dict] = []

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append({"rcpt": list(envelope.rcpt_tos), "subject": str(msg["Subject"]),
                              "message_id": str(msg["Message-ID"]), "body": msg.get_content()})
        return "250 OK"


class SmtpServer:
    """aiosmtpd on 127.0.0.1:<port>; ``messages`` holds what it accepted."""

    def __init__(self, port: int | None = None, credentials: tuple[str, str] | None = None):
        self.port = port or free_port()
        self.handler = _Collect()
        self.logins: list[str] = []
        kwargs = {}
        if credentials:
            from aiosmtpd.smtp import AuthResult

            def check(server, session, envelope, mechanism, auth_data):
                ok = (auth_data.login.decode(), auth_data.password.decode()) == credentials
                if ok:
                    self.logins.append(auth_data.login.decode())
                return AuthResult(success=ok, handled=False, message=None if ok else "535 5.7.8 Authentication credentials invalid")
            # LOGIN excluded: after a refused LOGIN, smtplib and aiosmtpd wait on each other until timeout.
            kwargs = {"authenticator": check, "auth_required": True, "auth_require_tls": False,
                      "auth_exclude_mechanism": ["LOGIN"]}
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **kwargs)

    @property
    def messages(self):
        return self.handler.messages

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


class WebhookServer:
    """ThreadingHTTPServer on 127.0.0.1:<ephemeral>; records JSON bodies; answers ``status``."""

    def __init__(self, status: int = 200):
        received: list[dict] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                n = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(n))
                if outer.status == 200:
                    received.append({"path": self.path, "json": body,
                                     "message_id": self.headers.get("X-Ticket-DQ-Message-Id")})
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"code": 0}')

            def log_message(self, *a):
                pass

        self.status = status
        self.received = received
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def __enter__(self):
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
