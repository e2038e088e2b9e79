"""Outbox delivery to real loopback SMTP / HTTP servers: content, masking, outage, digests, escalation."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from ticket_dq import settings
from ticket_dq.lib import channels, outbox, routing
from ticket_dq_tests.routing.conftest import add_events, add_issue, add_order
from ticket_dq_tests.routing.servers import SmtpServer, WebhookServer, free_port, self_signed_cert

NOW = datetime(2026, 3, 8, 10, 5)
# A show-level issue first seen this long before NOW has outlived the shipped routes' pending_for (10m).
HELD_SINCE = NOW - timedelta(minutes=15)
UNMASKED = re.compile(r"(?<!\d)1\d{10}(?!\d)")

CFG = """
route:
  receiver: $team
  group_by: [team]
  repeat_interval: 2h
  routes:
    - name: cs-near
      match: {category: [ORDER_SHOW_CHANGED], severity: [P0, P1], hours_to_show_lte: 24}
      receiver: CS
      continue: true
    - name: bd-partner
      match: {category: [SHOW_TIME_MISMATCH, SHOW_MISSING, ORDER_SHOW_CHANGED]}
      receiver: BD
      group_by: [team, source]
teams:
  CS:
    ack_sla: 15m
    escalate_to: [cs-lead@x.com]
    channels:
      - {type: smtp, recipients: [cs-duty@x.com]}
      - {type: webhook, recipients: [cs-chat]}
  BD:
    ack_sla: 1h
    escalate_to: [bd-lead@x.com]
    channels:
      - {type: smtp, recipients: [bd@x.com, bd2@x.com]}
