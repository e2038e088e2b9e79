"""Orders, pickup codes, complaints and handler events in every form CONTRACT.md §1 allows, and a
rejected orders file while pickup codes for its orders are present.

One partner (PO, plain form) owns every cinema and both platforms agree with it. At each orders
cinema, hall 1's 19:00 show now starts at 19:30 everywhere: every live order bought for 19:00 is an
ORDER_SHOW_CHANGED (one row per order, source the partner that issued the tickets). Each orders
variation is one orders file from `internal` for its own cinema, so a file read wrong loses its orders'
issues. Each pickup-code variation is a channel partner of its own that hands one code to two orders
(PICKUP_CODE_DUPLICATE). Complaints are checked at the ledger (every row ingested). Handler events
are delivered after a first run, against the issues it raised: each variation confirms one issue.

The rejected orders file: ARCHITECTURE.md "Inhibition by cause" — a code whose order cannot be known
because the orders feed is broken is not an invalid code: it is SUPPRESSED by the orders feed's
FEED_PARTIAL, while faults the codes show by themselves (a duplicate code, a code whose known order
holds other seats) stand.
"""

from __future__ import annotations

from ticket_dq_tests.conformance.harness import Case, Expect
from ticket_dq_tests.conformance.landing import BAD_ROWS, BAD_SHA256, Landing, Style
from ticket_dq_tests.conformance.world import (
    DAY, MAOYAN, TAOPIAOPIAO, Code, Order, cinema, day_of, find, order_rows, partner_rows, pickup_rows, replaced,
)

PARTNER = "PO"
INTERNAL = "internal"
SNAPSHOT = f"{DAY} 09:00:00"
CRAWL_TS = f"{DAY} 09:00:00"
FILE_TS = f"{DAY} 08:30:00"
EXTRAS = (("ext_ref", "A-1"), ("note", "门店, 直营"))
PARTNER_SHOWS: list = []
ORDERS: dict[int, list[Order]] = {}


def _both(shows) -> dict:
    return {(MAOYAN, CRAWL_TS): shows, (TAOPIAOPIAO, CRAWL_TS): shows}


def orders_case(n: int, name: str, style: Style, xfail: str | None = None) -> Case:
    c = cinema(n)
    truth = day_of(c)
    bought = find(truth, 1, "19:00")
    now = replaced(truth, bought, bought.at("19:30"))  # the partner and both platforms agree
    PARTNER_SHOWS.extend(now)
    orders = [Order(f"O{n}A", PARTNER, bought, ("5排1座", "5排2座")), Order(f"O{n}B", PARTNER, bought, ("5排3座",)),
              Order(f"O{n}C", PARTNER, find(truth, 2, "14:00"), ("6排1座",))]
    ORDERS[n] = orders

    def write(landing: Landing) -> None:
        landing.deliver("orders", INTERNAL, DAY, f"orders_{name}", order_rows(orders), snapshot_ts=FILE_TS, style=style)

    return Case(name, f"orders as {style.describe()}: one ORDER_SHOW_CHANGED per order of the moved show",
                set(), {c.code}, [Expect("ORDER_SHOW_CHANGED", PARTNER, c.code, order_id=o.order_id) for o in orders[:2]],
                write=write, xfail=xfail, listings=_both(now))


PLAIN_ORDERS = 301


def codes_case(channel: str, style: Style, xfail: str | None = None) -> Case:
    """The channel partner hands code K-<channel>-1 to two orders of the plain orders file, K-<channel>-2 to a third."""
    a, b, c = ORDERS[PLAIN_ORDERS]
    codes = [Code(f"K-{channel}-1", a, channel), Code(f"K-{channel}-1", b, channel), Code(f"K-{channel}-2", c, channel)]

    def write(landing: Landing) -> None:
        landing.deliver("pickup_codes", channel, DAY, f"codes_{channel}", pickup_rows(codes), snapshot_ts=FILE_TS,
                        style=style)

    return Case(channel, f"pickup codes as {style.describe()}: one PICKUP_CODE_DUPLICATE, nothing else", {channel},
                set(), [Expect("PICKUP_CODE_DUPLICATE", channel, a.show.cinema.code, pickup_code=f"K-{channel}-1")],
                write=write, xfail=xfail)


def rejected_codes() -> Case:
    """A pickup-code file whose row count does not match: one FEED_PARTIAL of that channel partner, nothing else."""
    channel = "CREJ"
    a, b, c = ORDERS[PLAIN_ORDERS]
    codes = [Code("KR-1", a, channel), Code("KR-1", b, channel), Code("KR-2", c, channel)]

    def write(landing: Landing) -> None:
        landing.deliver("pickup_codes", channel, DAY, f"codes_{channel}", pickup_rows(codes), snapshot_ts=FILE_TS,
                        fault=BAD_ROWS)

    return Case(channel, "a pickup-code file with a wrong row count: FEED_PARTIAL, and nothing from the file",
                {channel}, set(), [Expect("FEED_PARTIAL", channel)], write=write)


