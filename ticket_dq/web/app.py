"""The triage page: Starlette, server-rendered Jinja2 pages, served by uvicorn (`ticket-dq serve`).

What a handler sees is read from the warehouse (read-only, a brief open whenever the file changed,
copied into memory: see lib/triage.py) plus the issue_events files already delivered to the landing
area; what a handler does is delivered as an issue_events file (lib/delivery.py), never written to
the warehouse, so it flows through the same pipeline as any handler tool and takes effect on the next
run. While the pipeline holds the warehouse the page keeps serving the last copy it read and says so.

Access: handlers sign in with an account from the accounts file (web/accounts.py); the session is a
signed cookie (Starlette's SessionMiddleware: itsdangerous), SameSite=strict and HttpOnly; every form
carries a per-session CSRF token checked in constant time; a handler sees and acts on the issues of
their own team only, and every event carries the signed-in handler's name and team.
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from ticket_dq.lib import contract, lifecycle, messages, triage
from ticket_dq.web import accounts as accounts_mod

SOURCE = "web"  # landing folder of the page's deliveries: <landing>/issue_events/web/<date>/
TEMPLATES = Path(__file__).resolve().parent / "templates"
MAX_FORM_BYTES = 64 * 1024
SESSION_MAX_AGE_S = 12 * 3600  # one working day
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                                 b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]


@dataclass
class Config:
    landing: Path
    warehouse: Path
    accounts: Path
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    clock: Callable[[], datetime] = datetime.now


class SnapshotCache:
    """The last warehouse copy; re-read when the file (or its WAL) changed. If the warehouse is locked
    by a running job, the old copy is served and ``busy`` says why."""

    def __init__(self, warehouse: Path):
        self.warehouse = warehouse
        self._lock = threading.Lock()
        self.snapshot: triage.Snapshot | None = None
        self.busy: str | None = None

    def get(self) -> triage.Snapshot:
        with self._lock:
            stamp = triage.warehouse_stamp(self.warehouse)
            if self.snapshot is None or self.snapshot.stamp != stamp:
                try:
                    self.snapshot = triage.read_snapshot(self.warehouse, timeout_s=2.0)
                    self.busy = None
                except triage.Unreadable as exc:
                    if self.snapshot is None:
                        raise
                    self.busy = str(exc)
            return self.snapshot


class SecurityHeaders:
    """Pure ASGI middleware: the same protective headers on every response."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _csrf(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


