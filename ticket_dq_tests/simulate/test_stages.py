"""Each stage of the simulator on its own: the market (coverage, reference files, true schedule), the
schedule faults planted in it, and the truth file; each deterministic for a seed."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl

from ticket_dq.simulate.config import DAY, HOUR, PARTNERS, SimConfig
from ticket_dq.simulate.generator import Simulator
from ticket_dq.simulate.truth import Truth
from ticket_dq.simulate.world import build_world

CFG = SimConfig(cinemas=12, days=2, seed=3)


def _market(out: Path) -> Simulator:
    """A simulator run up to and including the market stage only."""
    sim = Simulator(CFG, out)
    sim.world = build_world(sim.rng, CFG.cinemas, [p.share for p in PARTNERS], CFG.d0.toordinal())
    sim._platform_coverage()
    sim._write_reference()
    sim._build_shows()
    return sim


def test_market_alone_writes_reference_files_and_a_schedule_of_its_own_cinemas(tmp_path):
    sim = _market(tmp_path)
    assert sorted(p.name for p in (tmp_path / "reference").iterdir()) == ["cinema_aliases.csv", "cinemas.csv",
                                                                           "films.csv"]
    cinemas = pl.read_csv(tmp_path / "reference" / "cinemas.csv", schema_overrides={"cinema_code": pl.Utf8})
    assert cinemas.height == CFG.cinemas and cinemas["cinema_code"].n_unique() == CFG.cinemas
    shows = sim.shows
    assert shows.height > 0 and shows["sid"].n_unique() == shows.height
    assert set(shows["cin"].unique()) <= set(range(CFG.cinemas))
    # a show belongs to the business day it starts in, counted from 06:00 (after midnight = the day before)
    offset = shows["start_s"] - shows["bday"] * DAY
    assert offset.min() >= 6 * HOUR and offset.max() < DAY + 6 * HOUR
    assert (shows["sale_fen"] <= shows["list_fen"]).all()


def test_market_alone_is_the_same_for_the_same_seed(tmp_path):
    a, b = _market(tmp_path / "a"), _market(tmp_path / "b")
    assert a.shows.equals(b.shows) and a.world.cinemas.equals(b.world.cinemas)


def test_schedule_faults_alone_record_each_class_at_least_five_times_on_market_cinemas(tmp_path):
    sim = _market(tmp_path)
    sim._plan_schedule_faults()
    faults = [r for r in sim.truth.rows if r["kind"] == "fault"]
    codes = set(sim.world.cinemas["cinema_code"])
    days = {sim.day(d) for d in range(-1, CFG.days + 3)}
    by_class: dict[str, int] = {}
    for r in faults:
        by_class[r["category"]] = by_class.get(r["category"], 0) + 1
        assert r["cinema_code"] in codes and r["business_date"] in days, r
        assert r["source"] in {p.code for p in PARTNERS} | {"MAOYAN", "TAOPIAOPIAO"}, r
    assert {"SHOW_TIME_MISMATCH", "HALL_OVERLAP", "SHOW_EXTRA", "SHOW_MISSING", "SHOW_FILM_MISMATCH",
            "SHOW_DUPLICATE"} <= set(by_class)
    assert min(by_class.values()) >= 5, by_class


def test_truth_alone_numbers_faults_in_order_and_writes_them_as_csv(tmp_path):
    truth = Truth()
    first = truth.add("fault", "SHOW_EXTRA", "ghost", "FH", cinema_code="11011001", detail={"b": 1, "a": 2})
    second = truth.add("benign", "REISSUED_SHOW_CODE", "reissue", "DX")
    assert (first, second) == ("F000001", "F000002")
    truth.write(tmp_path / "faults.csv")
    with (tmp_path / "faults.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["fault_id"] for r in rows] == ["F000001", "F000002"]
    assert list(rows[0]) == list(Truth.COLUMNS)
    assert rows[0]["detail"] == '{"a": 2, "b": 1}' and rows[1]["cinema_code"] == ""
