"""The triage page on a hand-made warehouse: sign in, see your team's issues most urgent first, filter,
confirm and resolve (each an issue_events delivery through the contract, pending until the next run);
another team's handler, a forged form and a wrong password are refused."""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import datetime

import pytest

from ticket_dq.lib import outbox, warehouse
from ticket_dq_tests.browser import chromium
from ticket_dq_tests.routing.conftest import add_issue, add_order
from ticket_dq_tests.web.conftest import screenshot, serve, sign_in

NOW = "2026-03-08 18:30:00"


def _build(wh) -> None:
    with warehouse.connect(wh) as con:
        add_issue(con, "cs-late-p2", category="SEAT_DOUBLE_SOLD", severity="P2", team="CS", source="MTX",
                  cinema_code="C002", show_start_time=datetime(2026, 3, 8, 18, 0),
                  reason="18:00 场 7排11座 被卖出两次")
        add_issue(con, "cs-p1-2000", category="ORDER_SHOW_CHANGED", severity="P1", team="CS", source="FH",
                  cinema_code="C001", show_start_time=datetime(2026, 3, 8, 20, 0), order_id="O1", affected_orders=1,
                  reason="顾客购买的 20:00 场《哪吒之魔童闹海》改到了 3号激光厅 (mobile 13812345678 in a note)",
                  evidence='{"order": {"hall_name": "1号厅"}, "partner": {"hall_name": "3号激光厅"}}')
        add_issue(con, "cs-p1-1900", category="ORDER_SHOW_CANCELLED", severity="P1", team="CS", source="FH",
                  cinema_code="C002", show_start_time=datetime(2026, 3, 8, 19, 0), order_id="O2", affected_orders=1,
                  reason="19:00 场已被影院取消")
        add_issue(con, "cs-p0", category="ORDER_SHOW_CANCELLED", severity="P0", team="CS", source="MTX",
                  cinema_code="C001", show_start_time=datetime(2026, 3, 8, 22, 0), order_id="O3", affected_orders=40,
                  reason="22:00 场 40 张票已被取消")
        add_issue(con, "cs-p2-2100", category="ORDER_SHOW_CHANGED", severity="P2", team="CS", source="MTX",
                  cinema_code="C001", show_start_time=datetime(2026, 3, 8, 21, 0), order_id="O4", affected_orders=1)
        add_issue(con, "bd-only", category="SHOW_TIME_MISMATCH", severity="P1", team="BD", source="FH",
                  cinema_code="C001", show_start_time=datetime(2026, 3, 8, 19, 30), reason="FH 19:30, 平台 20:00")
        add_order(con, "O1", "13812345678", datetime(2026, 3, 8, 20, 0))
        outbox.ensure_table(con)
        con.execute("INSERT INTO dq.notifications (notification_id, issue_id, channel, recipient, team, status, "
                    "attempts, sent_at, occurrence, group_key, group_wait_s, created_at) VALUES ('n1', 'cs-p1-2000', "
                    "'file', 'cs-duty@example.com', 'CS', 'SENT', 1, ?, 'new', 'g', 0, ?)",
                    [datetime(2026, 3, 8, 18, 5), datetime(2026, 3, 8, 18, 5)])


@pytest.fixture
def page_url(isolated_env, accounts_file):
    _build(isolated_env["warehouse"])
    with serve(accounts_file, isolated_env["tmp"] / "serve.log", {"TICKET_DQ_NOW": NOW}) as url:
        yield url


@pytest.fixture
def browser():
    with chromium() as b:
        yield b


def _delivered(landing) -> list[dict]:
    """Every issue_events row the page delivered whose manifest exists, checked against the manifest."""
    rows = []
    for manifest in sorted((landing / "issue_events" / "web").glob("*/_manifest_*.json")):
        m = json.loads(manifest.read_text(encoding="utf-8"))
        data = manifest.with_name(m["file"])
        assert m["feed"] == "issue_events" and m["source"] == "web"
        assert hashlib.sha256(data.read_bytes()).hexdigest() == m["sha256"]
        with data.open(encoding="utf-8", newline="") as fh:
            got = list(csv.DictReader(fh))
        assert len(got) == m["rows"]
        rows += got
    return rows


def _issue_ids(page) -> list[str]:
    return page.eval_on_selector_all("#issues tbody tr[data-issue]", "rows => rows.map(r => r.dataset.issue)")


def test_handler_sees_own_team_most_urgent_first_and_filters(page_url, browser, isolated_env):
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    sign_in(page, page_url, "li.na")
    page.wait_for_selector("#issues")
    # P0 first; among P1 the show that starts soonest; a P2 show still to come before one already started.
    assert _issue_ids(page) == ["cs-p0", "cs-p1-1900", "cs-p1-2000", "cs-p2-2100", "cs-late-p2"]
    assert "bd-only" not in page.content()
    assert "138****5678" in page.content() and "13812345678" not in page.content()
    screenshot(page, "triage_list.png", isolated_env["tmp"])
    page.select_option("select[name=category]", "ORDER_SHOW_CHANGED")
    page.click("text=Filter")
    assert _issue_ids(page) == ["cs-p1-2000", "cs-p2-2100"]
    page.select_option("select[name=cinema]", "C001")
    page.select_option("select[name=severity]", "P2")
    page.click("text=Filter")
    assert _issue_ids(page) == ["cs-p2-2100"]
    page.goto(f"{page_url}/?date=2026-03-09")
    assert _issue_ids(page) == []


