"""What the Dagster UI shows about the assets, read from real runs of the whole code location on a
temp warehouse (the hand-made world of ticket_dq_tests/realtime/scenario.py): every table asset's
column schema is the real DuckDB table's, a run with nothing new says so, raw and current layers are
labelled apart, descriptions render, failed checks lead with what failed, and the blocking output
contract of dq.issues keeps a broken table from the Parquet export."""

from __future__ import annotations

import contextlib
import re

import dagster as dg
import duckdb
import pytest

from ticket_dq import settings
from ticket_dq.defs import keys
from ticket_dq.defs.export.assets import parquet
from ticket_dq.defs.issues.checks import ISSUES_CONTRACT_VALID, issues_contract
from ticket_dq.defs.resources import build_resources
from ticket_dq.definitions import defs as build_defs
from ticket_dq.lib import clock, warehouse
from ticket_dq_tests.browser import chromium, dagster_webserver
from ticket_dq_tests.metadata_text import rows
from ticket_dq_tests.realtime import scenario

AT = "2026-05-01 09:00:00"
NOW = "2026-05-01 09:10:00"


def _run_all(defs, instance):
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(instance=instance, raise_on_error=False)
    assert result.success
    return result


def _build_world(env: dict, monkeypatch) -> dict:
    at = clock.parse_instant(AT)
    scenario.base(env["landing"], scenario.shows(at), at)
    monkeypatch.setenv("TICKET_DQ_NOW", NOW)
    # The instance under DAGSTER_HOME (a temp dir): the browser test shows its runs in a real webserver.
    defs, instance = build_defs(), dg.DagsterInstance.get()
    first = _run_all(defs, instance)
    return {**env, "defs": defs, "instance": instance, "first": first}


@pytest.fixture
def world(isolated_env, monkeypatch):
    """A world of its own, for the test that runs again."""
    return _build_world(isolated_env, monkeypatch)


@contextlib.contextmanager
def _module_world(tmp_path_factory, name: str):
    """A world in a temp dir of its own, with the env the isolated_env fixture would give, for a module."""
    tmp = tmp_path_factory.mktemp(name)
    env = {"landing": tmp / "landing", "warehouse": tmp / "warehouse" / "ticket_dq.duckdb", "tmp": tmp}
    env["landing"].mkdir()
    (tmp / "dagster_home").mkdir()
    with pytest.MonkeyPatch.context() as mp:
        for var, value in (("TICKET_DQ_LANDING", env["landing"]), ("TICKET_DQ_WAREHOUSE", env["warehouse"]),
                           ("TICKET_DQ_OUTBOX", tmp / "outbox"), ("DAGSTER_HOME", tmp / "dagster_home")):
            mp.setenv(var, str(value))
        mp.delenv("TICKET_DQ_ROUTES", raising=False)
        yield _build_world(env, mp)


@pytest.fixture(scope="module")
def first_world(tmp_path_factory):
    """One world shared by the tests that only read what the first run left."""
    with _module_world(tmp_path_factory, "first_world") as world:
        yield world


@pytest.fixture(scope="module")
def broken_world(tmp_path_factory):
    """One world whose dq/issues was then broken on purpose (``_broken_issues_run``), shared by the tests
    that read what that run left: its check, the export it held back, and the UI showing both."""
    with _module_world(tmp_path_factory, "broken_world") as world:
        export_file = settings.export_dir() / "issues.parquet"
        before = export_file.read_bytes()
        result = _broken_issues_run(world["instance"])
        yield {**world, "broken": result, "export_file": export_file, "export_before": before}


@pytest.fixture
def defs():
    return build_defs()


def _table_assets(defs):
    return [s.key for s in defs.resolve_all_asset_specs() if "duckdb" in s.kinds]


def _latest(instance, key) -> dict:
    event = instance.get_latest_materialization_event(key)
    assert event is not None, key
    return event.asset_materialization.metadata