""" + "".join(f"  {t}:\n    channels:\n      - {{type: file, recipients: [{t.lower()}@x.com]}}\n"
              for t in ("RD", "PM", "OPS", "SALES"))


@pytest.fixture
def cfg():
    return routing.parse(CFG, "test-routes.yaml")


def env_for(smtp_port, webhook_url=None, fmt="feishu"):
    values = {"TICKET_DQ_SMTP_HOST": "127.0.0.1", "TICKET_DQ_SMTP_PORT": str(smtp_port),
              "TICKET_DQ_SMTP_FROM": "dq@tickets.example.com"}
    if webhook_url:
        values |= {"TICKET_DQ_WEBHOOK_URL": webhook_url, "TICKET_DQ_WEBHOOK_FORMAT": fmt}
    return values.get


def seed(con):
    add_order(con, "O1", "13812345678", datetime(2026, 3, 8, 14, 0))
    add_order(con, "O2", "15900001111", datetime(2026, 3, 8, 14, 0))
    for oid in ("O1", "O2"):
        add_issue(con, f"ORD-{oid}", category="ORDER_SHOW_CHANGED", severity="P0", team="CS", order_id=oid,
                  show_start_time=datetime(2026, 3, 8, 14, 0), reason="show moved from 14:00 to 15:30",
                  evidence='{"old_start": "14:00", "new_start": "15:30", "note": "call 13812345678"}')
    add_issue(con, "SHOW-1", source="FH", reason="FH shows 19:30, Maoyan and Taopiaopiao show 20:00")
    add_issue(con, "SHOW-2", source="FH", category="SHOW_MISSING", reason="show missing at FH")
    add_issue(con, "SHOW-3", source="DX", reason="DX start time differs")


def test_routed_issues_arrive_as_real_mail_and_chat_with_masked_mobiles(con, cfg):
    seed(con)
    with SmtpServer() as smtp, WebhookServer() as hook:
        chans = channels.channels_from_env(env_for(smtp.port, hook.url))
        res = outbox.run_cycle(con, cfg, chans, NOW)
    assert res["dispatch"]["messages_failed"] == 0
    by_rcpt = {}
    for m in smtp.messages:
        by_rcpt.setdefault(tuple(m["rcpt"]), []).append(m)
    # CS: one digest with both orders, masked mobiles, what to tell the customer.
    (cs,) = by_rcpt[("cs-duty@x.com",)]
    assert "ORD-O1" in cs["body"] and "ORD-O2" in cs["body"]
    assert "138****5678" in cs["body"] and "159****1111" in cs["body"]
    assert "Tell the customer" in cs["body"]
    # BD: one digest per partner (group_by source), naming partner, shows and evidence; to both BD people.
    assert len(by_rcpt[("bd@x.com",)]) == 2 and len(by_rcpt[("bd2@x.com",)]) == 2  # partner FH, partner DX
    fh = [m for m in by_rcpt[("bd@x.com",)] if "SHOW-1" in m["body"]][0]
    assert "Partner FH" in fh["body"] and "SHOW-2" in fh["body"] and "ORD-O1" in fh["body"]
    assert "evidence" in fh["body"] and "call 138****5678" in fh["body"]
    for m in smtp.messages:
        assert not UNMASKED.search(m["body"] + m["subject"]), m["body"]
    # Webhook: Feishu payload for the CS chat.
    (chat,) = hook.received
    assert chat["json"]["msg_type"] == "text" and "@cs-chat" in chat["json"]["content"]["text"]
    assert not UNMASKED.search(chat["json"]["content"]["text"])
    # Every row is SENT exactly once; nothing stays pending.
    assert outbox.status_counts(con) == {"SENT": 2 * 2 + 5 * 2 + 0}
    assert con.execute("SELECT max(attempts) FROM dq.notifications").fetchall()[0][0] == 1


def test_smtp_outage_keeps_rows_pending_then_delivers_exactly_once(con, cfg):
    seed(con)
    port = free_port()  # nothing listens here yet: connection refused
    chans = channels.channels_from_env(env_for(port))
    res = outbox.run_cycle(con, cfg, chans, NOW)
    assert res["dispatch"]["messages_sent"] == 0 and "smtp" in res["dispatch"]["broken_channels"]
    rows = con.execute("SELECT status, count(*), max(attempts) FROM dq.notifications GROUP BY status "
                       "ORDER BY status").fetchall()
    total = sum(r[1] for r in rows)
    assert {r[0] for r in rows} <= {"PENDING", "RETRY"} and total == 12
    assert con.execute("SELECT count(*) FROM dq.notifications WHERE status = 'RETRY' AND error LIKE 'smtp%'"
                       ).fetchall()[0][0] >= 1
    # Retried too early: backoff keeps the failed group waiting; nothing is lost either way.
    with SmtpServer(port) as smtp:
        # A "restart": fresh channel objects, state only from the table.
        later = NOW + timedelta(minutes=5)
        outbox.run_cycle(con, cfg, channels.channels_from_env(env_for(port)), later)
        outbox.run_cycle(con, cfg, channels.channels_from_env(env_for(port)), later + timedelta(seconds=30))
        outbox.run_cycle(con, cfg, channels.channels_from_env(env_for(port)), later + timedelta(minutes=1))
    assert outbox.status_counts(con) == {"SENT": 12}
    ids = [m["message_id"] for m in smtp.messages]
    assert len(ids) == len(set(ids)) == 5  # 1 CS + 2 BD partner groups x 2 recipients, each once
    sent_issues = sorted(i for m in smtp.messages for i in re.findall(r"(?:ORD-O\d|SHOW-\d)", m["body"])
                         if m["rcpt"] == ["bd@x.com"])
    assert sent_issues == sorted(set(sent_issues))  # no issue twice to the same person


def test_rerouting_same_issues_adds_no_rows_and_sends_nothing_again(con, cfg, tmp_path):
    seed(con)
    chans = {"file": channels.FileChannel(tmp_path / "out")}
    cfg_file = routing.parse(CFG.replace("type: smtp", "type: file").replace("type: webhook", "type: file"))
    first = outbox.run_cycle(con, cfg_file, chans, NOW)
    second = outbox.run_cycle(con, cfg_file, chans, NOW + timedelta(minutes=1))
    assert first["routed"]["inserted"] > 0 and second["routed"]["inserted"] == 0
    assert second["dispatch"]["messages_sent"] == 0
    files = list((tmp_path / "out").rglob("*.txt"))
    assert len(files) == first["dispatch"]["messages_sent"]


def test_digest_groups_many_issues_into_one_message_per_group(con, cfg):
    for i in range(40):
        add_issue(con, f"S{i:02d}", source=("FH" if i % 2 else "DX"))
    with SmtpServer() as smtp:
        res = outbox.run_cycle(con, cfg, channels.channels_from_env(env_for(smtp.port)), NOW)
    # 40 issues -> BD grouped by source: 2 groups x 2 recipients = 4 messages, 80 rows.
    assert res["dispatch"]["messages_sent"] == 4 and res["dispatch"]["rows_sent"] == 80
    fh = [m for m in smtp.messages if m["rcpt"] == ["bd@x.com"] and "Partner FH" in m["body"]][0]
    assert fh["subject"].startswith("[ticket-dq][BD][P2] 20 data issues")


def test_group_wait_holds_a_group_until_it_is_old_enough(con, cfg, tmp_path):
    add_issue(con, "S1")
    waiting = routing.parse(CFG.replace("group_by: [team, source]", "group_by: [team, source]\n      group_wait: 10m"))
    with SmtpServer() as smtp:
        chans = lambda: channels.channels_from_env(env_for(smtp.port))  # noqa: E731
        assert outbox.run_cycle(con, waiting, chans(), NOW)["dispatch"]["messages_sent"] == 0
        add_issue(con, "S2", first_detected_at=NOW)
        assert outbox.run_cycle(con, waiting, chans(), NOW + timedelta(minutes=5))["dispatch"]["messages_sent"] == 0
        res = outbox.run_cycle(con, waiting, chans(), NOW + timedelta(minutes=10))
    assert res["dispatch"]["messages_sent"] == 2  # one digest with S1 and S2, to each BD recipient
    assert all("S1" in m["body"] and "S2" in m["body"] for m in smtp.messages)


def test_escalation_fires_after_the_sla_and_not_before_nor_when_acknowledged(con, cfg, tmp_path):
    detected = datetime(2026, 3, 8, 10, 0)
    for oid in ("A", "B"):
        add_issue(con, f"ORD-{oid}", category="ORDER_SHOW_CHANGED", severity="P1", team="CS", order_id=oid,
                  show_start_time=datetime(2026, 3, 8, 20, 0), first_detected_at=detected)
    add_events(con, [("2026-03-08 10:10:00", "ORD-B", "ACKNOWLEDGED")])  # B is owned within the SLA
    with SmtpServer() as smtp:
        chans = lambda: channels.channels_from_env(env_for(smtp.port))  # noqa: E731
        before = outbox.run_cycle(con, cfg, chans(), detected + timedelta(minutes=14, seconds=59))
        assert before["routed"]["escalations"] == 0
        after = outbox.run_cycle(con, cfg, chans(), detected + timedelta(minutes=15))
        again = outbox.run_cycle(con, cfg, chans(), detected + timedelta(minutes=20))
    assert after["routed"]["escalations"] == 1 and again["routed"]["escalations"] == 0
    esc = [m for m in smtp.messages if m["rcpt"] == ["cs-lead@x.com"]]
    assert len(esc) == 1 and "ESCALATION" in esc[0]["subject"] and "ORD-A" in esc[0]["body"]
    assert "ORD-B" not in esc[0]["body"]


def test_repeat_interval_resends_still_open_issues(con, cfg):
    add_issue(con, "S1", first_detected_at=datetime(2026, 3, 8, 10, 0))
    add_issue(con, "S2", first_detected_at=datetime(2026, 3, 8, 10, 0))
    add_events(con, [("2026-03-08 10:30:00", "S2", "FALSE_POSITIVE")])
    with SmtpServer() as smtp:
        chans = lambda: channels.channels_from_env(env_for(smtp.port))  # noqa: E731
        outbox.run_cycle(con, cfg, chans(), datetime(2026, 3, 8, 10, 5))
        outbox.run_cycle(con, cfg, chans(), datetime(2026, 3, 8, 11, 59))
        outbox.run_cycle(con, cfg, chans(), datetime(2026, 3, 8, 12, 0))
    bodies = [m["body"] for m in smtp.messages if m["rcpt"] == ["bd@x.com"]]
    assert len(bodies) == 2 and "S1" in bodies[1] and "S2" not in bodies[1]
    assert con.execute("SELECT count(*) FROM dq.notifications WHERE occurrence = 'repeat-1'").fetchall()[0][0] == 2


def test_webhook_error_answer_is_retried(con, cfg):
    add_issue(con, "ORD-X", category="ORDER_SHOW_CHANGED", severity="P0", team="CS", order_id="X",
              show_start_time=datetime(2026, 3, 8, 12, 0))
    with WebhookServer(status=500) as hook:
        chans = {"webhook": channels.WebhookChannel(hook.url, "dingtalk")}
        res = outbox.run_cycle(con, cfg, chans, NOW)
        assert res["dispatch"]["messages_failed"] == 1
        hook.status = 200
        outbox.dispatch(con, {"webhook": channels.WebhookChannel(hook.url, "dingtalk")}, NOW + timedelta(minutes=2))
    assert len(hook.received) == 1 and hook.received[0]["json"]["msgtype"] == "text"
    assert con.execute("SELECT status, attempts FROM dq.notifications").fetchall() == [("SENT", 2)]


def test_masking_covers_any_eleven_digit_mobile_but_not_longer_numbers():
    from ticket_dq.lib.messages import mask
    assert mask("tel 13812341234, alt:15900001111.") == "tel 138****1234, alt:159****1111."
    assert mask("order 202603081381234123499") == "order 202603081381234123499"


def test_the_leak_finder_sees_mobiles_in_text_but_not_the_fraction_of_a_float():
    from ticket_dq.lib.masking import find_mobiles
    assert find_mobiles("tel 13812341234, tel.15900001111; 1.5 h") == ["13812341234", "15900001111"]
    # A step duration as Dagster's event log stores it: the 11 digits after the point are no number.
    assert find_mobiles('{"duration_ms": 1635.13756399462}') == []
    assert find_mobiles("138****1234 and sha 13812341234" + "a" * 32) == []


def test_default_local_channel_is_file_under_outbox(con, isolated_env):
    add_issue(con, "S1", first_detected_at=HELD_SINCE)
    cfg = routing.load(settings.routes_path())
    res = outbox.run_cycle(con, cfg, channels.channels_from_env(lambda _: None), NOW)
    assert res["dispatch"]["messages_sent"] == 1
    (f,) = list((isolated_env["tmp"] / "outbox").rglob("*.txt"))
    text = f.read_text()
    assert "S1" in text and "partner start time differs" in text and f.parent.name.startswith("bd-")


def test_reopened_issue_is_notified_again_once(con, cfg):
    add_issue(con, "S1", first_detected_at=datetime(2026, 3, 8, 10, 0))
    with SmtpServer() as smtp:
        chans = lambda: channels.channels_from_env(env_for(smtp.port))  # noqa: E731
        outbox.run_cycle(con, cfg, chans(), datetime(2026, 3, 8, 10, 5))
        # dq.issues rebuilt: the issue was resolved and has now been reopened at 10:40.
        con.execute("UPDATE dq.issues SET status = 'OPEN', status_changed_at = TIMESTAMP '2026-03-08 10:40:00'")
        outbox.run_cycle(con, cfg, chans(), datetime(2026, 3, 8, 10, 45))
        outbox.run_cycle(con, cfg, chans(), datetime(2026, 3, 8, 10, 50))
    assert len([m for m in smtp.messages if m["rcpt"] == ["bd@x.com"]]) == 2


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login_uses_user_and_password_from_settings_and_bad_password_is_retried(con, cfg):
    add_issue(con, "S1")
    with SmtpServer(credentials=("dq-bot", "s3cret")) as smtp:
        bad = {"TICKET_DQ_SMTP_HOST": "127.0.0.1", "TICKET_DQ_SMTP_PORT": str(smtp.port),
               "TICKET_DQ_SMTP_USER": "dq-bot", "TICKET_DQ_SMTP_PASSWORD": "wrong"}
        res = outbox.run_cycle(con, cfg, channels.channels_from_env(bad.get), NOW)
        assert res["dispatch"]["messages_failed"] == 1 and not smtp.messages
        good = {**bad, "TICKET_DQ_SMTP_PASSWORD": "s3cret"}
        outbox.dispatch(con, channels.channels_from_env(good.get), NOW + timedelta(minutes=2))
    assert smtp.logins == ["dq-bot"] and len(smtp.messages) == 2  # bd@ and bd2@
    assert outbox.status_counts(con) == {"SENT": 2}


def test_starttls_verifies_the_servers_certificate_before_sending(con, cfg, tmp_path):
    add_issue(con, "S1")
    certfile, keyfile = self_signed_cert(tmp_path)
    with SmtpServer(credentials=("dq-bot", "s3cret"), tls=(certfile, keyfile)) as smtp:
        env = {"TICKET_DQ_SMTP_HOST": "127.0.0.1", "TICKET_DQ_SMTP_PORT": str(smtp.port),
               "TICKET_DQ_SMTP_USER": "dq-bot", "TICKET_DQ_SMTP_PASSWORD": "s3cret", "TICKET_DQ_SMTP_STARTTLS": "1"}
        # A certificate nobody we trust signed: nothing is sent (no password over an unverified channel).
        res = outbox.run_cycle(con, cfg, channels.channels_from_env(env.get), NOW)
        assert res["dispatch"]["messages_failed"] == 1 and not smtp.messages and not smtp.logins
        error = con.execute("SELECT any_value(error) FROM dq.notifications WHERE error IS NOT NULL").fetchall()[0][0]
        assert "CERTIFICATE_VERIFY_FAILED" in error
        # Trusting the server's CA (TICKET_DQ_SMTP_CAFILE): the retry goes through STARTTLS and AUTH.
        trusted = {**env, "TICKET_DQ_SMTP_CAFILE": str(certfile)}
        outbox.dispatch(con, channels.channels_from_env(trusted.get), NOW + timedelta(minutes=2))
    assert smtp.logins == ["dq-bot"] and len(smtp.messages) == 2
    assert outbox.status_counts(con) == {"SENT": 2}


def test_plain_smtp_is_refused_by_a_server_that_requires_starttls(con, cfg, tmp_path):
    add_issue(con, "S1")
    with SmtpServer(tls=self_signed_cert(tmp_path)) as smtp:
        env = {"TICKET_DQ_SMTP_HOST": "127.0.0.1", "TICKET_DQ_SMTP_PORT": str(smtp.port)}
        res = outbox.run_cycle(con, cfg, channels.channels_from_env(env.get), NOW)
    assert res["dispatch"]["messages_failed"] == 1 and not smtp.messages
    counts = outbox.status_counts(con)  # the broken channel is not tried again within the same cycle
    assert counts.get("RETRY", 0) >= 1 and "SENT" not in counts


def test_summary_lists_notifications_by_team_channel_and_status(con, tmp_path):
    add_issue(con, "S1", first_detected_at=HELD_SINCE)
    assert "none yet" in outbox.summary_text(con)
    cfg = routing.load(settings.routes_path())
    outbox.run_cycle(con, cfg, {"file": channels.FileChannel(tmp_path / "o")}, NOW)
    text = outbox.summary_text(con)
    (line,) = [ln for ln in text.splitlines() if " BD " in ln]
    assert line.split()[-6:] == ["file", "1", "0", "0", "0", "1"]
