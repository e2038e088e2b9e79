"""Notification channels: SMTP (smtplib, optional STARTTLS), HTTP webhook (Feishu / DingTalk /
Slack JSON), and a local ``file`` channel. Each ``send(message)`` either delivers or raises
``ChannelError``; the outbox decides about retries.

Configuration comes from the environment through ``settings.env`` (``channels_from_env``), the
variables named in ``CHANNEL_SETTINGS``: TICKET_DQ_SMTP_HOST / _PORT / _USER / _PASSWORD / _FROM /
_STARTTLS (1|true) / _CAFILE, TICKET_DQ_WEBHOOK_URL, TICKET_DQ_WEBHOOK_FORMAT (feishu | dingtalk |
slack, default slack). The file channel is always on.
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Callable

import requests

from ticket_dq import settings
from ticket_dq.lib.messages import Message


class ChannelError(RuntimeError):
    """A send failed (server down, refused, non-2xx); the message should be retried later."""


class FileChannel:
    """Writes one file per message under ``<dir>/<recipient>/<message_id>.txt``. Idempotent: an
    existing file for the same message_id is left alone (written atomically, so never half)."""
    type = "file"

    def __init__(self, directory: str | Path):
        self.dir = Path(directory)

    def send(self, msg: Message) -> None:
        safe = "".join(c if c.isalnum() or c in "@._-" else "_" for c in msg.recipient)
        folder = self.dir / safe
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{msg.message_id}.txt"
        if path.exists():
            return
        tmp = path.with_suffix(".tmp")
        tmp.write_text(f"To: {msg.recipient}\nSubject: {msg.subject}\nMessage-ID: {msg.message_id}\n\n{msg.body}\n",
                       encoding="utf-8")
        os.replace(tmp, path)

    def close(self) -> None:
        pass


@dataclass
class SmtpChannel:
    host: str
    port: int = 25
    user: str | None = None
    password: str | None = None
    sender: str = "ticket-dq@localhost"
    starttls: bool = False
    cafile: str | None = None  # a private CA's PEM bundle; default: the system's trusted CAs
    timeout_s: float = 10.0
    type: str = "smtp"

    def __post_init__(self):
        self._conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        if self._conn is None:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
            try:
                if self.starttls:
                    # smtplib's default STARTTLS context checks no certificate; verify the server's
                    # certificate and host name, or a man in the middle reads the digests.
                    conn.starttls(context=ssl.create_default_context(cafile=self.cafile))
                if self.user:
                    conn.login(self.user, self.password or "")
            except BaseException:
                conn.close()  # refused login / TLS: do not leave the socket open on the server
                raise
            self._conn = conn
        return self._conn

    def send(self, msg: Message) -> None:
        em = EmailMessage()
        em["From"] = self.sender
        em["To"] = msg.recipient
        em["Subject"] = msg.subject
        # Deterministic Message-ID: a retry after an ambiguous failure can be deduplicated downstream.
        em["Message-ID"] = f"<{msg.message_id}@ticket-dq>"
        em["X-Ticket-DQ-Issues"] = ",".join(msg.issue_ids[:50])
        em.set_content(msg.body)
        try:
            self._connect().send_message(em)
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise ChannelError(f"smtp {self.host}:{self.port}: {exc.__class__.__name__}: {exc}") from exc

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self._conn = None


def webhook_payload(fmt: str, msg: Message) -> dict:
    text = f"{msg.subject}\n@{msg.recipient}\n\n{msg.body}"
    if fmt == "feishu":
        return {"msg_type": "text", "content": {"text": text}}
    if fmt == "dingtalk":
        return {"msgtype": "text", "text": {"content": text}}
    return {"text": text}  # Slack-compatible (also Mattermost, Rocket.Chat)


@dataclass
class WebhookChannel:
    url: str
    fmt: str = "slack"
    timeout_s: float = 10.0
    type: str = "webhook"

    def __post_init__(self):
        self._session = requests.Session()

    def send(self, msg: Message) -> None:
        try:
            r = self._session.post(self.url, json=webhook_payload(self.fmt, msg), timeout=self.timeout_s,
                                   headers={"X-Ticket-DQ-Message-Id": msg.message_id})
        except requests.RequestException as exc:
            raise ChannelError(f"webhook {self.url}: {exc.__class__.__name__}: {exc}") from exc
        if r.status_code // 100 != 2:
            raise ChannelError(f"webhook {self.url}: HTTP {r.status_code} {r.text[:200]}")
        # Feishu and DingTalk answer 200 with an error code in the body.
        try:
            body = r.json()
        except ValueError:
            return
        if isinstance(body, dict):
            code = body.get("code", body.get("errcode", body.get("StatusCode", 0)))
            if code not in (0, None, "0"):
                raise ChannelError(f"webhook {self.url}: bot answered code {code}: {json.dumps(body)[:200]}")

    def close(self) -> None:
        self._session.close()


# Every channel setting: field name -> environment variable. The one list of their names (the
# notifier resource wires the same variables as dg.EnvVar).
CHANNEL_SETTINGS: dict[str, str] = {
    "smtp_host": "TICKET_DQ_SMTP_HOST", "smtp_port": "TICKET_DQ_SMTP_PORT", "smtp_user": "TICKET_DQ_SMTP_USER",
    "smtp_password": "TICKET_DQ_SMTP_PASSWORD", "smtp_from": "TICKET_DQ_SMTP_FROM",
    "smtp_starttls": "TICKET_DQ_SMTP_STARTTLS", "smtp_cafile": "TICKET_DQ_SMTP_CAFILE",
    "webhook_url": "TICKET_DQ_WEBHOOK_URL", "webhook_format": "TICKET_DQ_WEBHOOK_FORMAT",
}


def channels_from_env(env: Callable[[str], str | None] | None = None) -> dict:
    """The enabled channels: file always; smtp / webhook when their settings are present."""
    env = env or settings.env
    get = {field: env(var) for field, var in CHANNEL_SETTINGS.items()}.get
    out: dict = {"file": FileChannel(settings.outbox_dir())}
    host = get("smtp_host")
    if host:
        out["smtp"] = SmtpChannel(
            host=host, port=int(get("smtp_port") or 25), user=get("smtp_user") or None,
            password=get("smtp_password") or None,
            sender=get("smtp_from") or "ticket-dq@localhost",
            starttls=(get("smtp_starttls") or "").lower() in ("1", "true", "yes"),
            cafile=get("smtp_cafile") or None)
    url = get("webhook_url")
    if url:
        out["webhook"] = WebhookChannel(url=url, fmt=(get("webhook_format") or "slack").lower())
    return out
