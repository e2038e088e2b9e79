"""Feed faults that collide with show-level faults of the same partner and business date.

Every partner here has the same five faults in its schedule, confirmed by both platforms' crawls: a
show it lacks, a show at twice the price, a show listed under two codes, two shows overlapping in one
hall, a show 30 minutes off. Each partner delivers three snapshots and one feed fault sits on the
first, a middle or the latest delivery (bad sha256, wrong row count, a file cut short, a much smaller
snapshot), or the partner falls silent.

Expected, from CONTRACT.md and ARCHITECTURE.md's "Inhibition by cause": the feed fault is one issue
(FEED_PARTIAL / FEED_VOLUME_DROP / FEED_LATE for the source and date); a rejected or incomplete delivery
leaves the previous complete snapshot current, and the five faults found in it stand, OPEN.
"""

from __future__ import annotations

from ticket_dq_tests.conformance.harness import Case, Expect
from ticket_dq_tests.conformance.landing import BAD_ROWS, BAD_SHA256, CUT_SHORT, Landing
from ticket_dq_tests.conformance.world import (
    DAY, MAOYAN, TAOPIAOPIAO, cinema, day_of, find, partner_rows, replaced, without,
)

CRAWL_TS = f"{DAY} 09:00:00"
ON_TIME = (f"{DAY} 07:00:00", f"{DAY} 08:00:00", f"{DAY} 09:00:00")
SILENT = (f"{DAY} 06:00:00", f"{DAY} 06:30:00", f"{DAY} 07:30:00")  # 120 min before NOW (09:30)
SMALL = "small"  # a complete delivery of a much smaller snapshot


def faulty_schedule(n: int, partner: str):
    """Two cinemas: the platforms' listing (the truth) and the partner's copy with five faults."""
    a, b = cinema(n), cinema(n + 1)
    truth_a, truth_b = day_of(a), day_of(b)
    # b: hall 1's 13:00 show really runs at 11:30, while the 10:00 show is still on (everyone lists it so)
    early = find(truth_b, 1, "13:00")
    truth_b = replaced(truth_b, early, early.at("11:30"))
    missing, dear, twice = find(truth_a, 2, "17:00"), find(truth_a, 1, "19:00"), find(truth_a, 1, "16:00")
    theirs_a = replaced(without(truth_a, missing), dear, dear.but(list_price=9900, sale_price=9000))
    theirs_a.append(twice.but(code=twice.code + "B"))  # the same show under a second code
    late = find(truth_b, 2, "20:00")
    theirs_b = replaced(truth_b, late, late.at("20:30"))
    expected = [
        Expect("SHOW_MISSING", partner, a.code, f"{DAY} 17:00"),
        Expect("SHOW_PRICE_MISMATCH", partner, a.code, f"{DAY} 19:00"),
        Expect("SHOW_DUPLICATE", partner, a.code, f"{DAY} 16:00"),
        Expect("HALL_OVERLAP", partner, b.code, f"{DAY} 11:30"),
        Expect("SHOW_TIME_MISMATCH", partner, b.code, f"{DAY} 20:00"),
    ]
    return (a, b), truth_a + truth_b, theirs_a + theirs_b, expected


def case(n: int, partner: str, what: str, faults: dict[int, str], feed_issue: str | None,
         times=ON_TIME, xfail: str | None = None) -> Case:
    cinemas, truth, theirs, expected = faulty_schedule(n, partner)
    if feed_issue:
        expected = expected + [Expect(feed_issue, partner)]

    def write(landing: Landing) -> None:
        for i, ts in enumerate(times):
            fault = faults.get(i)
            shows = theirs[:3] if fault == SMALL else theirs
            landing.deliver("partner_schedule", partner, DAY, f"{partner}_{ts[:10].replace('-', '')}_{ts[11:13]}{ts[14:16]}",
                            partner_rows(shows, ts), snapshot_ts=ts, fault=None if fault == SMALL else fault)

    return Case(partner, what, {partner}, {c.code for c in cinemas}, expected, write=write, xfail=xfail,
                listings={(MAOYAN, CRAWL_TS): truth, (TAOPIAOPIAO, CRAWL_TS): truth})


CASES = [
    case(101, "PF0", "three complete snapshots: the five faults, OPEN", {}, None),
    case(103, "PSHA1", "first delivery's sha256 does not match: FEED_PARTIAL; the faults stand",
         {0: BAD_SHA256}, "FEED_PARTIAL"),
    case(105, "PROWS2", "middle delivery's row count does not match: FEED_PARTIAL; the faults stand",
         {1: BAD_ROWS}, "FEED_PARTIAL"),
    case(107, "PSHA3", "latest delivery's sha256 does not match: FEED_PARTIAL; the previous snapshot is current "
         "and its faults stand", {2: BAD_SHA256}, "FEED_PARTIAL"),
    case(109, "PROWS3", "latest delivery's row count does not match: FEED_PARTIAL; the previous snapshot is current "
         "and its faults stand", {2: BAD_ROWS}, "FEED_PARTIAL"),
    case(111, "PCUT3", "latest delivery cut short (manifest describes the whole file): FEED_PARTIAL; the previous "
         "snapshot is current and its faults stand", {2: CUT_SHORT}, "FEED_PARTIAL"),
    case(113, "PVOL2", "a middle snapshot with 3 of 19 shows: FEED_VOLUME_DROP; the faults stand",
         {1: SMALL}, "FEED_VOLUME_DROP"),
    case(115, "PVOL3", "the latest snapshot with 3 of 19 shows: FEED_VOLUME_DROP; the previous snapshot stays "
         "current and its faults stand", {2: SMALL}, "FEED_VOLUME_DROP"),
    case(117, "PLATE", "silent for 120 minutes: FEED_LATE; its last snapshot is still its word, the faults stand",
         {}, "FEED_LATE", times=SILENT),
    case(119, "PLATE3", "silent for 120 minutes and its latest delivery's sha256 does not match: FEED_LATE and "
         "FEED_PARTIAL; the faults of the complete snapshot before stand", {2: BAD_SHA256}, "FEED_PARTIAL",
         times=SILENT),
]
CASES[-1].expected.append(Expect("FEED_LATE", "PLATE3"))