def test_confirm_then_resolve_deliver_signed_events_pending_until_the_next_run(page_url, browser, isolated_env):
    landing = isolated_env["landing"]
    page = browser.new_page(viewport={"width": 1280, "height": 1100})
    sign_in(page, page_url, "li.na")
    page.click("a[href='/issues/cs-p1-2000']")
    page.wait_for_selector("#history")
    text = page.inner_text("main")
    assert "3号激光厅" in page.inner_text("#evidence")
    assert "138****5678" in page.inner_text("#orders") and "13812345678" not in page.content()
    assert "cs-duty@example.com" in page.inner_text("#notifications")
    assert "Tell the customer" in text and "No handler has acted yet" in text
    page.click("button[value=confirm]")
    page.wait_for_selector("text=takes effect after the next pipeline run")
    assert page.inner_text("#status") == "CONFIRMED" and page.is_visible("#pending-note")
    assert "pending: next run" in page.inner_text("#history")
    [confirm] = _delivered(landing)
    assert (confirm["issue_id"], confirm["to_status"], confirm["handler"], confirm["team"], confirm["event_ts"]) == \
        ("cs-p1-2000", "CONFIRMED", "li.na", "CS", NOW)
    # Resolve needs a code: without one nothing is delivered.
    page.click("button[value=resolve]")
    page.wait_for_selector("text=Not delivered")
    assert len(_delivered(landing)) == 1
    page.select_option("select[name=resolution_code]", "USER_NOTIFIED")
    page.fill("textarea[name=comment]", "已电话通知顾客")
    page.click("button[value=resolve]")
    page.wait_for_selector("text=RESOLVED delivered")
    assert page.inner_text("#status") == "RESOLVED"
    screenshot(page, "triage_issue.png", isolated_env["tmp"])
    [resolve] = [r for r in _delivered(landing) if r["to_status"] == "RESOLVED"]
    assert (resolve["to_status"], resolve["resolution_code"], resolve["comment"], resolve["handler"]) == \
        ("RESOLVED", "USER_NOTIFIED", "已电话通知顾客", "li.na")
    # The list counts the pending events too: a resolved issue has left the active list.
    page.goto(page_url)
    assert "cs-p1-2000" not in _issue_ids(page)


def test_handler_of_another_team_is_refused(page_url, browser, isolated_env):
    page = browser.new_page()
    sign_in(page, page_url, "wang.bd")
    page.wait_for_selector("#issues")
    assert _issue_ids(page) == ["bd-only"]
    resp = page.goto(f"{page_url}/issues/cs-p1-2000")
    assert resp.status == 403 and "belongs to team CS" in page.inner_text("main")
    # A valid token of the BD handler's own session still cannot act on a CS issue.
    page.goto(f"{page_url}/issues/bd-only")
    token = page.get_attribute("input[name=csrf]", "value")
    resp = page.request.post(f"{page_url}/issues/cs-p1-2000", form={"csrf": token, "action": "confirm"})
    assert resp.status == 403 and "Nothing was delivered" in resp.text()
    assert not (isolated_env["landing"] / "issue_events").exists()


def test_forged_forms_without_the_session_csrf_token_are_refused(page_url, browser, isolated_env):
    page = browser.new_page()
    sign_in(page, page_url, "li.na")
    page.wait_for_selector("#issues")
    for form in ({"action": "confirm"}, {"action": "confirm", "csrf": "forged-token"}):
        resp = page.request.post(f"{page_url}/issues/cs-p0", form=form)
        assert resp.status == 403 and "CSRF" in resp.text()
    # A token from another session is no better.
    other = browser.new_page()
    other.goto(f"{page_url}/login")
    foreign = other.get_attribute("input[name=csrf]", "value")
    resp = page.request.post(f"{page_url}/issues/cs-p0", form={"action": "confirm", "csrf": foreign})
    assert resp.status == 403
    assert not (isolated_env["landing"] / "issue_events").exists()
    # Without a session at all, nothing is shown.
    anon = browser.new_page()
    anon.goto(f"{page_url}/issues/cs-p0")
    assert anon.url.endswith("/login")


def test_wrong_password_and_unknown_name_do_not_sign_in(page_url, browser):
    page = browser.new_page()
    sign_in(page, page_url, "li.na", password="not-the-password")
    page.wait_for_selector("text=Wrong name or password")
    assert page.url.endswith("/login")
    page.fill("input[name=name]", "nobody")
    page.fill("input[name=password]", "cs-handler-pass")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Wrong name or password")
