"""Real loopback servers for the channel tests: aiosmtpd SMTP and a stdlib HTTP webhook receiver."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

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

    def __init__(self, port: int | None = None, credentials: tuple[str, str] | None = None,
                 tls: tuple[Path, Path] | None = None):
        """``tls=(certfile, keyfile)``: offer STARTTLS with that certificate and refuse mail without it."""
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
        if tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*map(str, tls))
            kwargs |= {"tls_context": context, "require_starttls": True}
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


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 / localhost signed by itself (cert.pem doubles as the CA file)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    certfile, keyfile = folder / "cert.pem", folder / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return certfile, keyfile