def rejected_orders() -> Case:
    n = 350
    c = cinema(n)
    truth = day_of(c)
    PARTNER_SHOWS.extend(truth)
    show = find(truth, 1, "13:00")
    ok = [Order(f"O{n}{x}", PARTNER, show, (f"8排{i}座",)) for i, x in enumerate("ABFG", 1)]
    lost = [Order(f"O{n}{x}", PARTNER, show, (f"9排{i}座",)) for i, x in enumerate("CDE", 1)]
    a, b, f, g = ok
    ch = "TAOBAO"
    codes = [Code("KT-1", a, ch), Code("KT-2", b, ch, seats=("1排1座",)), Code("KT-6", f, ch), Code("KT-6", g, ch)]
    codes += [Code(f"KT-{i}", o, ch) for i, o in enumerate(lost, 3)]

    def write(landing: Landing) -> None:
        landing.deliver("orders", INTERNAL, DAY, "orders_0800", order_rows(ok), snapshot_ts=f"{DAY} 08:00:00")
        landing.deliver("orders", INTERNAL, DAY, "orders_0830", order_rows(lost), snapshot_ts=FILE_TS, fault=BAD_SHA256)
        landing.deliver("pickup_codes", ch, DAY, "codes_TAOBAO_0900", pickup_rows(codes), snapshot_ts=f"{DAY} 09:00:00")

    cause = ("FEED_PARTIAL", INTERNAL)
    expected = [Expect("PICKUP_CODE_INVALID", ch, c.code, pickup_code="KT-2"),
                Expect("PICKUP_CODE_DUPLICATE", ch, c.code, pickup_code="KT-6")]
    expected += [Expect("PICKUP_CODE_INVALID", ch, c.code, pickup_code=f"KT-{i}", status="SUPPRESSED", cause=cause)
                 for i in (3, 4, 5)]
    return Case("REJECTED_ORDERS", "an orders file rejected (bad sha256) while codes for its orders are present: those "
                "codes SUPPRESSED by the orders FEED_PARTIAL; a duplicate code and a seat mismatch on a known order stand",
                {ch}, {c.code}, expected, write=write, listings=_both(truth))


def complaints_case(name: str, style: Style, xfail: str | None = None) -> Case:
    a = ORDERS[PLAIN_ORDERS][0]
    rows = [{"complaint_id": f"C-{name}-{i}", "created_ts": f"{DAY} 09:0{i}:00", "channel": ch, "order_id": oid,
             "cinema_code": cc, "category": cat, "description": text}
            for i, (ch, oid, cc, cat, text) in enumerate([
                ("APP", a.order_id, a.show.cinema.code, "SHOW_CHANGED", "说好的19:00，怎么改成19:30了？"),
                ("HOTLINE", None, None, "OTHER", "咨询会员卡, \"积分\"规则"),
            ])]

    def write(landing: Landing) -> None:
        landing.deliver("complaints", INTERNAL, DAY, f"complaints_{name}", rows, snapshot_ts=f"{DAY} 09:10:00",
                        style=style)

    return Case(name, f"complaints as {style.describe()}: every row ingested", write=write, check_issues=False,
                xfail=xfail)


CASES = [
    orders_case(PLAIN_ORDERS, "OPLAIN", Style()),
    orders_case(302, "OYUAN", Style(money="yuan")),
    orders_case(303, "OJSONL", Style(fmt="jsonl")),
    orders_case(304, "OJSONT", Style(fmt="jsonl", json_typed=True, money="yuan")),
    orders_case(305, "OGBK", Style(encoding="gb18030", newline="\r\n")),
    orders_case(306, "OBOM", Style(encoding="utf-8-sig")),
    orders_case(307, "OISO", Style(iso_times=True)),
    orders_case(308, "OREV", Style(order="reversed")),
    orders_case(309, "OXTRA", Style(extras=EXTRAS, order="shuffled")),
    orders_case(310, "OALL", Style(encoding="gb18030", newline="\r\n", money="yuan", yuan_digits="short",
                                   iso_times=True, order="shuffled", extras=EXTRAS)),
]
CASES += [
    codes_case("CPLAIN", Style()),
    codes_case("CJSONL", Style(fmt="jsonl")),
    codes_case("CJSONT", Style(fmt="jsonl", json_typed=True, iso_times=True)),
    codes_case("CGBK", Style(encoding="gb18030", newline="\r\n")),
    codes_case("CBOM", Style(encoding="utf-8-sig")),
    codes_case("CISO", Style(iso_times=True)),
    codes_case("CREV", Style(order="reversed", extras=EXTRAS)),
    codes_case("CALL", Style(encoding="gb18030", newline="\r\n", iso_times=True, order="shuffled", extras=EXTRAS)),
    rejected_codes(),
    rejected_orders(),
    complaints_case("KPLAIN", Style()),
    complaints_case("KJSONL", Style(fmt="jsonl")),
    complaints_case("KGBK", Style(encoding="gb18030", newline="\r\n")),
    complaints_case("KBOM", Style(encoding="utf-8-sig", iso_times=True)),
    complaints_case("KXTRA", Style(order="reversed", extras=EXTRAS)),
]
# What no case owns: the one FEED_PARTIAL of the orders feed (its source is `internal`, shared).
AREA = [Expect("FEED_PARTIAL", INTERNAL)]


def _partner(landing: Landing) -> None:
    landing.deliver("partner_schedule", PARTNER, DAY, f"{PARTNER}_20260501_0900", partner_rows(PARTNER_SHOWS, SNAPSHOT),
                    snapshot_ts=SNAPSHOT)


CASES.append(Case(PARTNER, "the partner all order cases rest on: its snapshot ingests whole", write=_partner,
                  check_issues=False))

# Handler events (CONTRACT.md §3 issue_events) in each form, delivered after the first run against the
# ORDER_SHOW_CHANGED issues it raised; each file confirms one issue, then a second run.
# name -> (style, why today's code fails it)
EVENT_STYLES = {
    "EPLAIN": (Style(), None),
    "EJSONL": (Style(fmt="jsonl"), None),
    "EGBK": (Style(encoding="gb18030", newline="\r\n"), None),
    "EBOM": (Style(encoding="utf-8-sig"), None),
    "EISO": (Style(iso_times=True), None),
    "EXTRA": (Style(order="shuffled", extras=EXTRAS), None),
    "EALL": (Style(encoding="gb18030", newline="\r\n", iso_times=True, order="reversed", extras=EXTRAS), None),
}
LATER = f"{DAY} 09:40:00"
