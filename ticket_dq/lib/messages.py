"""Message rendering per audience, and masking of mobile numbers.

A digest is one message to one team + channel + recipient covering many issues. Each audience gets
what it acts on:

- CS: the affected orders with the customer's mobile MASKED (138****1234) and what to tell the
  customer. Mobiles come from audit.orders (raw + archived rows) by order_id (the issues table has none) and are masked
  before they enter any message; every message text is masked again as a last line of defence.
- BD: the partner (source), the cinemas and shows, and the evidence to forward.
- everyone else: category, severity, reason, evidence, counts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from ticket_dq.lib.masking import mask  # the one mask (lib/masking.py); re-exported for callers

ESCALATION = "escalation"

CUSTOMER_SCRIPT = {
    "ORDER_SHOW_CHANGED": "Your show time or hall has changed. Offer the new show or a full refund.",
    "ORDER_SHOW_CANCELLED": "Your show was cancelled by the cinema. Offer a full refund or a rebooking.",
    "SEAT_DOUBLE_SOLD": "Your seat was sold twice. Offer another seat in the same show or a full refund.",
    "PICKUP_CODE_DUPLICATE": "Your pickup code may not work. We will send a new code; keep the order number.",
    "PICKUP_CODE_INVALID": "Your pickup code is not valid at the cinema. We will reissue it or refund.",
}


@dataclass
class Message:
    message_id: str
    team: str
    channel: str
    recipient: str
    subject: str
    body: str
    issue_ids: list[str]
    escalation: bool = False


def _fmt_evidence(ev: Any) -> str:
    if ev in (None, ""):
        return ""
    if isinstance(ev, str):
        try:
            ev = json.loads(ev)
        except ValueError:
            return mask(ev)
    return mask(json.dumps(ev, ensure_ascii=False, sort_keys=True, default=str))


def _issue_line(i: Mapping[str, Any]) -> str:
    where = " ".join(str(x) for x in (
        i.get("source"), i.get("cinema_code"),
        f"show {i['show_start_time']}" if i.get("show_start_time") else None) if x)
    return (f"[{i.get('severity')}] {i.get('category')} {i.get('issue_id')} ({where}) - {i.get('reason') or ''}"
            f" (status {i.get('status')}, first seen {i.get('first_detected_at')})")


def render(team: str, channel: str, recipient: str, message_id: str, issues: list[Mapping[str, Any]],
           orders: Mapping[str, Mapping[str, Any]] | None = None, escalation: bool = False,
           routes: Iterable[str] = ()) -> Message:
    """One digest message. ``orders`` maps order_id -> {mobile, user_id, film_name, ...} (CS only)."""
    orders = orders or {}
    n = len(issues)
    worst = min((i.get("severity") or "P3" for i in issues), default="P3")
    cats = sorted({str(i.get("category")) for i in issues})
    prefix = "ESCALATION - not acknowledged in time: " if escalation else ""
    subject = f"[ticket-dq][{team}][{worst}] {prefix}{n} data issue{'s' if n != 1 else ''}: {', '.join(cats[:3])}"
    lines = []
    if escalation:
        lines.append("These P0/P1 issues were not acknowledged within the team's SLA. Please make sure someone "
                     "owns them now (ticket-dq issues ack <issue_id>).")
        lines.append("")
    if team == "CS":
        lines.append(f"{n} customer-facing issue(s). Please contact each customer below before the show.")
        for i in issues:
            lines.append("")
            lines.append(_issue_line(i))
            script = CUSTOMER_SCRIPT.get(str(i.get("category")))
            if i.get("order_id"):
                o = orders.get(str(i["order_id"]), {})
                lines.append(f"  order {i['order_id']}  mobile {mask(o.get('mobile')) or 'unknown'}"
                             f"  film {o.get('film_name') or '-'}  show {i.get('show_start_time') or '-'}"
                             f"  tickets {o.get('ticket_count') or '-'}")
            if script:
                lines.append(f"  Tell the customer: {script}")
    elif team == "BD":
        by_partner: dict[str, list[Mapping[str, Any]]] = {}
        for i in issues:
            by_partner.setdefault(str(i.get("source") or "unknown partner"), []).append(i)
        for partner, items in sorted(by_partner.items()):
            lines.append(f"Partner {partner}: {len(items)} issue(s). Please raise with the partner and forward "
                         f"the evidence.")
            for i in items:
                lines.append("  " + _issue_line(i))
                ev = _fmt_evidence(i.get("evidence"))
                if ev:
                    lines.append(f"    evidence: {ev}")
            lines.append("")
    else:
        for i in issues:
            lines.append(_issue_line(i))
            ev = _fmt_evidence(i.get("evidence"))
            if ev:
                lines.append(f"  evidence: {ev}")
    lines.append("")
    lines.append("Triage: ticket-dq issues show <issue_id> | ack | confirm | false-positive | resolve")
    if routes:
        lines.append(f"Routed by: {', '.join(sorted(set(routes)))}")
    return Message(message_id=message_id, team=team, channel=channel, recipient=recipient,
                   subject=mask(subject), body=mask("\n".join(lines)),
                   issue_ids=[str(i.get("issue_id")) for i in issues], escalation=escalation)
