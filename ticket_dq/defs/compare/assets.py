"""Entity maps, current schedules and comparison assets (issue candidates).

Thin wiring: each asset runs its detection script (``lib/detection/sql/``, named after the table) through
``lib.detection`` with the clock from ``settings.now()``; every asset owns one table and writes it in
one transaction. Candidate tables have the shape of ``warehouse.CANDIDATE_COLUMNS`` and are unioned
by the issues asset.
"""

from __future__ import annotations

import dagster as dg

from ticket_dq import settings
from ticket_dq.defs import keys
from ticket_dq.defs.metadata import inline_table, layer, nothing_new, table_metadata
from ticket_dq.defs.realtime import conditions as realtime
from ticket_dq.defs.resources import DUCKDB_POOL, WarehouseResource
from ticket_dq.lib.detection import candidates, scripts

GROUP = "compare"
# Eager, except while a parent's blocking check (a *_KEYS_VALID failure) says its keys are bad: inside
# one run blocking=True stops downstream, but the automation sensor starts its own runs, so the same
# rule is stated here (bad keys would raise false alerts in every comparison).
EAGER = realtime.eager() & ~dg.AutomationCondition.any_deps_match(
    dg.AutomationCondition.any_checks_match(dg.AutomationCondition.check_failed(), blocking_only=True))
CAND_KEYS = [keys.cand(name) for name in candidates.COMPARISONS]


def _counts_by(con, table: str, column: str) -> dict:
    return dict(con.execute(f"SELECT {column}, count(*) FROM {table} GROUP BY ALL").fetchall())


# ---- entity maps ------------------------------------------------------------------------------------------

@dg.asset(key=keys.MAP_CINEMA, group_name=GROUP, pool=DUCKDB_POOL, **layer(keys.MAP_CINEMA),
          automation_condition=EAGER, deps=[keys.raw("competitor_schedule"), keys.ref("cinemas"), keys.ref("cinema_aliases")])
