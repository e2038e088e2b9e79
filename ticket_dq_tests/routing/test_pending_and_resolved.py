"""Pending alerts and resolved notices (Alertmanager's `for:` and `send_resolved`) with the shipped
routes.yaml, a real warehouse file and the file channel: a show-level disagreement reaches BD only after
it held 10 minutes and never if withdrawn before; a verified customer-facing issue goes at once; one
withdrawn after it was sent is followed by a short notice to the same recipients, once."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from ticket_dq import settings
from ticket_dq.lib import outbox, routing
from ticket_dq.lib.channels import FileChannel
from ticket_dq_tests.routing.conftest import add_issue, add_order

T0 = datetime(2026, 3, 8, 10, 0)


@pytest.fixture
def cfg():
    return routing.load(settings.routes_path())


def _cycle(con, cfg, outdir, at):
    return outbox.run_cycle(con, cfg, {"file": FileChannel(outdir)}, at)


def _files(outdir, who):
    return sorted(p for p in outdir.rglob("*.txt") if who in p.parent.name)


def _status(con, issue_id):
    return sorted(r[0] for r in con.execute(
        "SELECT DISTINCT status FROM dq.notifications WHERE issue_id = ? AND occurrence = 'new'", [issue_id]).fetchall())


def test_a_show_level_disagreement_reaches_bd_only_after_it_held_for_the_routes_pending_for(con, cfg, tmp_path):
    add_issue(con, "i-show", category="SHOW_TIME_MISMATCH", severity="P1", team="BD", first_detected_at=T0,
              show_start_time=T0 + timedelta(hours=5))
    out = tmp_path / "out"
    _cycle(con, cfg, out, T0)
    _cycle(con, cfg, out, T0 + timedelta(minutes=9))
    assert _files(out, "bd-partners") == [] and _status(con, "i-show") == ["PENDING"]  # the row exists, held

    _cycle(con, cfg, out, T0 + timedelta(minutes=10))

    assert _status(con, "i-show") == ["SENT"] and len(_files(out, "bd-partners")) == 1


def test_a_disagreement_withdrawn_during_its_hold_reaches_nobody(con, cfg, tmp_path):
    add_issue(con, "i-flap", category="SHOW_TIME_MISMATCH", severity="P1", team="BD", first_detected_at=T0)
    out = tmp_path / "out"
    _cycle(con, cfg, out, T0)
    # the crawls that confirm the partner's change land a minute later: detection withdraws the issue
    con.execute("UPDATE dq.issues SET status = 'RESOLVED', resolved_at = ?, resolution_reason = 'no longer detected'"
                " WHERE issue_id = 'i-flap'", [T0 + timedelta(minutes=1)])
    r = _cycle(con, cfg, out, T0 + timedelta(minutes=1))
    _cycle(con, cfg, out, T0 + timedelta(hours=1))

    assert r["routed"]["withdrawn"] == 1 and _status(con, "i-flap") == ["WITHDRAWN"]
    assert list(out.rglob("*.txt")) == []  # neither the alert nor a "resolved" notice about it
    error = con.execute("SELECT error FROM dq.notifications WHERE issue_id = 'i-flap'").fetchone()[0]
    assert "resolved before it was sent (pending_for hold)" in error


def test_a_verified_order_issue_goes_to_cs_at_once_and_its_withdrawal_follows_to_the_same_recipients(con, cfg, tmp_path):
    show = T0 + timedelta(hours=2)
    add_issue(con, "i-order", category="ORDER_SHOW_CHANGED", severity="P0", team="CS", order_id="O1",
              first_detected_at=T0, show_start_time=show, affected_orders=1)
    add_order(con, "O1", "13912345678", show)
    out = tmp_path / "out"
    _cycle(con, cfg, out, T0)
    first = {p.parent.name for p in out.rglob("*.txt")}
    assert "cs-duty@tickets.example.com" in first and _status(con, "i-order") == ["SENT"]

    con.execute("UPDATE dq.issues SET status = 'RESOLVED', resolved_at = ?, resolution_reason = 'no longer detected'"
                " WHERE issue_id = 'i-order'", [T0 + timedelta(minutes=3)])
    r = _cycle(con, cfg, out, T0 + timedelta(minutes=3))
    again = _cycle(con, cfg, out, T0 + timedelta(minutes=4))

    notices = [p for p in out.rglob("*.txt") if "RESOLVED / WITHDRAWN" in p.read_text(encoding="utf-8")]
    assert {p.parent.name for p in notices} == first  # every recipient told, nobody else
    text = notices[0].read_text(encoding="utf-8")
    assert "i-order" in text and "withdrawn: no longer detected" in text and "order O1" in text
    assert "13912345678" not in text
    assert r["routed"]["resolved_notices"] == len(first) and again["routed"]["resolved_notices"] == 0


def test_a_resolution_reached_nobody_who_was_never_told(con, cfg, tmp_path):
    add_issue(con, "i-quiet", category="SHOW_TIME_MISMATCH", severity="P2", team="BD", first_detected_at=T0,
              status="RESOLVED", resolved_at=T0 + timedelta(minutes=1), resolution_reason="no longer detected")
    out = tmp_path / "out"
    r = _cycle(con, cfg, out, T0 + timedelta(minutes=2))
    assert r["routed"]["resolved_notices"] == 0 and list(out.rglob("*.txt")) == []


@pytest.mark.parametrize("snippet, message", [
    ("pending_for: soon", "pending_for 'soon' is not a duration"),
    ("send_resolved: maybe", "send_resolved must be true or false"),
])
def test_bad_pending_settings_fail_at_load_with_the_line(snippet, message):
    text = f"route:\n  receiver: $team\n  {snippet}\nteams: {{}}\n"
    with pytest.raises(routing.RouteConfigError, match=rf"r\.yaml:3: {message}"):
        routing.parse(text, "r.yaml")


def test_an_open_issue_of_closed_history_gets_no_more_repeats_while_a_live_one_does(con, cfg, tmp_path):
    # two open P0 order issues detected at T0, unhandled; one's show is long over
    for iid, show in (("i-old", T0 - timedelta(days=3)), ("i-live", T0 + timedelta(days=1))):
        add_issue(con, iid, category="ORDER_NOT_ISSUED", severity="P0", team="CS", order_id=iid,
                  first_detected_at=T0, show_start_time=show, affected_orders=1)
        add_order(con, iid, "13912345678", show)
    out = tmp_path / "out"
    _cycle(con, cfg, out, T0)
    sent = lambda iid: con.execute("SELECT count(*) FROM dq.notifications WHERE issue_id = ?", [iid]).fetchone()[0]  # noqa: E731
    first = {i: sent(i) for i in ("i-old", "i-live")}
    assert first["i-old"] == first["i-live"] > 0
    # the retention run closes the orders of shows before T0 - 2 days (lib/closed_orders.py)
    con.execute("INSERT INTO meta.closed_history VALUES (?, ?, NULL)", [T0 - timedelta(days=2), T0])
    _cycle(con, cfg, out, T0 + timedelta(days=2))
    assert sent("i-old") == first["i-old"]  # nothing new planned for it
    assert sent("i-live") > first["i-live"]  # repeats and escalations go on for the live one