def test_every_table_asset_shows_the_column_schema_of_its_real_duckdb_table(first_world):
    world = first_world
    with duckdb.connect(str(world["warehouse"]), read_only=True) as con:
        for key in _table_assets(world["defs"]):
            md = _latest(world["instance"], key)
            schema, name = key.path
            real = con.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? "
                               "AND table_name = ? ORDER BY ordinal_position", [schema, name]).fetchall()
            shown = [(c.name, c.type) for c in md["dagster/column_schema"].schema.columns]
            assert shown == real and real, key
            assert md["dagster/table_name"].value == f"{schema}.{name}"
            assert md["dagster/row_count"].value == con.execute(f"SELECT count(*) FROM {schema}.{name}").fetchone()[0]


def test_a_run_with_nothing_new_says_since_when_instead_of_zeros(world):
    with duckdb.connect(str(world["warehouse"]), read_only=True) as con:
        last = con.execute("SELECT max(ingested_at) FROM meta.ingested_files WHERE feed = 'partner_schedule'").fetchone()[0]
    _run_all(world["defs"], world["instance"])  # nothing landed since the first run
    md = _latest(world["instance"], keys.raw("partner_schedule"))
    assert md["summary"].value == f"nothing new since {last} (latest file ingested)"
    assert list(md)[0] == "summary"  # the first thing the UI shows
    assert "files_ingested" not in md and "rows_ingested" not in md
    assert md["dagster/row_count"].value == len(scenario.shows(clock.parse_instant(AT)))
    ref = _latest(world["instance"], keys.ref("films"))
    assert ref["summary"].value.startswith("nothing new since 2026-05-01 09:10:00 (latest load of reference/films.csv")
    cur = _latest(world["instance"], keys.CUR_PARTNER)
    assert cur["summary"].value.startswith("nothing new since ")


def test_the_first_run_reports_what_it_ingested_with_the_files_inline(first_world):
    md = first_world["first"].asset_materializations_for_node("raw__orders")[0].metadata
    assert md["summary"].value.startswith("1 file(s) ingested (")
    [f] = rows(md["files"])
    assert f["status"] == "INGESTED" and f["file"].startswith("orders/FH/2026-05-01/")


def test_raw_and_current_layers_are_labelled_apart_and_descriptions_render(defs):
    specs = {s.key: s for s in defs.resolve_all_asset_specs()}
    raw, cur = specs[keys.raw("competitor_schedule")], specs[keys.CUR_COMPETITOR]
    assert "raw" in raw.kinds and "current" in cur.kinds
    assert raw.tags["layer"] == "raw" and cur.tags["layer"] == "current"
    assert raw.description.startswith("Raw layer, table `raw.competitor_schedule`")
    assert cur.description.startswith("Current layer, table `cur.competitor_schedule`")
    for key, spec in specs.items():
        outside_code = re.sub(r"`[^`]*`", "", spec.description)
        # Markdown eats <landing> as an HTML tag; inside a code span it shows as written.
        assert not re.search(r"<[a-z_]+>", outside_code), key
        assert not spec.description.startswith("["), key
    assert specs[keys.NOTIFICATIONS].description.startswith("Output table `dq.notifications`")


def test_dq_issues_carries_a_freshness_policy_of_the_realtime_target(defs):
    spec = next(s for s in defs.resolve_all_asset_specs() if s.key == keys.ISSUES)
    policy = spec.freshness_policy
    assert isinstance(policy, dg.FreshnessPolicy)
    assert policy.fail_window.to_timedelta().total_seconds() == 30 * 60
    assert policy.warn_window.to_timedelta().total_seconds() == 20 * 60


def _check_evaluations(result):
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_the_real_issues_table_passes_its_contract_and_is_exported(first_world):
    world = first_world
    evals = _check_evaluations(world["first"])
    contract = evals[ISSUES_CONTRACT_VALID]
    assert contract.passed and contract.description.startswith("dq.issues meets its contract (")
    assert keys.EXPORT_PARQUET in {e.asset_key for e in world["first"].get_asset_materialization_events()}


