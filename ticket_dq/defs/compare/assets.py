"""Entity maps, current schedules and comparison assets (issue candidates).

Thin wiring: each asset runs its SQL script from ``sql/`` (named after the asset) through
``lib.matching.run_script`` with the clock from ``settings.now()`` and the tolerances of
``lib.matching.Tolerances``. Each asset owns one table; candidate tables have the shape of
``warehouse.CANDIDATE_COLUMNS`` and are unioned by the issues asset.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from ticket_dq import settings
from ticket_dq.defs.resources import DUCKDB_POOL, WarehouseResource
from ticket_dq.lib import matching, warehouse

SQL = Path(__file__).parent / "sql"
GROUP = "compare"
# Eager, except while a parent's blocking check (a *_KEYS_VALID failure) says its keys are bad: inside
# one run blocking=True stops downstream, but the automation sensor starts its own runs, so the same
# rule is stated here (bad keys would raise false alerts in every comparison).
EAGER = dg.AutomationCondition.eager() & ~dg.AutomationCondition.any_deps_match(
    dg.AutomationCondition.any_checks_match(dg.AutomationCondition.check_failed(), blocking_only=True))


def raw(name: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", name])


def ref(name: str) -> dg.AssetKey:
    return dg.AssetKey(["ref", name])


MAP_CINEMA = dg.AssetKey(["map", "cinema"])
MAP_FILM = dg.AssetKey(["map", "film"])
CUR_PARTNER = dg.AssetKey(["cur", "partner_schedule"])
CUR_COMPETITOR = dg.AssetKey(["cur", "competitor_schedule"])
CUR_CHANGE_LOG = dg.AssetKey(["cur", "change_log"])
CUR_ORDER_STATE = dg.AssetKey(["cur", "order_state"])
CANDIDATE_TABLES = ("feed_health", "unmapped_entity", "schedule_discrepancy", "schedule_integrity", "order_show",
                    "seat_double_sold", "pickup_code")
CAND_KEYS = [dg.AssetKey(["cand", t]) for t in CANDIDATE_TABLES]


def run(con, *scripts: str) -> None:
    """Run the named scripts in order on one connection (TEMP helpers carry over between them)."""
    matching.prepare(con)
    params = matching.params(settings.now())
    for name in scripts:
        matching.run_script(con, SQL / f"{name}.sql", params)


def conform_candidates(con, table: str) -> int:
    """Rewrite ``table`` in exactly the CANDIDATE_COLUMNS shape (order and types); returns its rows."""
    cols = ", ".join(f"CAST({n} AS {t}) AS {n}" for n, t in warehouse.CANDIDATE_COLUMNS)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _conform AS SELECT {cols} FROM {table}")
    con.execute(f"DROP TABLE {table}")
    con.execute(warehouse.candidate_table_ddl(table))
    con.execute(f"INSERT INTO {table} SELECT * FROM _conform")
    con.execute("DROP TABLE _conform")
    return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def evaluate_candidates(con, table: str, *scripts: str) -> int:
    """Run a comparison's scripts into ``cand.<table>`` and conform it; returns its rows. The table is
    created first in the candidate shape: incremental scripts keep rows between runs."""
    con.execute(warehouse.candidate_table_ddl(f"cand.{table}"))
    run(con, *scripts)
    return conform_candidates(con, f"cand.{table}")


def candidate_metadata(con, table: str, n: int) -> dict:
    rows = con.execute(f"SELECT category, rule, source, count(*) FROM {table} GROUP BY ALL ORDER BY ALL").fetchall()
    sample = con.execute(f"SELECT category, source, business_key, reason FROM {table} ORDER BY category, business_key LIMIT 10").fetchall()
    md = "\n".join(["| category | rule | source | rows |", "| --- | --- | --- | ---: |"]
                   + [f"| {c} | {r} | {s} | {k} |" for c, r, s, k in rows])
    smd = "\n".join(["| category | source | key | reason |", "| --- | --- | --- | --- |"]
                    + [f"| {c} | {s} | {k} | {why} |" for c, s, k, why in sample])
    return {"dagster/row_count": dg.MetadataValue.int(n), "by_category": dg.MetadataValue.md(md),
            "sample": dg.MetadataValue.md(smd)}


def _count(con, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


# ---- entity maps ------------------------------------------------------------------------------------------

@dg.asset(key=MAP_CINEMA, group_name=GROUP, pool=DUCKDB_POOL, automation_condition=EAGER,
          deps=[raw("competitor_schedule"), ref("cinemas"), ref("cinema_aliases")])
def map_cinema(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Every platform cinema seen in the crawls mapped to its national cinema_code: via the alias table,
    else by normalised name within the same city with a confidence (Jaro-Winkler) and a threshold.
    ``method`` = alias | name | unmatched; unmatched cinemas become UNMAPPED_ENTITY candidates."""
    with warehouse.get_connection() as con:
        run(con, "map_cinema")
        by = dict(con.execute("SELECT method, count(*) FROM map.cinema GROUP BY ALL").fetchall())
        n = _count(con, "map.cinema")
    return dg.MaterializeResult(metadata={"dagster/row_count": n, "by_method": dg.MetadataValue.json(by)})


