"""Cases, expected issues, and the one contact with the product: ``ticket-dq materialize`` in a child
process on a landing area, then the warehouse it leaves read with plain duckdb (CONTRACT.md §4 tables,
the ledger ``meta.ingested_files`` and ``raw.quarantine``). No ticket_dq import.

An issue belongs to the case that owns its ``source`` (a partner or channel partner only that case
uses), or, when the source is shared by several cases (a platform, ``internal``), to the case that
owns its ``cinema_code``. What no case owns is the area's: the area states those issues itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb

from ticket_dq_tests.conformance import spec
from ticket_dq_tests.conformance.landing import Delivery, Landing, Style
from ticket_dq_tests.conformance.world import DAY, MAOYAN, NOW, TAOPIAOPIAO, crawl_rows, reference_rows


@dataclass(frozen=True)
class Expect:
    """One issue as CONTRACT.md §4 describes it, at the granularity the contract gives its category."""

    category: str
    source: str
    cinema: str | None = None
    start: str | None = None  # show-level: 'YYYY-MM-DD HH:MM' as the majority of sources have it
    order_id: str | None = None  # order-level categories
    pickup_code: str | None = None  # PICKUP_CODE_*
    business_date: str = DAY
    status: str = "OPEN"
    cause: tuple[str, str] | None = None  # SUPPRESSED: (category, source) of the issue that suppresses it

    def row(self) -> tuple:
        return (self.category, self.source, self.cinema, self.start, self.order_id, self.pickup_code,
                self.business_date, self.status, self.cause)


def key_of(issue: dict) -> tuple:
    """The contract's identity of an issue: category, source and the business key of its granularity."""
    cat = issue["category"]
    start = issue["show_start_time"].strftime("%Y-%m-%d %H:%M") if issue["show_start_time"] and cat in spec.SHOW_LEVEL else None
    return (cat, issue["source"], None if cat in spec.FEED_LEVEL else issue["cinema_code"], start,
            issue["order_id"] if cat in spec.ORDER_LEVEL else None,
            issue["pickup_code"] if cat in spec.CODE_LEVEL else None,
            str(issue["business_date"]) if issue["business_date"] else None)


@dataclass
class Case:
    name: str
    what: str  # one sentence: the variation or fault, and what the contract says must follow
    sources: set[str] = field(default_factory=set)  # sources only this case uses
    cinemas: set[str] = field(default_factory=set)
    expected: list[Expect] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    xfail: str | None = None  # why today's code fails it (issue 12)
    check_issues: bool = True  # False: the case is about ingestion only (ledger, quarantine)
    write: Callable[[Landing], None] | None = None  # writes the case's files into a landing area
    listings: dict[tuple[str, str], list] = field(default_factory=dict)  # (platform, crawl_ts) -> shows listed
    crawl_faults: dict[tuple[str, str], str] = field(default_factory=dict)  # (platform, crawl_ts) -> manifest fault


def write_all(landing: Landing, cases: list[Case], crawl_styles: dict[str, Style] | None = None,
              platforms: tuple[str, ...] = (MAOYAN, TAOPIAOPIAO)) -> None:
    """Write every case into one landing area (each case keeps the deliveries it made), the
    reference data for every cinema a case uses, and one crawl per (platform, crawl_ts) a case
    lists shows for, in the contract's own form (JSON Lines) unless ``crawl_styles`` says otherwise."""
    for c in cases:
        before = len(landing.deliveries)
        if c.write:
            c.write(landing)
        c.deliveries = landing.deliveries[before:]
    cinemas = {s.cinema for c in cases for shows in c.listings.values() for s in shows}
    listed = sorted({p for c in cases for p, _ in c.listings})
    for name, rows in reference_rows(sorted(cinemas, key=lambda x: x.code), sorted(set(platforms) | set(listed))).items():
        landing.reference(name, rows)
    for platform, ts in sorted({k for c in cases for k in c.listings}):
        shows = [s for c in cases for s in c.listings.get((platform, ts), [])]
        stem = f"{platform}_{ts[:10].replace('-', '')}_{ts[11:13]}{ts[14:16]}"
        style = (crawl_styles or {}).get(platform, Style(fmt="jsonl"))
        fault = next((c.crawl_faults[(platform, ts)] for c in cases if (platform, ts) in c.crawl_faults), None)
        d = landing.deliver("competitor_schedule", platform, ts[:10], stem, crawl_rows(platform, shows, ts),
                            snapshot_ts=ts, style=style, fault=fault)
        for c in cases:  # a crawl some case is about belongs to that case too
            if c.sources & {platform}:
                c.deliveries.append(d)


