"""A writer of landing areas, from CONTRACT.md §1-§2 alone (no ticket_dq import).

Rows are plain dicts keyed by the column names of ``spec.COLUMNS``; money is given as integer fen
under the column's stem (``{"sale_price": 4500}``) and rendered as ``sale_price_fen`` or
``sale_price_yuan`` by the delivery's ``Style``. A ``Style`` is one choice among the variations the
contract allows: CSV or JSON Lines, UTF-8 / UTF-8 with BOM / GB18030, LF or CRLF, ISO ``T`` times,
any column order, extra columns, fen or yuan money, JSON values as strings or as numbers/booleans.
``Fault`` is a delivery that does not follow the contract's manifest rule (bad sha256, wrong row
count, a file cut short).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from ticket_dq_tests.conformance import spec


@dataclass(frozen=True)
class Style:
    fmt: str = "csv"  # "csv" | "jsonl"
    encoding: str = "utf-8"  # "utf-8" | "utf-8-sig" (BOM) | "gb18030"
    newline: str = "\n"  # "\n" | "\r\n"
    money: str | None = None  # "fen" | "yuan"; None: the unit the contract's column list uses for the feed
    yuan_digits: str = "fixed"  # "fixed": 45.00 | "short": 45, 45.5, 45.99
    iso_times: bool = False  # YYYY-MM-DDTHH:MM:SS
    order: str = "contract"  # "contract" | "reversed" | "shuffled"
    extras: tuple[tuple[str, str], ...] = ()  # columns the contract does not name
    json_typed: bool = False  # JSON numbers and booleans instead of strings

    def describe(self) -> str:
        parts = [self.fmt]
        if self.encoding != "utf-8":
            parts.append({"utf-8-sig": "UTF-8 BOM", "gb18030": "GB18030"}[self.encoding])
        if self.newline == "\r\n":
            parts.append("CRLF")
        if self.money:
            parts.append(f"money {self.money}" + (" short" if self.yuan_digits == "short" else ""))
        if self.iso_times:
            parts.append("ISO T times")
        if self.order != "contract":
            parts.append(f"{self.order} columns")
        if self.extras:
            parts.append("extra columns " + ",".join(k for k, _ in self.extras))
        if self.json_typed:
            parts.append("JSON numbers/booleans")
        return ", ".join(parts)


PLAIN = Style()

# Manifest faults (CONTRACT.md §1: "A manifest whose row count or sha256 does not match the file means
# a partial or corrupt delivery").
BAD_SHA256 = "bad_sha256"
BAD_ROWS = "bad_rows"
CUT_SHORT = "cut_short"  # the file stops part-way; the manifest describes the whole file


def yuan(fen: int, digits: str = "fixed") -> str:
    """Integer fen as a decimal yuan string, exactly (no float)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    if digits == "short":
        if cents == 0:
            return f"{sign}{whole}"
        frac = f"{cents:02d}".rstrip("0")
        return f"{sign}{whole}.{frac}"
    return f"{sign}{whole}.{cents:02d}"


def _columns(feed: str, style: Style) -> list[tuple[str, str]]:
    """(canonical name, delivered name) in delivery order, extras last before shuffling."""
    unit = style.money or spec.CONTRACT_MONEY_UNIT.get(feed, "fen")
    cols = [(c, f"{c}_{unit}" if c in spec.MONEY.get(feed, ()) else c) for c in spec.COLUMNS[feed]]
    cols += [(name, name) for name, _ in style.extras]
    if style.order == "reversed":
        cols.reverse()
    elif style.order == "shuffled":
        random.Random(feed).shuffle(cols)  # deterministic: the same file on every run
    return cols


class Raw(str):
    """A value written exactly as given, whatever the column (e.g. an illegal ``45.001`` yuan)."""


def _value(feed: str, column: str, value, style: Style):
    """One value as delivered: a string (CSV, JSON strings) or a JSON number/boolean (typed JSON)."""
    if isinstance(value, Raw):
        return str(value)
    if value is None:
        return None if style.fmt == "jsonl" else ""
    unit = style.money or spec.CONTRACT_MONEY_UNIT.get(feed, "fen")
    if column in spec.MONEY.get(feed, ()):
        text = yuan(value, style.yuan_digits) if unit == "yuan" else str(int(value))
        if style.fmt == "jsonl" and style.json_typed:
            return json.loads(text)  # a JSON number whose text is exactly the decimal written
        return text
    if column in spec.BOOLEANS.get(feed, ()):
        return bool(value) if style.fmt == "jsonl" and style.json_typed else ("true" if value else "false")
    if column in spec.INTEGERS.get(feed, ()):
        return int(value) if style.fmt == "jsonl" and style.json_typed else str(int(value))
    text = str(value)
    if style.iso_times and column in spec.TIMESTAMPS.get(feed, ()):
        text = text.replace(" ", "T", 1)
    return text


