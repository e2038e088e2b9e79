"""A small hand-made world for the real-time tests and bench/latency.py, written from CONTRACT.md only
(not by the simulator): 2 cinemas x 4 halls x 3 shows of one film, one partner (FH), two platforms that
list the same shows, and one issued order per show. ``move`` shifts shows by 30 minutes in a new
partner snapshot; ``crawl`` delivers platform crawls that agree (or not yet) with the move."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from ticket_dq_tests.ingest.landing_helpers import csv_bytes, deliver, jsonl_bytes

FILM = "202600000001"
FILM_NAME = "长河落日"
PARTNER = "FH"
PLATFORMS = ("MAOYAN", "TAOPIAOPIAO")
CINEMAS = ("44030001", "44030002")
HALLS = 4
DURATION_MIN = 100
SHIFT_MIN = 30


@dataclass(frozen=True)
class Show:
    index: int
    cinema: str
    hall: int
    start: datetime

    @property
    def code(self) -> str:
        return f"S{self.index:03d}"

    @property
    def order_id(self) -> str:
        return f"O{self.index:06d}"


def shows(day_start: datetime) -> list[Show]:
    out = []
    for c in CINEMAS:
        for h in range(1, HALLS + 1):
            for slot in range(3):
                start = day_start.replace(hour=12, minute=0, second=0) + timedelta(hours=4 * slot, minutes=10 * h)
                out.append(Show(len(out), c, h, start))
    return out


def _ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def reference(root: Path) -> None:
    ref = Path(root) / "reference"
    ref.mkdir(parents=True, exist_ok=True)
    (ref / "cinemas.csv").write_bytes(csv_bytes([
        {"cinema_code": c, "cinema_name": f"深圳{n}号影城", "city": "深圳", "district": "南山", "brand": "手工",
         "status": "OPEN"} for n, c in enumerate(CINEMAS, 1)]))
    (ref / "films.csv").write_bytes(csv_bytes([
        {"film_code": FILM, "film_name": FILM_NAME, "version": "2D", "language": "国语",
         "duration_min": str(DURATION_MIN), "release_date": "2026-04-20"}]))
    (ref / "cinema_aliases.csv").write_bytes(csv_bytes([
        {"source": p, "source_cinema_id": f"{p[:2].lower()}-{c}", "cinema_code": c}
        for p in PLATFORMS for c in CINEMAS]))


def _start(show: Show, moved: set[int]) -> datetime:
    return show.start + timedelta(minutes=SHIFT_MIN) if show.index in moved else show.start


def partner_snapshot(root: Path, all_shows: list[Show], at: datetime, moved: set[int]) -> Path:
    rows = []
    for s in all_shows:
        start = _start(s, moved)
        rows.append({
            "snapshot_ts": _ts(at), "cinema_code": s.cinema, "partner_cinema_id": f"fh{s.cinema[-2:]}",
            "cinema_name": f"深圳{CINEMAS.index(s.cinema) + 1}号影城", "hall_code": str(s.hall),
            "hall_name": f"{s.hall}号厅", "hall_type": "普通", "seat_total": "120", "show_code": s.code,
            "business_date": f"{s.start:%Y-%m-%d}", "start_time": _ts(start),
            "end_time": _ts(start + timedelta(minutes=DURATION_MIN)), "film_code": FILM, "film_name": FILM_NAME,
            "language": "国语", "version": "2D", "duration_min": str(DURATION_MIN), "list_price_fen": "6000",
            "sale_price_fen": "4500", "service_fee_fen": "300", "seats_available": "80",
            "show_status": "ON_SALE", "partner_update_time": _ts(at - timedelta(minutes=1)),
        })
    stem = f"{PARTNER}_{at:%Y%m%d_%H%M%S}"
    return deliver(root, "partner_schedule", PARTNER, f"{at:%Y-%m-%d}", stem, csv_bytes(rows), len(rows),
                   manifest_overrides={"snapshot_ts": _ts(at)})


def crawl(root: Path, platform: str, all_shows: list[Show], at: datetime, moved: set[int]) -> Path:
    rows = []
    for s in all_shows:
        start = _start(s, moved)
        rows.append({
            "crawl_ts": _ts(at), "platform": platform, "platform_cinema_id": f"{platform[:2].lower()}-{s.cinema}",
            "cinema_name": f"深圳{CINEMAS.index(s.cinema) + 1}号影城", "city": "深圳", "platform_film_id": "f-1",
            "film_name": FILM_NAME, "platform_show_id": f"{platform}-{s.code}",
            "show_date": f"{s.start:%Y-%m-%d}", "start_time": f"{start:%H:%M}", "hall_name": f"{s.hall}号厅",
            "version_text": "国语 2D", "price_yuan": "48.00", "sold_out": False,
        })
    stem = f"{platform}_{at:%Y%m%d_%H%M%S}"
    return deliver(root, "competitor_schedule", platform, f"{at:%Y-%m-%d}", stem, jsonl_bytes(rows), len(rows),
                   manifest_overrides={"snapshot_ts": _ts(at)})


def orders(root: Path, all_shows: list[Show], at: datetime) -> Path:
    rows = []
    for s in all_shows:
        for status, dt in (("PAID", timedelta(minutes=-30)), ("ISSUED", timedelta(minutes=-29))):
            rows.append({
                "event_ts": _ts(at + dt), "order_id": s.order_id, "partner_code": PARTNER,
                "partner_order_id": f"FH-{s.order_id}", "channel_code": "APP", "user_id": f"u{s.index:04d}",
                "mobile": f"139{s.index:08d}", "cinema_code": s.cinema, "show_code": s.code,
                "show_start_time": _ts(s.start), "hall_name": f"{s.hall}号厅", "film_code": FILM,
                "film_name": FILM_NAME, "version": "2D", "ticket_count": "2", "seats": "5排7座,5排8座",
                "unit_price_fen": "4500", "service_fee_fen": "300", "total_fen": "9600", "status": status,
                "status_reason": "",
            })
    stem = f"orders_{PARTNER}_{at:%Y%m%d_%H%M%S}"
    return deliver(root, "orders", PARTNER, f"{at:%Y-%m-%d}", stem, csv_bytes(rows), len(rows),
                   manifest_overrides={"snapshot_ts": _ts(at)})


def base(root: Path, all_shows: list[Show], at: datetime) -> None:
    """Reference data, the orders and a first snapshot + crawls where every source agrees."""
    reference(root)
    orders(root, all_shows, at)
    partner_snapshot(root, all_shows, at, set())
    for p in PLATFORMS:
        crawl(root, p, all_shows, at, set())


def outbox_messages(outbox: Path) -> list[Path]:
    return sorted(Path(outbox).rglob("*.txt"))


def message_for_order(outbox: Path, order_id: str, recipient_part: str = "cs-duty") -> Path | None:
    """The first file-channel message to CS that names ``order_id`` (ORDER_SHOW_CHANGED digests list orders)."""
    for path in outbox_messages(outbox):
        text = path.read_text(encoding="utf-8")
        if recipient_part in path.parent.name and f"order {order_id}" in text and "RESOLVED / WITHDRAWN" not in text:
            return path
    return None