@dataclass
class Result:
    issues: list[dict]
    ledger: dict[str, dict]
    quarantine: list[dict]
    by_id: dict[str, dict]
    warehouse: Path
    output: str

    def issue_row(self, issue: dict) -> tuple:
        cause = None
        if issue["status"] == "SUPPRESSED" and issue.get("suppressed_by") in self.by_id:
            c = self.by_id[issue["suppressed_by"]]
            cause = (c["category"], c["source"])
        return key_of(issue) + (issue["status"], cause)


def _rows(con, sql: str) -> list[dict]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def materialize(landing: Landing, tmp: Path, now: str = NOW) -> Result:
    """``ticket-dq materialize`` as a user runs it, in its own process, on temp paths."""
    warehouse = tmp / "warehouse" / "ticket_dq.duckdb"
    home = tmp / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKET_DQ_")}
    env.update(TICKET_DQ_LANDING=str(landing.root), TICKET_DQ_WAREHOUSE=str(warehouse), TICKET_DQ_NOW=now,
               TICKET_DQ_OUTBOX=str(tmp / "outbox"), DAGSTER_HOME=str(home))
    exe = Path(sys.executable).parent / "ticket-dq"
    proc = subprocess.run([str(exe), "materialize"], env=env, cwd=tmp, capture_output=True, text=True, timeout=900)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"ticket-dq materialize exited {proc.returncode}:\n{output[-6000:]}"
    return read(warehouse, output)


def read(warehouse: Path, output: str = "") -> Result:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        issues = _rows(con, "SELECT * FROM dq.issues")
        ledger = {r["file"]: r for r in _rows(con, "SELECT * FROM meta.ingested_files")}
        quarantine = _rows(con, "SELECT feed, source, ingest_file, ingest_line, reason FROM raw.quarantine")
    return Result(issues, ledger, quarantine, {i["issue_id"]: i for i in issues}, warehouse, output)


def owner(issue: dict, cases: list[Case]) -> Case | None:
    owned = {s: c for c in cases for s in c.sources}
    if issue["source"] in owned:
        return owned[issue["source"]]
    return next((c for c in cases if issue["cinema_code"] and issue["cinema_code"] in c.cinemas), None)


def compare(expected: list[tuple], actual: list[tuple]) -> str | None:
    """None when equal as multisets; else per-category precision / recall and the differences."""
    e, a = Counter(expected), Counter(actual)
    if e == a:
        return None
    lines = ["category               expected emitted  precision recall"]
    for cat in sorted({r[0] for r in e} | {r[0] for r in a}):
        ne = sum(n for r, n in e.items() if r[0] == cat)
        na = sum(n for r, n in a.items() if r[0] == cat)
        tp = sum(min(n, a[r]) for r, n in e.items() if r[0] == cat)
        p = f"{tp / na:.3f}" if na else "-"
        r_ = f"{tp / ne:.3f}" if ne else "-"
        lines.append(f"{cat:<22} {ne:>8} {na:>7} {p:>10} {r_:>6}")
    lines.append("missing (expected, not emitted):")
    lines += [f"  {r}" for r in sorted((e - a).elements(), key=str)]
    lines.append("unexpected (emitted, not expected):")
    lines += [f"  {r}" for r in sorted((a - e).elements(), key=str)]
    return "\n".join(lines)