BROKEN_JSON = '{"show_code": "S-broken", "cinema_code": '  # a JSON line cut off mid-object


def render(feed: str, rows: list[dict], style: Style = PLAIN, broken_json_at: int | None = None) -> bytes:
    """The file's bytes for ``rows`` of ``feed`` in ``style``; ``broken_json_at``: a line that is not
    JSON is written before that record (JSON Lines only)."""
    cols = _columns(feed, style)
    extras = dict(style.extras)
    records = [[(out, _value(feed, canon, row.get(canon, extras.get(canon)), style)) for canon, out in cols]
               for row in rows]
    if style.fmt == "jsonl":
        lines = [json.dumps(dict(rec), ensure_ascii=False) for rec in records]
        if broken_json_at is not None:
            lines.insert(broken_json_at, BROKEN_JSON)
        text = "".join(line + style.newline for line in lines)
    else:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator=style.newline)  # RFC 4180: ',' and '"' quoting
        w.writerow([out for _, out in cols])
        for rec in records:
            w.writerow([v for _, v in rec])
        text = buf.getvalue()
    return text.encode(style.encoding)


@dataclass
class Delivery:
    """One delivered file and what the contract says must become of it."""

    feed: str
    source: str
    path: str  # relative to the landing root
    rows: int  # data records in the file as written (what the manifest says, unless faulty)
    fault: str | None = None
    style: Style = PLAIN
    # What must become of it: "ingested" or "rejected" (a manifest fault, or a file the contract
    # makes unusable); lines to be quarantined -> a word their reason must contain; a word the
    # ledger's reason for a rejected file must contain.
    expect: str = "ingested"
    bad_lines: dict[int, str] = field(default_factory=dict)
    reason_mentions: str | None = None

    @property
    def rejected(self) -> bool:
        return self.expect == "rejected"


@dataclass
class Landing:
    root: Path
    deliveries: list[Delivery] = field(default_factory=list)

    def deliver(self, feed: str, source: str, day: str, stem: str, rows: list[dict], *, snapshot_ts: str,
                style: Style = PLAIN, fault: str | None = None, broken_json_at: int | None = None,
                **expect) -> Delivery:
        """Write ``<root>/<feed>/<source>/<day>/<stem>.<csv|jsonl>``, then its manifest (last).
        ``expect``: Delivery fields saying what must become of the file (default: every row ingests)."""
        body = render(feed, rows, style, broken_json_at)
        records = len(rows) + (broken_json_at is not None)
        folder = self.root / feed / source / day
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{stem}.{style.fmt}"
        manifest = {"file": name, "feed": feed, "source": source, "rows": records,
                    "sha256": hashlib.sha256(body).hexdigest(), "snapshot_ts": snapshot_ts, "schema_version": 1}
        if fault == BAD_SHA256:
            manifest["sha256"] = hashlib.sha256(body + b"x").hexdigest()
        elif fault == BAD_ROWS:
            manifest["rows"] = records + 7
        elif fault == CUT_SHORT:
            body = body[: len(body) * 6 // 10]  # the transfer stopped; the manifest still describes the whole
        elif fault is not None:
            raise ValueError(fault)
        (folder / name).write_bytes(body)
        (folder / f"_manifest_{stem}.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
        if fault is not None:
            expect.setdefault("expect", "rejected")
        d = Delivery(feed, source, f"{feed}/{source}/{day}/{name}", manifest["rows"], fault, style, **expect)
        self.deliveries.append(d)
        return d

    def reference(self, name: str, rows: list[dict]) -> None:
        """``<root>/reference/<name>.csv``, CSV UTF-8, no manifest (CONTRACT.md §2)."""
        cols = spec.REFERENCE_COLUMNS[name]
        folder = self.root / "reference"
        folder.mkdir(parents=True, exist_ok=True)
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(cols)
        for r in rows:
            w.writerow([r[c] for c in cols])
        (folder / f"{name}.csv").write_text(buf.getvalue(), encoding="utf-8")