def map_cinema(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Mapping table `map.cinema`: every platform cinema seen in the crawls mapped to its national cinema_code: via the
    alias table, else by normalised name within the same city with a confidence (Jaro-Winkler) and a threshold.
    ``method`` = alias | name | unmatched; unmatched cinemas become UNMAPPED_ENTITY candidates."""
    with warehouse.get_connection() as con:
        scripts.run(con, "map_cinema", now=settings.now())
        by, table = _counts_by(con, "map.cinema", "method"), table_metadata(con, keys.MAP_CINEMA)
    return dg.MaterializeResult(metadata={**table, "by_method": dg.MetadataValue.json(by)})


@dg.asset(key=keys.MAP_FILM, group_name=GROUP, pool=DUCKDB_POOL, **layer(keys.MAP_FILM),
          automation_condition=EAGER, deps=[keys.raw("competitor_schedule"), keys.ref("films")])
def map_film(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Mapping table `map.film`: every platform film (id, name, version text) mapped to the national film_code by
    normalised name (full/half width, （数字）, 3D/IMAX words, colons removed) and projection version."""
    with warehouse.get_connection() as con:
        scripts.run(con, "map_film", now=settings.now())
        by, table = _counts_by(con, "map.film", "method"), table_metadata(con, keys.MAP_FILM)
    return dg.MaterializeResult(metadata={**table, "by_method": dg.MetadataValue.json(by)})


# ---- current schedules ------------------------------------------------------------------------------------

@dg.asset(key=keys.CUR_PARTNER, group_name=GROUP, pool=DUCKDB_POOL, **layer(keys.CUR_PARTNER),
          automation_condition=EAGER, deps=[keys.raw("partner_schedule"), keys.ref("films")])
def partner_schedule_current(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Current layer, table `cur.partner_schedule` (from `raw/partner_schedule`): each partner's current schedule: its
    latest COMPLETE snapshot (a snapshot far below the partner's recent row baseline is a volume drop and is not
    used), halls and films normalised for matching. Incremental: only partners with a new chosen snapshot are
    rewritten."""
    with warehouse.get_connection() as con:
        scripts.run(con, "partner_current", now=settings.now())
        changed = [r[0] for r in con.execute("SELECT source FROM partner_changed ORDER BY 1").fetchall()]
        cur = con.execute("SELECT source, snapshot_ts, file FROM cur.partner_current_file ORDER BY 1").fetchall()
        table = table_metadata(con, keys.CUR_PARTNER)
        latest = max((r[1] for r in cur), default=None)
    lead = (nothing_new(latest, "partner snapshot chosen") if not changed else
            {"summary": dg.MetadataValue.text(f"rewritten for {len(changed)} partner(s): {', '.join(changed)}")})
    return dg.MaterializeResult(metadata={
        **lead, **table, "rewritten_sources": dg.MetadataValue.json(changed),
        "current_snapshots": inline_table(("partner", "snapshot", "file"), cur)})


@dg.asset(key=keys.CUR_COMPETITOR, group_name=GROUP, pool=DUCKDB_POOL, **layer(keys.CUR_COMPETITOR),
          automation_condition=EAGER, deps=[keys.raw("competitor_schedule"), keys.MAP_CINEMA, keys.MAP_FILM])
def competitor_schedule_current(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Current layer, table `cur.competitor_schedule` (from `raw/competitor_schedule`): each platform's latest crawl
    with cinemas and films mapped to national codes and halls/films normalised. Incremental: only platforms with a
    new crawl are rewritten."""
    with warehouse.get_connection() as con:
        scripts.run(con, "competitor_current", now=settings.now())
        changed = [r[0] for r in con.execute("SELECT source FROM competitor_changed ORDER BY 1").fetchall()]
        table = table_metadata(con, keys.CUR_COMPETITOR)
        unmapped = con.execute("SELECT count(*) FROM cur.competitor_schedule WHERE cinema_code IS NULL").fetchone()[0]
        latest = con.execute("SELECT max(ingested_at) FROM meta.ingested_files "
                             "WHERE feed = 'competitor_schedule' AND status = 'INGESTED'").fetchone()[0]
    lead = (nothing_new(latest, "crawl ingested") if not changed else
            {"summary": dg.MetadataValue.text(f"rewritten for {len(changed)} platform(s): {', '.join(changed)}")})
    return dg.MaterializeResult(metadata={**lead, **table, "rewritten_sources": dg.MetadataValue.json(changed),
                                          "rows_of_unmapped_cinemas": unmapped})


@dg.asset(key=keys.CUR_CHANGE_LOG, group_name=GROUP, pool=DUCKDB_POOL, **layer(keys.CUR_CHANGE_LOG),
          automation_condition=EAGER, deps=[keys.raw("partner_schedule"), keys.CUR_PARTNER])
def change_log(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Current layer, table `cur.change_log`: show-level changes between consecutive complete snapshots of each partner
    (ADDED, REMOVED, TIME, HALL, FILM, PRICE, STATUS with old and new values); a re-issued show code for the same
    show (cinema, hall, film, start) is logged as REISSUED, not as a removal plus an addition. Appends only snapshot
    pairs not logged yet."""
    with warehouse.get_connection() as con:
        scripts.run(con, "change_log", now=settings.now())
        by, table = _counts_by(con, "cur.change_log", "change"), table_metadata(con, keys.CUR_CHANGE_LOG)
    return dg.MaterializeResult(metadata={**table, "by_change": dg.MetadataValue.json(by)})


@dg.asset(key=keys.CUR_ORDER_STATE, group_name=GROUP, pool=DUCKDB_POOL, **layer(keys.CUR_ORDER_STATE),
          automation_condition=EAGER, deps=[keys.raw("orders")])
def order_state(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Current layer, table `cur.order_state` (from `raw/orders`): each order's current state: the fields of its latest
    event by event_ts (late and out-of-order events land in their place). Computed once per orders delivery, shared
    by every order comparison."""
    with warehouse.get_connection() as con:
        scripts.run(con, "order_state", now=settings.now())
        by, table = _counts_by(con, "cur.order_state", "status"), table_metadata(con, keys.CUR_ORDER_STATE)
    return dg.MaterializeResult(metadata={**table, "by_status": dg.MetadataValue.json(by)})


# ---- comparisons (issue candidates) ------------------------------------------------------------------------

def candidate_metadata(con, table: str, scope=None) -> dict:
    s = candidates.summary(con, table)
    meta = {**table_metadata(con, dg.AssetKey(table.split("."))),
            "by_category": inline_table(("category", "rule", "source", "rows"), s["by_category"]),
            "sample": inline_table(("category", "source", "key", "reason"), s["sample"])}
    if scope is not None:
        meta["evaluation"] = dg.MetadataValue.json(scope.as_metadata())
    return meta


def _candidate_asset(name: str, deps: list, doc: str, automation: dg.AutomationCondition = EAGER):
    @dg.asset(key=keys.cand(name), group_name=GROUP, pool=DUCKDB_POOL, **layer(keys.cand(name)),
              automation_condition=automation, deps=deps, description=f"Issue candidates, table `cand.{name}`: {doc}")
    def _asset(warehouse: WarehouseResource) -> dg.MaterializeResult:
        with warehouse.get_connection() as con:
            _, scope = candidates.evaluate(con, name, settings.now())
            meta = candidate_metadata(con, f"cand.{name}", scope)
        return dg.MaterializeResult(metadata=meta)

    return _asset


feed_health = _candidate_asset(
    "feed_health", [keys.raw("partner_schedule"), keys.raw("competitor_schedule"), keys.raw("orders")],
    "Feed health candidates per source and business date: FEED_LATE (no delivery within the SLA before "
    "now: partners 90 min, platforms 180 min, orders 90 min), FEED_PARTIAL (rejected deliveries in the ledger), "
    "FEED_VOLUME_DROP (a partner snapshot below half its recent baseline). Also runs on a schedule: "
    "a silent partner sends nothing to trigger it.",
    # Reads the ledger and row counts, not keys: a failed key check must not silence feed health.
    automation=dg.AutomationCondition.eager())
unmapped_entity = _candidate_asset(
    "unmapped_entity", [keys.MAP_CINEMA, keys.MAP_FILM, keys.CUR_COMPETITOR],
    "UNMAPPED_ENTITY candidates: platform cinemas (and films) in the current crawls that neither the alias "
    "table nor name matching maps; their shows are excluded from comparison instead of flooding SHOW_MISSING.")
schedule_discrepancy = _candidate_asset(
    "schedule_discrepancy", [keys.CUR_PARTNER, keys.CUR_COMPETITOR, keys.CUR_ORDER_STATE],
    "SHOW_MISSING / SHOW_EXTRA / SHOW_TIME_MISMATCH / SHOW_HALL_MISMATCH / SHOW_FILM_MISMATCH / "
    "SHOW_PRICE_MISMATCH: each partner's current schedule against the platforms' current crawls, one row per "
    "show and faulty source; the majority of sources decides which one is wrong. Evidence = each source's view.")
schedule_integrity = _candidate_asset(
    "schedule_integrity", [keys.CUR_PARTNER],
    "SHOW_DUPLICATE (one show under two codes) and HALL_OVERLAP (a show starting before the previous show in "
    "the hall has ended plus the cleaning gap) within each partner's current schedule.")
order_show = _candidate_asset(
    "order_show", [keys.CUR_ORDER_STATE, keys.CUR_PARTNER, keys.CUR_COMPETITOR],
    "ORDER_SHOW_CHANGED / ORDER_SHOW_CANCELLED: one row per live order whose show really changed (platforms "
    "agree with the partner's new version) or was cancelled (explicitly, or vanished from partner and "
    "platforms). Re-issued show codes are the same show; partner-only changes are not order issues.")
seat_double_sold = _candidate_asset(
    "seat_double_sold", [keys.CUR_ORDER_STATE],
    "SEAT_DOUBLE_SOLD: the same seat of the same show in two or more live orders; one row per show and seat, "
    "order_id = the later order.")
pickup_code = _candidate_asset(
    "pickup_code", [keys.raw("pickup_codes"), keys.CUR_ORDER_STATE, keys.cand("order_show")],
    "PICKUP_CODE_DUPLICATE (one code on two orders) and PICKUP_CODE_INVALID (unknown order, live order of a "
    "cancelled show, seats different from the order's): one row per code.")
