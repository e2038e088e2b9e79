"""Every variation CONTRACT.md §1 allows on a partner schedule, each alone and combined, one partner
per variation, all in one landing area with two platforms crawling in the contract's own form.

Each partner plants the same two faults in an otherwise correct day (a show 30 minutes late, a show
priced at twice what both platforms show), so a variation read right gives exactly those two issues,
and a variation read wrong gives too few (the file was refused) or too many (prices or times misread).
Also here: a platform whose latest crawl lists fewer cinemas than its previous one, and the money
values the contract does not allow (row-level quarantine, file rejection).
"""

from __future__ import annotations

from ticket_dq_tests.conformance.harness import Case, Expect
from ticket_dq_tests.conformance.landing import Landing, Raw, Style
from ticket_dq_tests.conformance.world import (
    DAY, MAOYAN, TAOPIAOPIAO, cinema, day_of, find, partner_rows, replaced,
)

SNAPSHOT = f"{DAY} 09:00:00"
CRAWLS = {(MAOYAN, f"{DAY} 07:00:00"), (MAOYAN, f"{DAY} 09:00:00"), (TAOPIAOPIAO, f"{DAY} 09:00:00")}
EXTRAS = (("remark", "直营店, 含3D"), ("partner_internal_id", "X-1"))


def planted(n: int, partner: str):
    """A cinema's day; the partner's copy has hall 2's 20:00 show at 20:30 and hall 1's 19:00 show at
    90 yuan + fee against the platforms' 47. The expected issues name the platforms' time."""
    c = cinema(n)
    truth = day_of(c)
    late, dear = find(truth, 2, "20:00"), find(truth, 1, "19:00")
    theirs = replaced(replaced(truth, late, late.at("20:30")), dear, dear.but(list_price=9900, sale_price=9000))
    expected = [Expect("SHOW_TIME_MISMATCH", partner, c.code, f"{DAY} 20:00"),
                Expect("SHOW_PRICE_MISMATCH", partner, c.code, f"{DAY} 19:00")]
    return c, truth, theirs, expected


STYLES: dict[str, Style] = {}


def variation(n: int, partner: str, style: Style, xfail: str | None = None) -> Case:
    c, truth, theirs, expected = planted(n, partner)
    STYLES[partner] = style

    def write(landing: Landing) -> None:
        landing.deliver("partner_schedule", partner, DAY, f"{partner}_20260501_0900",
                        partner_rows(theirs, SNAPSHOT), snapshot_ts=SNAPSHOT, style=style)

    return Case(partner, f"partner schedule as {style.describe()}: the two planted faults, nothing else",
                {partner}, {c.code}, expected, write=write, xfail=xfail,
                listings={k: truth for k in CRAWLS})


def control() -> Case:
    """Plain contract form; besides the two planted faults, one of each other partner-side mismatch."""
    partner = "PBASE"
    c, truth, theirs, expected = planted(1, partner)
    extra = find(truth, 1, "10:00").but(hall=3, start=f"{DAY} 10:30", code="SX0001")  # nobody else lists it
    moved = find(truth, 2, "14:00")
    wrong_film = find(truth, 1, "13:00")
    other = next(f for f in {s.film for s in truth} if f != wrong_film.film)
    theirs = replaced(replaced(theirs, moved, moved.but(hall=3)), wrong_film, wrong_film.but(film=other)) + [extra]
    expected = expected + [Expect("SHOW_EXTRA", partner, c.code, f"{DAY} 10:30"),
                           Expect("SHOW_HALL_MISMATCH", partner, c.code, f"{DAY} 14:00"),
                           Expect("SHOW_FILM_MISMATCH", partner, c.code, f"{DAY} 13:00")]

    def write(landing: Landing) -> None:
        landing.deliver("partner_schedule", partner, DAY, f"{partner}_20260501_0900",
                        partner_rows(theirs, SNAPSHOT), snapshot_ts=SNAPSHOT)

    return Case(partner, "plain contract form with one of each partner-side show mismatch", {partner}, {c.code},
                expected, write=write, listings={k: truth for k in CRAWLS})


def fewer_cinemas() -> Case:
    """MAOYAN's 07:00 crawl lists both of PFEW's cinemas (the second with a show at a time nobody else has);
    its 09:00 crawl, the current one, lists only the first. A platform does not list every cinema
    (CONTRACT.md §3): the second cinema is simply not covered by MAOYAN any more, so nothing is raised
    there, neither from the stale 07:00 listing nor for the shows MAOYAN stopped listing; the first
    cinema's planted fault, confirmed by both platforms' current crawls, is still found."""
    partner = "PFEW"
    c1, truth1, _, _ = planted(30, partner)
    c2 = cinema(31)
    truth2 = day_of(c2)
    shifted = find(truth2, 1, "16:00")
    stale2 = replaced(truth2, shifted, shifted.at("16:40"))
    theirs = replaced(truth1, find(truth1, 2, "20:00"), find(truth1, 2, "20:00").at("20:30")) + truth2

    def write(landing: Landing) -> None:
        landing.deliver("partner_schedule", partner, DAY, f"{partner}_20260501_0900",
                        partner_rows(theirs, SNAPSHOT), snapshot_ts=SNAPSHOT)

    return Case(partner, "a crawl that lists fewer cinemas than the platform's previous crawl", {partner},
                {c1.code, c2.code}, [Expect("SHOW_TIME_MISMATCH", partner, c1.code, f"{DAY} 20:00")], write=write,
                listings={(MAOYAN, f"{DAY} 07:00:00"): truth1 + stale2, (MAOYAN, f"{DAY} 09:00:00"): truth1,
                          (TAOPIAOPIAO, f"{DAY} 09:00:00"): truth1 + truth2})


