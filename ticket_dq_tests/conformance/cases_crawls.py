"""Every variation CONTRACT.md §1 allows on a competitor crawl: the contract lists crawls as JSON Lines
with `price_yuan`, but `<stem>.<csv|jsonl>` holds for every feed, money may be integer fen, and the
encodings, line ends, ISO times, column order and extra columns are the same as for any other feed.

One partner (PCRAWL, plain form) owns every cinema; MAOYAN crawls all of them in the contract's own
form; each variation is a platform of its own that crawls one cinema. At each cinema the partner lacks
a show both platforms list (SHOW_MISSING, source the partner), and the variation platform lists one
show 30 minutes off where the partner and MAOYAN agree (SHOW_TIME_MISMATCH, source that platform, at
the majority's time). A crawl read wrong loses the first, or raises price mismatches for every show.
"""

from __future__ import annotations

from ticket_dq_tests.conformance.harness import Case, Expect
from ticket_dq_tests.conformance.landing import BAD_SHA256, Landing, Style
from ticket_dq_tests.conformance.world import (
    DAY, MAOYAN, cinema, day_of, find, partner_rows, replaced, without,
)

PARTNER = "PCRAWL"
CRAWL_TS = f"{DAY} 09:00:00"
SNAPSHOT = f"{DAY} 09:00:00"
EXTRAS = (("crawler_version", "v2.3"), ("page_url", "https://example.invalid/c?id=1,2"))
STYLES: dict[str, Style] = {}
PARTNER_SHOWS: list = []


def variation(n: int, platform: str, style: Style, xfail: str | None = None) -> Case:
    STYLES[platform] = style
    c = cinema(n)
    truth = day_of(c)
    missing, off = find(truth, 2, "17:00"), find(truth, 1, "16:00")
    PARTNER_SHOWS.extend(without(truth, missing))
    return Case(platform, f"crawl as {style.describe()}: SHOW_MISSING of the partner and the platform's own time "
                "mismatch, nothing else", {platform}, {c.code},
                [Expect("SHOW_MISSING", PARTNER, c.code, f"{DAY} 17:00"),
                 Expect("SHOW_TIME_MISMATCH", platform, c.code, f"{DAY} 16:00")],
                xfail=xfail, listings={(MAOYAN, CRAWL_TS): truth,
                                       (platform, CRAWL_TS): replaced(truth, off, off.at("16:30"))})


CASES = [
    variation(201, "VPLAIN", Style(fmt="jsonl")),
    variation(202, "VJSONT", Style(fmt="jsonl", json_typed=True)),
    variation(203, "VFEN", Style(fmt="jsonl", money="fen")),
    variation(204, "VCRLF", Style(fmt="jsonl", newline="\r\n")),
    variation(205, "VISO", Style(fmt="jsonl", iso_times=True)),
    variation(206, "VXTRA", Style(fmt="jsonl", extras=EXTRAS, order="shuffled")),
    variation(207, "VCSV", Style(fmt="csv")),
    variation(208, "VCSVBOM", Style(fmt="csv", encoding="utf-8-sig", newline="\r\n")),
    variation(209, "VCSVGBK", Style(fmt="csv", encoding="gb18030", newline="\r\n")),
    variation(210, "VCSVALL", Style(fmt="csv", encoding="gb18030", newline="\r\n", money="fen", iso_times=True,
                                    order="reversed", extras=EXTRAS)),
    variation(211, "VJSONALL", Style(fmt="jsonl", newline="\r\n", money="yuan", yuan_digits="short", iso_times=True,
                                     order="shuffled", extras=EXTRAS, json_typed=True)),
]


def rejected_latest_crawl() -> Case:
    """The platform's 09:00 crawl fails its sha256; its 08:00 crawl stays current, so the faults found with
    it stand: the partner's missing show (confirmed by MAOYAN and this platform) and the platform's own
    time mismatch. The rejected crawl is one FEED_PARTIAL."""
    platform, early, late = "VSHA3", f"{DAY} 08:00:00", CRAWL_TS
    c = cinema(220)
    truth = day_of(c)
    missing, off = find(truth, 2, "17:00"), find(truth, 1, "16:00")
    PARTNER_SHOWS.extend(without(truth, missing))
    theirs = replaced(truth, off, off.at("16:30"))
    return Case(platform, "a platform's latest crawl rejected (bad sha256): FEED_PARTIAL; its previous crawl is "
                "current and the faults found with it stand", {platform}, {c.code},
                [Expect("FEED_PARTIAL", platform), Expect("SHOW_MISSING", PARTNER, c.code, f"{DAY} 17:00"),
                 Expect("SHOW_TIME_MISMATCH", platform, c.code, f"{DAY} 16:00")],
                listings={(MAOYAN, CRAWL_TS): truth, (platform, early): theirs, (platform, late): theirs},
                crawl_faults={(platform, late): BAD_SHA256})


CASES.append(rejected_latest_crawl())


def _partner(landing: Landing) -> None:
    landing.deliver("partner_schedule", PARTNER, DAY, f"{PARTNER}_20260501_0900", partner_rows(PARTNER_SHOWS, SNAPSHOT),
                    snapshot_ts=SNAPSHOT)


# The partner's one snapshot, for every crawl case's cinema (written after the cases collected their shows).
CASES.append(Case(PARTNER, "the partner all crawl cases compare with: its snapshot ingests whole", write=_partner,
                  check_issues=False))