async def _form(request: Request) -> dict[str, str] | None:
    """The urlencoded form body (the only kind our pages send), or None when too large or not a form."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return None
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return None
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}


def _csrf_ok(request: Request, form: dict[str, str] | None) -> bool:
    want = request.session.get("csrf")
    got = (form or {}).get("csrf", "")
    return bool(want) and hmac.compare_digest(want.encode(), got.encode())


def create_app(config: Config) -> Starlette:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    cache = SnapshotCache(config.warehouse)
    accounts_path = Path(config.accounts)
    accounts_mod.load(accounts_path)  # fail at start, not at the first sign-in

    def user(request: Request) -> dict | None:
        u = request.session.get("user")
        return u if isinstance(u, dict) and u.get("name") and u.get("team") else None

    def page(request: Request, name: str, status_code: int = 200, **ctx) -> Response:
        flash = request.session.pop("flash", None)
        return templates.TemplateResponse(request, name, {
            "user": user(request), "csrf": _csrf(request), "flash": flash, "busy": cache.busy,
            "read_at": cache.snapshot.read_at if cache.snapshot else None, "now": config.clock(),
            "to_show": triage.time_to_show, **ctx}, status_code=status_code)

    def refused(request: Request, message: str, status_code: int = 403) -> Response:
        return page(request, "error.html", status_code=status_code, message=message)

    def state():
        return triage.state_connection(cache.get(), config.landing)

    async def login_form(request: Request) -> Response:
        return page(request, "login.html")

    async def login(request: Request) -> Response:
        form = await _form(request)
        if not _csrf_ok(request, form):
            return refused(request, "The form was not accepted (missing or wrong CSRF token). Reload the page "
                                    "and try again.")
        acc = await run_in_threadpool(accounts_mod.authenticate, accounts_mod.load(accounts_path),
                                      form.get("name", "").strip(), form.get("password", ""))
        if acc is None:
            request.session["flash"] = "Wrong name or password."
            return RedirectResponse("/login", status_code=303)
        request.session.clear()  # a fresh session (and CSRF token) for the signed-in handler
        request.session["user"] = {"name": acc.name, "team": acc.team}
        request.session["csrf"] = secrets.token_urlsafe(32)
        return RedirectResponse("/", status_code=303)

    async def logout(request: Request) -> Response:
        form = await _form(request)
        if not _csrf_ok(request, form):
            return refused(request, "The form was not accepted (missing or wrong CSRF token).")
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    def _filters(request: Request, team: str) -> dict:
        q = request.query_params
        status = q.get("status") or "active"
        f = {"team": [team],
             "status": list(triage.ACTIVE_STATUSES) if status == "active" else (None if status == "all" else [status]),
             "category": [q["category"]] if q.get("category") else None,
             "source": [q["source"]] if q.get("source") else None,
             "cinema_code": [q["cinema"]] if q.get("cinema") else None,
             "severity": [q["severity"]] if q.get("severity") else None}
        try:
            f["date"] = date.fromisoformat(q["date"]) if q.get("date") else None
        except ValueError:
            f["date"] = None
        chosen = {"status": status, **{k: q.get(k, "") for k in ("category", "source", "cinema", "severity", "date")}}
        return f, chosen

    async def issue_list(request: Request) -> Response:
        u = user(request)
        if u is None:
            return RedirectResponse("/login", status_code=303)
        filters, chosen = _filters(request, u["team"])

        def work():
            con = state()
            rows, matching = triage.list_issues(con, filters, config.clock(), limit=500)
            return rows, matching, triage.facets(con, u["team"])

        try:
            rows, matching, facets = await run_in_threadpool(work)
        except triage.Unreadable as exc:
            return refused(request, str(exc), status_code=503)
        for r in rows:
            r["reason"] = messages.mask(r["reason"])
        return page(request, "issues.html", rows=rows, matching=matching, facets=facets, chosen=chosen,
                    statuses=["active", "all", *contract.ISSUE_STATUSES], severities=contract.SEVERITIES,
                    query=urlencode({k: v for k, v in chosen.items() if v}))

    def _load_issue(issue_id: str):
        con = state()
        issue = triage.issue_detail(con, issue_id)
        return con, issue

    async def issue_page(request: Request) -> Response:
        u = user(request)
        if u is None:
            return RedirectResponse("/login", status_code=303)
        issue_id = request.path_params["issue_id"]
        try:
            _, issue = await run_in_threadpool(_load_issue, issue_id)
        except triage.Unreadable as exc:
            return refused(request, str(exc), status_code=503)
        if issue is None:
            return refused(request, f"There is no issue {issue_id}.", status_code=404)
        if issue["team"] != u["team"]:
            return refused(request, f"Issue {issue_id} belongs to team {issue['team']}; you handle {u['team']} "
                                    "issues only.")
        orders_error = None
        try:
            orders = await run_in_threadpool(triage.orders, config.warehouse, triage.order_ids(issue))
        except triage.Unreadable as exc:
            orders, orders_error = [], str(exc)
        current = issue["handler_status"] or "OPEN"
        allowed = lifecycle.allowed_events("OPEN" if current == "SUPPRESSED" else current)
        return page(request, "issue.html", issue=issue, orders=orders, orders_error=orders_error,
                    allowed=[(triage.VERBS[a], a) for a in allowed], codes=contract.RESOLUTION_CODES,
                    script=messages.CUSTOMER_SCRIPT.get(issue["category"]),
                    evidence_pretty=_pretty(issue["evidence_parsed"]))

    async def act(request: Request) -> Response:
        u = user(request)
        form = await _form(request)
        if not _csrf_ok(request, form):
            return refused(request, "The form was not accepted (missing or wrong CSRF token). Nothing was "
                                    "delivered. Reload the page and try again.")
        if u is None:
            return RedirectResponse("/login", status_code=303)
        issue_id = request.path_params["issue_id"]
        verb = form.get("action", "")
        if verb not in triage.ACTIONS:
            return refused(request, f"Unknown action {verb!r}.", status_code=400)

        def work():
            con, issue = _load_issue(issue_id)
            if issue is None:
                return "missing", None
            if issue["team"] != u["team"]:
                return "team", issue["team"]
            now = config.clock()
            row = triage.plan_event(con, issue_id, triage.ACTIONS[verb], handler=u["name"], team=u["team"],
                                    now=now, resolution_code=form.get("resolution_code"),
                                    comment=form.get("comment", "").strip()[:2000])
            path = triage.deliver_events(config.landing, SOURCE, [row], now)
            return "ok", (row, path)

        try:
            outcome, detail = await run_in_threadpool(work)
        except triage.Unreadable as exc:
            return refused(request, f"Nothing was delivered: {exc}", status_code=503)
        except triage.Refused as exc:
            request.session["flash"] = f"Not delivered: {exc}"
            return RedirectResponse(f"/issues/{issue_id}", status_code=303)
        if outcome == "missing":
            return refused(request, f"There is no issue {issue_id}.", status_code=404)
        if outcome == "team":
            return refused(request, f"Issue {issue_id} belongs to team {detail}; you handle {u['team']} issues "
                                    "only. Nothing was delivered.")
        row, _ = detail
        request.session["flash"] = (f"{row['to_status']} delivered for {issue_id}. It takes effect after the next "
                                    f"pipeline run; until then the issue shows it as pending.")
        return RedirectResponse(f"/issues/{issue_id}", status_code=303)

    routes = [
        Route("/", issue_list, methods=["GET"]),
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/issues/{issue_id}", issue_page, methods=["GET"]),
        Route("/issues/{issue_id}", act, methods=["POST"]),
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(SessionMiddleware, secret_key=config.secret, session_cookie="ticket_dq_session",
                   max_age=SESSION_MAX_AGE_S, same_site="strict", https_only=False),
    ]
    return Starlette(routes=routes, middleware=middleware)


def _pretty(value) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True,
                                                           default=str)