def bad_money() -> list[Case]:
    """Money the contract does not allow: more than two decimals or not a number is a row-level
    quarantine naming the column; a file carrying both ``x_fen`` and ``x_yuan`` for one column is
    rejected with that reason. Ingestion only: which issues follow from a lost row is detection's call."""
    out = []
    c = cinema(40)
    rows = partner_rows(day_of(c), SNAPSHOT)
    rows[2]["sale_price"] = Raw("45.001")
    rows[6]["service_fee"] = Raw("四元")

    def write_bad(landing: Landing) -> None:
        landing.deliver("partner_schedule", "PBADYUAN", DAY, "PBADYUAN_20260501_0900", rows, snapshot_ts=SNAPSHOT,
                        style=Style(money="yuan"), bad_lines={4: "sale_price_yuan", 8: "service_fee_yuan"})

    out.append(Case("PBADYUAN", "a yuan value with three decimals and one that is not a number: those two rows "
                    "quarantined with the column named, the rest ingests", {"PBADYUAN"}, {c.code},
                    write=write_bad, check_issues=False,
                    listings={k: day_of(c) for k in CRAWLS}))
    c = cinema(41)

    def write_both(landing: Landing) -> None:
        landing.deliver("partner_schedule", "PBOTH", DAY, "PBOTH_20260501_0900", partner_rows(day_of(c), SNAPSHOT),
                        snapshot_ts=SNAPSHOT, style=Style(extras=(("sale_price_yuan", "45.10"),)),
                        expect="rejected", reason_mentions="sale_price")

    out.append(Case("PBOTH", "sale_price_fen and sale_price_yuan in one file: rejected, the reason names the column",
                    {"PBOTH"}, {c.code}, write=write_both, check_issues=False,
                    listings={k: day_of(c) for k in CRAWLS}))
    c = cinema(42)

    def write_broken(landing: Landing) -> None:
        landing.deliver("partner_schedule", "PBADJSON", DAY, "PBADJSON_20260501_0900",
                        partner_rows(day_of(c), SNAPSHOT), snapshot_ts=SNAPSHOT, style=Style(fmt="jsonl"),
                        broken_json_at=3, bad_lines={4: ""})

    out.append(Case("PBADJSON", "a JSON Lines partner file with one broken line: that line quarantined, the rest "
                    "ingests", {"PBADJSON"}, {c.code}, write=write_broken, check_issues=False, listings={k: day_of(c) for k in CRAWLS}))
    return out


CASES = [
    control(),
    variation(2, "PYUAN", Style(money="yuan")),
    variation(3, "PYUANS", Style(money="yuan", yuan_digits="short")),
    variation(4, "PJSONL", Style(fmt="jsonl")),
    variation(5, "PJSONT", Style(fmt="jsonl", json_typed=True)),
    variation(6, "PBOM", Style(encoding="utf-8-sig")),
    variation(7, "PGBK", Style(encoding="gb18030")),
    variation(8, "PCRLF", Style(newline="\r\n")),
    variation(9, "PISO", Style(iso_times=True)),
    variation(10, "PREV", Style(order="reversed")),
    variation(11, "PSHUF", Style(order="shuffled")),
    variation(12, "PXTRA", Style(extras=EXTRAS)),
    variation(13, "PALLCSV", Style(encoding="gb18030", newline="\r\n", money="yuan", yuan_digits="short",
                                   iso_times=True, order="shuffled", extras=EXTRAS)),
    variation(14, "PALLJSON", Style(fmt="jsonl", newline="\r\n", money="yuan", iso_times=True, order="shuffled",
                                    extras=EXTRAS, json_typed=True)),
    variation(15, "PBOMYUAN", Style(encoding="utf-8-sig", newline="\r\n", money="yuan", order="reversed")),
    variation(16, "PGBALL", Style(encoding="gb18030", newline="\r\n", iso_times=True, order="reversed",
                                  extras=EXTRAS)),
    fewer_cinemas(),
    *bad_money(),
]
# The partner cases whose money arrives as `_yuan` columns (their fen is checked exactly).
YUAN_CASES = [c for c in CASES if c.name in STYLES and STYLES[c.name].money == "yuan"]