@dg.asset(key=MAP_FILM, group_name=GROUP, pool=DUCKDB_POOL, automation_condition=EAGER,
          deps=[raw("competitor_schedule"), ref("films")])
def map_film(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Every platform film (id, name, version text) mapped to the national film_code by normalised name
    (full/half width, （数字）, 3D/IMAX words, colons removed) and projection version."""
    with warehouse.get_connection() as con:
        run(con, "map_film")
        by = dict(con.execute("SELECT method, count(*) FROM map.film GROUP BY ALL").fetchall())
        n = _count(con, "map.film")
    return dg.MaterializeResult(metadata={"dagster/row_count": n, "by_method": dg.MetadataValue.json(by)})


# ---- current schedules ------------------------------------------------------------------------------------

@dg.asset(key=CUR_PARTNER, group_name=GROUP, pool=DUCKDB_POOL, automation_condition=EAGER,
          deps=[raw("partner_schedule"), ref("films")])
def partner_schedule_current(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Each partner's current schedule: its latest COMPLETE snapshot (a snapshot far below the partner's
    recent row baseline is a volume drop and is not used), halls and films normalised for matching.
    Incremental: only partners with a new chosen snapshot are rewritten."""
    with warehouse.get_connection() as con:
        run(con, "name_keys", "partner_snapshots", "partner_current")
        changed = [r[0] for r in con.execute("SELECT source FROM partner_changed ORDER BY 1").fetchall()]
        cur = con.execute("SELECT source, file, snapshot_ts FROM cur.partner_current_file ORDER BY 1").fetchall()
        n = _count(con, "cur.partner_schedule")
    md = "\n".join(["| partner | snapshot | file |", "| --- | --- | --- |"] + [f"| {s} | {t} | {f} |" for s, f, t in cur])
    return dg.MaterializeResult(metadata={"dagster/row_count": n, "rewritten_sources": dg.MetadataValue.json(changed),
                                          "current_snapshots": dg.MetadataValue.md(md)})


@dg.asset(key=CUR_COMPETITOR, group_name=GROUP, pool=DUCKDB_POOL, automation_condition=EAGER,
          deps=[raw("competitor_schedule"), MAP_CINEMA, MAP_FILM])
def competitor_schedule_current(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Each platform's latest crawl with cinemas and films mapped to national codes and halls/films
    normalised. Incremental: only platforms with a new crawl are rewritten."""
    with warehouse.get_connection() as con:
        run(con, "name_keys", "competitor_current")
        changed = [r[0] for r in con.execute("SELECT source FROM competitor_changed ORDER BY 1").fetchall()]
        n = _count(con, "cur.competitor_schedule")
        unmapped = con.execute("SELECT count(*) FROM cur.competitor_schedule WHERE cinema_code IS NULL").fetchone()[0]
    return dg.MaterializeResult(metadata={"dagster/row_count": n, "rewritten_sources": dg.MetadataValue.json(changed),
                                          "rows_of_unmapped_cinemas": unmapped})


@dg.asset(key=CUR_CHANGE_LOG, group_name=GROUP, pool=DUCKDB_POOL, automation_condition=EAGER,
          deps=[raw("partner_schedule"), CUR_PARTNER])
def change_log(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Show-level changes between consecutive complete snapshots of each partner (ADDED, REMOVED, TIME,
    HALL, FILM, PRICE, STATUS with old and new values); a re-issued show code for the same show (cinema,
    hall, film, start) is logged as REISSUED, not as a removal plus an addition. Appends only snapshot
    pairs not logged yet."""
    with warehouse.get_connection() as con:
        run(con, "name_keys", "partner_snapshots", "change_log")
        by = dict(con.execute("SELECT change, count(*) FROM cur.change_log GROUP BY ALL").fetchall())
        n = _count(con, "cur.change_log")
    return dg.MaterializeResult(metadata={"dagster/row_count": n, "by_change": dg.MetadataValue.json(by)})


@dg.asset(key=CUR_ORDER_STATE, group_name=GROUP, pool=DUCKDB_POOL, automation_condition=EAGER, deps=[raw("orders")])
def order_state(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Each order's current state: the fields of its latest event by event_ts (late and out-of-order
    events land in their place). Computed once per orders delivery, shared by every order comparison."""
    with warehouse.get_connection() as con:
        run(con, "order_state")
        by = dict(con.execute("SELECT status, count(*) FROM cur.order_state GROUP BY ALL").fetchall())
        n = _count(con, "cur.order_state")
    return dg.MaterializeResult(metadata={"dagster/row_count": n, "by_status": dg.MetadataValue.json(by)})


# ---- comparisons (issue candidates) ------------------------------------------------------------------------

def _candidate_asset(table: str, scripts: tuple[str, ...], deps: list, doc: str,
                     automation: dg.AutomationCondition = EAGER):
    @dg.asset(key=["cand", table], group_name=GROUP, pool=DUCKDB_POOL,
              automation_condition=automation, deps=deps, description=doc)
    def _asset(warehouse: WarehouseResource) -> dg.MaterializeResult:
        with warehouse.get_connection() as con:
            n = evaluate_candidates(con, table, *scripts)
            meta = candidate_metadata(con, f"cand.{table}", n)
        return dg.MaterializeResult(metadata=meta)

    return _asset


feed_health = _candidate_asset(
    "feed_health", ("partner_snapshots", "feed_health"),
    [raw("partner_schedule"), raw("competitor_schedule"), raw("orders")],
    "Feed health candidates per source and business date: FEED_LATE (no delivery within the SLA before "
    "now: partners 90 min, platforms 180 min, orders 90 min), FEED_PARTIAL (rejected deliveries in the ledger), "
    "FEED_VOLUME_DROP (a partner snapshot below half its recent baseline). Also runs on a schedule: "
    "a silent partner sends nothing to trigger it.",
    # Reads the ledger and row counts, not keys: a failed key check must not silence feed health.
    automation=dg.AutomationCondition.eager())
unmapped_entity = _candidate_asset(
    "unmapped_entity", ("unmapped_entity",), [MAP_CINEMA, MAP_FILM, CUR_COMPETITOR],
    "UNMAPPED_ENTITY candidates: platform cinemas (and films) in the current crawls that neither the alias "
    "table nor name matching maps; their shows are excluded from comparison instead of flooding SHOW_MISSING.")
schedule_discrepancy = _candidate_asset(
    "schedule_discrepancy", ("schedule_discrepancy",), [CUR_PARTNER, CUR_COMPETITOR, CUR_ORDER_STATE],
    "SHOW_MISSING / SHOW_EXTRA / SHOW_TIME_MISMATCH / SHOW_HALL_MISMATCH / SHOW_FILM_MISMATCH / "
    "SHOW_PRICE_MISMATCH: each partner's current schedule against the platforms' current crawls, one row per "
    "show and faulty source; the majority of sources decides which one is wrong. Evidence = each source's view.")
schedule_integrity = _candidate_asset(
    "schedule_integrity", ("schedule_integrity",), [CUR_PARTNER],
    "SHOW_DUPLICATE (one show under two codes) and HALL_OVERLAP (a show starting before the previous show in "
    "the hall has ended plus the cleaning gap) within each partner's current schedule.")
order_show = _candidate_asset(
    "order_show", ("name_keys", "order_show"), [CUR_ORDER_STATE, CUR_PARTNER, CUR_COMPETITOR],
    "ORDER_SHOW_CHANGED / ORDER_SHOW_CANCELLED: one row per live order whose show really changed (platforms "
    "agree with the partner's new version) or was cancelled (explicitly, or vanished from partner and "
    "platforms). Re-issued show codes are the same show; partner-only changes are not order issues.")
seat_double_sold = _candidate_asset(
    "seat_double_sold", ("name_keys", "seat_double_sold"), [CUR_ORDER_STATE],
    "SEAT_DOUBLE_SOLD: the same seat of the same show in two or more live orders; one row per show and seat, "
    "order_id = the later order.")
pickup_code = _candidate_asset(
    "pickup_code", ("pickup_code",), [raw("pickup_codes"), CUR_ORDER_STATE, dg.AssetKey(["cand", "order_show"])],
    "PICKUP_CODE_DUPLICATE (one code on two orders) and PICKUP_CODE_INVALID (unknown order, live order of a "
    "cancelled show, seats different from the order's): one row per code.")