def _broken_issues_run(instance):
    """dq/issues as a step that breaks the contract on purpose, its real check, and the real export."""
    @dg.asset(key=keys.ISSUES)
    def broken_issues() -> None:
        with warehouse.connect(settings.warehouse_path()) as con:
            con.execute("DELETE FROM dq.issues")
            row = ("'x1', 'SHOW_MISSING', 'r', 'P1', 'CS', 'OPEN', 'FH', "
                   "'call 13812345678 about it', '{}', TIMESTAMP '2026-05-01 09:00:00', TIMESTAMP '2026-05-01 09:00:00'")
            # A status and a category outside their sets, and a customer's mobile number in both reasons.
            for values in (row.replace("'OPEN'", "'LOST'"), row.replace("'x1', 'SHOW_MISSING'", "'x2', 'SHOW_GONE'")):
                con.execute(f"INSERT INTO dq.issues (issue_id, category, rule, severity, team, status, source, "
                            f"reason, evidence, first_detected_at, last_detected_at) VALUES ({values})")

    return dg.materialize([broken_issues, issues_contract, parquet], resources=build_resources(), instance=instance,
                          raise_on_error=False)


def test_a_broken_issues_table_fails_the_blocking_check_and_never_reaches_the_export(broken_world):
    result = broken_world["broken"]
    check = _check_evaluations(result)[ISSUES_CONTRACT_VALID]
    assert check.passed is False and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.description.startswith("FAILED 3 contract rule(s) of dq.issues: category in value set: 1 (e.g. "
                                        "SHOW_GONE); status in value set: 1 (e.g. LOST)")
    assert "no unmasked mobile number: 2" in check.description and "13812345678" not in check.description
    assert {r["rule"] for r in rows(check.metadata["violations"])} == {
        "category in value set", "status in value set", "no unmasked mobile number"}
    assert keys.EXPORT_PARQUET not in {e.asset_key for e in result.get_asset_materialization_events()}
    # BI tools still read the last good export
    assert broken_world["export_file"].read_bytes() == broken_world["export_before"]


def test_the_dagster_ui_shows_an_assets_column_schema_and_the_failing_output_check(broken_world, tmp_path):
    world = broken_world
    env = {"TICKET_DQ_LANDING": str(world["landing"]), "TICKET_DQ_WAREHOUSE": str(world["warehouse"]),
           "TICKET_DQ_OUTBOX": str(world["tmp"] / "outbox"), "DAGSTER_HOME": str(world["tmp"] / "dagster_home"),
           "TICKET_DQ_NOW": NOW}
    with dagster_webserver(env, tmp_path / "webserver.log") as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        page.add_locator_handler(page.get_by_text("Join the Dagster community"),
                                 lambda: page.get_by_role("button", name="Skip").click())
        page.goto(f"{url}/assets/raw/partner_schedule")
        page.get_by_text("partner_update_time", exact=True).first.wait_for(timeout=60_000)
        body = page.inner_text("body")
        page.screenshot(path=str(tmp_path / "raw_partner_schedule.png"), full_page=True)
        with duckdb.connect(str(world["warehouse"]), read_only=True) as con:
            columns = [r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE "
                                                 "table_schema = 'raw' AND table_name = 'partner_schedule'").fetchall()]
        assert all(c in body for c in columns), [c for c in columns if c not in body]
        assert "TIMESTAMP" in body and "nothing new since" not in body  # the first run ingested the snapshot

        page.goto(f"{url}/assets/dq/issues?view=checks&checkDetail={ISSUES_CONTRACT_VALID}")
        page.get_by_text("FAILED 3 contract rule(s) of dq.issues", exact=False).first.wait_for(timeout=60_000)
        body = page.inner_text("body")
        page.screenshot(path=str(tmp_path / "dq_issues_contract_check.png"), full_page=True)
        assert re.search(r"Evaluation result\s+Failed", body), body[:2000]
        assert "This is a blocking asset check." in body
        # The violations table is inline: no "[Show Markdown]" to click.
        assert "no unmasked mobile number" in body and "SHOW_GONE" in body and "[Show Markdown]" not in body
        assert "13812345678" not in body
