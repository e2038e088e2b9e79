"""The small world the conformance cases describe: cinemas, films, shows, orders, pickup codes, and
how each source renders them as contract rows (CONTRACT.md §3). No ticket_dq import.

One business day, ``DAY``; the clock ``NOW`` is before the first show, so every show is still ahead.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

DAY = "2026-05-01"
NOW = "2026-05-01 09:30:00"
CITY = "上海"
MAOYAN, TAOPIAOPIAO = "MAOYAN", "TAOPIAOPIAO"


@dataclass(frozen=True)
class Film:
    code: str  # 12-digit national code, one per version
    name: str
    version: str = "2D"
    language: str = "国语"
    duration: int = 120


FILMS = (Film("202600000001", "星际回声"), Film("202600000002", "长河落日"), Film("202600000003", "小城故事"))


@dataclass(frozen=True)
class Cinema:
    code: str  # 8-digit national code
    name: str

    def platform_id(self, platform: str) -> str:
        return f"{platform[:2].lower()}-{self.code}"


@dataclass(frozen=True)
class Show:
    cinema: Cinema
    hall: int
    start: str  # 'YYYY-MM-DD HH:MM'
    film: Film
    code: str  # the partner's show code
    list_price: int = 6000  # fen
    sale_price: int = 4500
    service_fee: int = 300
    status: str = "ON_SALE"

    def but(self, **changes) -> "Show":
        return replace(self, **changes)

    @property
    def start_dt(self) -> datetime:
        return datetime.strptime(self.start, "%Y-%m-%d %H:%M")

    @property
    def business_date(self) -> str:
        """CONTRACT.md §1: a show starting after midnight belongs to the previous business date."""
        d = self.start_dt - timedelta(hours=6)
        return d.strftime("%Y-%m-%d")

    def at(self, hhmm: str) -> "Show":
        """The same show starting at ``hhmm`` on its calendar day (moved)."""
        return replace(self, start=f"{self.start[:10]} {hhmm}")


def cinema(n: int) -> Cinema:
    return Cinema(f"3101{n:04d}", f"申城{n}号影城")


# The day of one cinema: two halls, five shows each, 120 min films, three hours apart; the last show
# of hall 2 starts at 00:30 the next calendar day and belongs to DAY (CONTRACT.md §1).
HALL_TIMES = {1: ("10:00", "13:00", "16:00", "19:00", "22:00"), 2: ("11:00", "14:00", "17:00", "20:00", "00:30")}


def day_of(c: Cinema) -> list[Show]:
    shows = []
    for hall, times in HALL_TIMES.items():
        for i, hhmm in enumerate(times):
            date = "2026-05-02" if hhmm < "06:00" else DAY
            film = FILMS[(hall + i) % len(FILMS)]
            # prices differ show by show, so a yuan value read one fen off shows up
            shows.append(Show(c, hall, f"{date} {hhmm}", film, f"S{c.code[-4:]}{hall}{hhmm.replace(':', '')}",
                              list_price=5990 + i, sale_price=4509 + 10 * i + hall, service_fee=299 + i))
    return shows


def find(shows: list[Show], hall: int, hhmm: str) -> Show:
    return next(s for s in shows if s.hall == hall and s.start.endswith(hhmm))


def without(shows: list[Show], show: Show) -> list[Show]:
    return [s for s in shows if s != show]


def replaced(shows: list[Show], old: Show, new: Show) -> list[Show]:
    return [new if s == old else s for s in shows]


def _ts(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S")


def partner_rows(shows: list[Show], snapshot_ts: str) -> list[dict]:
    """A partner_schedule snapshot (CONTRACT.md §3) listing ``shows``."""
    update = _ts(datetime.strptime(snapshot_ts, "%Y-%m-%d %H:%M:%S") - timedelta(minutes=2))
    rows = []
    for s in shows:
        rows.append({
            "snapshot_ts": snapshot_ts, "cinema_code": s.cinema.code, "partner_cinema_id": f"p{s.cinema.code[-4:]}",
            "cinema_name": s.cinema.name, "hall_code": f"H{s.hall}", "hall_name": f"{s.hall}号厅", "hall_type": "普通",
            "seat_total": 120, "show_code": s.code, "business_date": s.business_date, "start_time": _ts(s.start_dt),
            "end_time": _ts(s.start_dt + timedelta(minutes=s.film.duration)), "film_code": s.film.code,
            "film_name": s.film.name, "language": s.film.language, "version": s.film.version,
            "duration_min": s.film.duration, "list_price": s.list_price, "sale_price": s.sale_price,
            "service_fee": s.service_fee, "seats_available": 80, "show_status": s.status, "partner_update_time": update,
        })
    return rows


# What a platform shows: sale price plus service fee, less its own small discount (CONTRACT.md §3).
PLATFORM_DISCOUNT_FEN = 100
HALL_SPELLING = {MAOYAN: "{}号厅", TAOPIAOPIAO: "{}厅"}


def crawl_rows(platform: str, shows: list[Show], crawl_ts: str) -> list[dict]:
    """A competitor_schedule crawl (CONTRACT.md §3) listing ``shows``; no national codes."""
    hall = HALL_SPELLING.get(platform, "{}号厅")
    return [{
        "crawl_ts": crawl_ts, "platform": platform, "platform_cinema_id": s.cinema.platform_id(platform),
        "cinema_name": s.cinema.name, "city": CITY, "platform_film_id": f"{platform[:2]}{s.film.code[-4:]}",
        "film_name": s.film.name, "platform_show_id": f"{platform[:2]}{s.code}", "show_date": s.business_date,
        "start_time": s.start[11:16], "hall_name": hall.format(s.hall),
        "version_text": f"{s.film.language} {s.film.version}",
        "price": s.sale_price + s.service_fee - PLATFORM_DISCOUNT_FEN, "sold_out": False,
    } for s in shows]


def reference_rows(cinemas: list[Cinema], platforms: list[str]) -> dict[str, list[dict]]:
    """reference/ tables (CONTRACT.md §2): every cinema, an alias on every platform, every film."""
    return {
        "cinemas": [{"cinema_code": c.code, "cinema_name": c.name, "city": CITY, "district": "黄浦", "brand": "申城",
                     "status": "OPEN"} for c in cinemas],
        "cinema_aliases": [{"source": p, "source_cinema_id": c.platform_id(p), "cinema_code": c.code}
                           for p in platforms for c in cinemas],
        "films": [{"film_code": f.code, "film_name": f.name, "version": f.version, "language": f.language,
                   "duration_min": f.duration, "release_date": "2026-04-24"} for f in FILMS],
    }


@dataclass(frozen=True)
class Order:
    order_id: str
    partner: str
    show: Show  # the show as the user bought it
    seats: tuple[str, ...]
    channel: str = "APP"
    placed: str = "2026-05-01 08:00:00"

    @property
    def mobile(self) -> str:
        return "139" + str(int(hashlib.md5(self.order_id.encode()).hexdigest(), 16))[:8]


# An order's life until its tickets are issued (CONTRACT.md §3 statuses).
ISSUED_LIFE = ("CREATED", "PAID", "ISSUED")


def order_rows(orders: list[Order]) -> list[dict]:
    rows = []
    for o in orders:
        s = o.show
        n = len(o.seats)
        for i, status in enumerate(ISSUED_LIFE):
            ts = datetime.strptime(o.placed, "%Y-%m-%d %H:%M:%S") + timedelta(minutes=i)
            rows.append({
                "event_ts": _ts(ts), "order_id": o.order_id, "partner_code": o.partner,
                "partner_order_id": f"{o.partner}-{o.order_id}", "channel_code": o.channel,
                "user_id": hashlib.sha256(o.order_id.encode()).hexdigest()[:16], "mobile": o.mobile,
                "cinema_code": s.cinema.code, "show_code": s.code, "show_start_time": _ts(s.start_dt),
                "hall_name": f"{s.hall}号厅", "film_code": s.film.code, "film_name": s.film.name,
                "version": s.film.version, "ticket_count": n, "seats": ",".join(o.seats),
                "unit_price": s.sale_price, "service_fee": s.service_fee * n,
                "total": (s.sale_price + s.service_fee) * n, "status": status, "status_reason": "",
            })
    return rows


@dataclass(frozen=True)
class Code:
    pickup_code: str
    order: Order
    channel_partner: str
    seats: tuple[str, ...] | None = None  # None: the order's seats
    allocated: str = "2026-05-01 08:10:00"


def pickup_rows(codes: list[Code]) -> list[dict]:
    rows = []
    for c in codes:
        s = c.order.show
        seats = c.seats if c.seats is not None else c.order.seats
        rows.append({
            "allocation_ts": c.allocated, "channel_partner": c.channel_partner,
            "channel_order_id": f"{c.channel_partner}-{c.order.order_id}", "order_id": c.order.order_id,
            "cinema_code": s.cinema.code, "show_code": s.code, "show_start_time": _ts(s.start_dt),
            "pickup_code": c.pickup_code, "verify_code": c.pickup_code[-4:], "seats": ",".join(seats),
            "ticket_count": len(seats), "status": "DELIVERED",
        })
    return rows