def check_case(case: Case, cases: list[Case], result: Result) -> None:
    """The case's issues exactly (per-category precision and recall 1.0), and its files conserved."""
    problems = []
    for d in case.deliveries:
        problems += conservation(d, result)
    if case.check_issues:
        mine = [result.issue_row(i) for i in result.issues if owner(i, cases) is case]
        diff = compare([x.row() for x in case.expected], mine)
        if diff:
            problems.append(diff)
    assert not problems, f"{case.name}: {case.what}\n" + "\n".join(problems)


def conservation(d: Delivery, result: Result) -> list[str]:
    """CONTRACT.md §1 per file: a delivered file is counted once; every row it delivered is either
    ingested or quarantined; a manifest that does not match the file is a partial delivery."""
    row = result.ledger.get(d.path)
    if row is None:
        return [f"{d.path}: delivered (manifest present) but not in the ledger"]
    out = []
    if row["rows_manifest"] != d.rows:
        out.append(f"{d.path}: the manifest says {d.rows} rows, the ledger {row['rows_manifest']}")
    if row["rows_manifest"] != row["rows_ingested"] + row["rows_quarantined"]:
        out.append(f"{d.path}: rows_manifest {row['rows_manifest']} != ingested {row['rows_ingested']} + "
                   f"quarantined {row['rows_quarantined']}")
    if d.rejected:
        if row["status"] != "REJECTED" or row["rows_ingested"] != 0:
            out.append(f"{d.path}: must be rejected whole ({d.fault or d.reason_mentions}), ledger says "
                       f"{row['status']} with {row['rows_ingested']} rows ingested, reason={row['reason']!r}")
        elif d.reason_mentions and d.reason_mentions not in (row["reason"] or ""):
            out.append(f"{d.path}: rejected, but the reason {row['reason']!r} does not name {d.reason_mentions}")
        return out
    good = d.rows - len(d.bad_lines)
    if (row["status"], row["rows_ingested"], row["rows_quarantined"]) != ("INGESTED", good, len(d.bad_lines)):
        out.append(f"{d.path} ({d.style.describe()}): {good} of its {d.rows} rows must ingest and "
                   f"{len(d.bad_lines)} be quarantined, ledger says {row['status']} ingested={row['rows_ingested']} "
                   f"quarantined={row['rows_quarantined']} reason={row['reason']!r}")
    q = {r["ingest_line"]: r["reason"] for r in result.quarantine if r["ingest_file"] == d.path}
    for line, word in d.bad_lines.items():
        if line not in q or word not in (q[line] or ""):
            out.append(f"{d.path}: line {line} must be quarantined with a reason naming {word!r}, "
                       f"quarantine has {q.get(line)!r}")
    return out


def check_area(cases: list[Case], area_expected: list[Expect], result: Result) -> None:
    """Issues no case owns are exactly the area's own; every ledger row conserves its rows; nothing is
    SUPPRESSED without a cause that exists."""
    problems = []
    rest = [result.issue_row(i) for i in result.issues if owner(i, cases) is None]
    diff = compare([x.row() for x in area_expected], rest)
    if diff:
        problems.append("issues no case owns:\n" + diff)
    for f, row in result.ledger.items():
        if row["rows_manifest"] != row["rows_ingested"] + row["rows_quarantined"]:
            problems.append(f"ledger {f}: {row['rows_manifest']} != {row['rows_ingested']} + {row['rows_quarantined']}")
    for i in result.issues:
        if i["status"] == "SUPPRESSED":
            cause = result.by_id.get(i.get("suppressed_by"))
            if cause is None or cause["category"] not in spec.FEED_LEVEL or cause["status"] == "SUPPRESSED":
                problems.append(f"{i['category']} {i['source']} {i['cinema_code']} is SUPPRESSED by "
                                f"{i.get('suppressed_by')!r}, which is no open feed-level issue")
    assert not problems, "\n".join(problems)


def params(cases: list[Case]):
    """pytest params, one per case, xfail(strict) where today's code is known to fail it."""
    import pytest

    return [pytest.param(c, id=c.name, marks=[pytest.mark.xfail(strict=True, reason=f"issue 12: {c.xfail}")]
                         if c.xfail else []) for c in cases]
