"""Every file the fast path must refuse lands exactly as on the careful path: same raw rows and line
numbers, same quarantine rows and reasons, same ledger row and schema drift. Each file is ingested
twice into real warehouse files, once as the product does it (fast path tried first) and once with
the fast path switched off. Every test runs twice: with files read whole, and with every file cut
into three parts that DuckDB reads side by side (``file_parts``; the product cuts only large files),
so a cut inside a multi-line record, a blank line or a bad line is covered too."""

from __future__ import annotations

import hashlib
import json
import tempfile
from contextlib import contextmanager

import pytest

from ticket_dq.lib import contract, file_parts, ingest, warehouse
from ticket_dq_tests.ingest.conftest import NOW
from ticket_dq_tests.ingest.landing_helpers import csv_bytes, deliver, jsonl_bytes, sample_row

CRAWL = "competitor_schedule"
SNAPSHOT = "partner_schedule"


@pytest.fixture(autouse=True, params=["whole", "parts"])
def reading(request, monkeypatch) -> list[int]:
    """How files are read; the list it gives collects the number of readers of each fast-path reading."""
    readers: list[int] = []
    if request.param == "parts":
        monkeypatch.setattr(file_parts, "part_count", lambda size, threads: 3)
    real = ingest._readers

    def counted(*a, **k):
        out = real(*a, **k)
        readers.append(len(out[0]))
        return out
    monkeypatch.setattr(ingest, "_readers", counted)
    return readers


def _crawl(*ids: str, **overrides) -> list[dict]:
    return [sample_row(CRAWL, platform_show_id=i, **overrides) for i in ids]


def _line(row: dict) -> bytes:
    return json.dumps(row, ensure_ascii=False).encode("utf-8")


def _jsonl_cases() -> dict[str, tuple[bytes, int]]:
    good = jsonl_bytes(_crawl("P1", "P2"))
    extra_later = _line(_crawl("P3")[0] | {"promo": "9.9"})
    fen_not_yuan = [{k if k != "price_yuan" else "price_fen": v if k != "price_yuan" else "3990"
                     for k, v in r.items()} for r in _crawl("P1", "P2")]
    first_lacks_city = {k: v for k, v in _crawl("P0")[0].items() if k != "city"}
    return {
        "bad JSON line": (good + b'{"platform": "MAOYAN", \n', 3),
        "blank line": (good + b"\n" + jsonl_bytes(_crawl("P3")), 3),
        "whitespace-only line": (good + b"  \n" + jsonl_bytes(_crawl("P3")), 3),
        "extra key on a later line": (good + extra_later + b"\n", 3),
        "extra key on the first line": (extra_later + b"\n" + good, 3),
        "key absent from the first line": (_line(first_lacks_city) + b"\n" + good, 3),
        "line that is an array": (good + b'["P9"]\n', 3),
        "duplicate key": (good + b'{"platform_show_id": "P7", "platform_show_id": "P8"}\n', 3),
        "CRLF": (good.replace(b"\n", b"\r\n"), 2),
        "BOM": (b"\xef\xbb\xbf" + good, 2),
        "GB18030": (good.decode("utf-8").encode("gb18030"), 2),
        "money in fen, not yuan": (jsonl_bytes(fen_not_yuan), 2),
        "money in both units": (good.replace(b'"price_yuan"', b'"price_fen": "100", "price_yuan"'), 2),
        "contract key in no line": (jsonl_bytes([{k: v for k, v in r.items() if k != "hall_name"}
                                                 for r in _crawl("P1", "P2")]), 2),
    }


def _csv_cases() -> dict[str, tuple[bytes, int]]:
    rows = [sample_row(SNAPSHOT, show_code=f"S{i}") for i in (1, 2, 3)]
    body = csv_bytes(rows)
    header = list(rows[0])
    yuan = [{("sale_price_yuan" if k == "sale_price_fen" else k): ("39.90" if k == "sale_price_fen" else v)
             for k, v in r.items()} for r in rows]
    return {
        "CRLF": (csv_bytes(rows, newline="\r\n"), 3),
        "BOM": (b"\xef\xbb\xbf" + body, 3),
        "GB18030": (csv_bytes(rows, encoding="gb18030"), 3),
        "money in yuan": (csv_bytes(yuan), 3),
        "blank line": (body + b"\n" + csv_bytes(rows[:1]).split(b"\n", 1)[1], 4),
        "multi-line quoted record": (csv_bytes([rows[0] | {"hall_name": "1号厅\n(激光)"}] + rows[1:]), 3),
        "extra column": (csv_bytes([r | {"promo": "9.9"} for r in rows], header=header + ["promo"]), 3),
        "unterminated quote": (body + b'2026-03-08 10:00:00,"11010001,broken\n', 4),
        "record with too few fields": (body + b"2026-03-08 10:00:00,11010001\n", 4),
        "a line in another encoding": (body + "坏".encode("gb18030") + b"\n", 4),
        "cast failure": (csv_bytes(rows + [sample_row(SNAPSHOT, show_code="S4", seat_total="many")]), 4),
        # The fast path numbers its rows by their order: the rows after a quarantined one keep their lines.
        "cast failures mid-file": (csv_bytes(rows[:1] + [sample_row(SNAPSHOT, show_code="S4", seat_total="many")]
                                             + rows[1:2] + [sample_row(SNAPSHOT, show_code="S5", start_time="soon")]
                                             + rows[2:]), 5),
    }


def _landed(path, landing, feed: str) -> tuple:
    with warehouse.connect(path) as con:
        report = ingest.ingest_feed(con, landing, feed, "run-1", NOW)
        table = "raw." + feed
        rows = con.execute(f"SELECT * EXCLUDE (ingested_at) FROM {table} ORDER BY ingest_line").fetchall()
        quarantine = con.execute("SELECT ingest_file, ingest_line, raw_text, reason FROM raw.quarantine "
                                 "ORDER BY ingest_file, ingest_line").fetchall()
        ledger = con.execute("SELECT file, sha256, encoding, rows_manifest, rows_in_file, rows_ingested, "
                             "rows_quarantined, status, reason FROM meta.ingested_files").fetchall()
        drift = con.execute("SELECT file, kind, column_name, detail FROM meta.schema_drift ORDER BY ALL").fetchall()
    return report.files, rows, quarantine, ledger, drift


def _both_ways(tmp, landing, feed, monkeypatch) -> tuple:
    product = _landed(tmp / "product.duckdb", landing, feed)
    monkeypatch.setattr(ingest, "_fast", lambda *a, **k: None)  # the careful path only
    careful = _landed(tmp / "careful.duckdb", landing, feed)
    return product, careful


@pytest.mark.parametrize("case", list(_jsonl_cases()))
def test_a_jsonl_file_the_fast_path_refuses_or_takes_lands_as_on_the_careful_path(case, landing, isolated_env, monkeypatch):
    body, rows = _jsonl_cases()[case]
    deliver(landing, CRAWL, "MAOYAN", "2026-03-08", "c1", body, rows)

    product, careful = _both_ways(isolated_env["tmp"], landing, CRAWL, monkeypatch)

    # A crawl naming its money column in fen throughout is a legal variant DuckDB reads as well.
    assert product[0][0].fast_path == (case == "money in fen, not yuan")
    assert product[1:] == careful[1:]
    f = product[0][0]
    assert f.rows_manifest == f.rows_ingested + f.rows_quarantined


@pytest.mark.parametrize("case", list(_csv_cases()))
def test_a_csv_file_the_fast_path_refuses_or_takes_lands_as_on_the_careful_path(case, landing, isolated_env,
                                                                                 monkeypatch):
    body, rows = _csv_cases()[case]
    deliver(landing, SNAPSHOT, "FH", "2026-03-08", "s1", body, rows)

    product, careful = _both_ways(isolated_env["tmp"], landing, SNAPSHOT, monkeypatch)

    assert product[1:] == careful[1:]
    f = product[0][0]
    assert f.rows_manifest == f.rows_ingested + f.rows_quarantined
    # Files DuckDB reads the same way (CRLF, BOM, GB18030, yuan, cast failures) may stay on the fast
    # path; a file whose records are not one per line must not.
    if case in ("blank line", "multi-line quoted record", "extra column", "unterminated quote",
                "record with too few fields"):
        assert not f.fast_path
    if case.startswith("cast failure"):
        assert f.fast_path and f.rows_quarantined == case.count("failures") + 1


def test_a_clean_jsonl_crawl_is_read_by_duckdb_and_lands_as_on_the_careful_path(landing, isolated_env, monkeypatch):
    rows = _crawl("P1", "P2", "P3") + [sample_row(CRAWL, platform_show_id="P4", price_yuan="39.999"),
                                      sample_row(CRAWL, platform_show_id="P5", start_time="25:61")]
    rows[1]["cinema_name"] = '万达"IMAX"影城\t\\南'  # escapes: unquoted by json_extract_string
    rows[2]["sold_out"] = True  # a JSON boolean, as crawlers send it
    rows[2]["hall_name"] = None
    deliver(landing, CRAWL, "MAOYAN", "2026-03-08", "c1", jsonl_bytes(rows), 5)

    product, careful = _both_ways(isolated_env["tmp"], landing, CRAWL, monkeypatch)

    f = product[0][0]
    assert f.fast_path and (f.rows_ingested, f.rows_quarantined) == (3, 2)
    assert product[1:] == careful[1:]
    quarantined = {line: (text, reason) for _, line, text, reason in product[2]}
    assert set(quarantined) == {4, 5} and '"P4"' in quarantined[4][0] and "price_yuan" in quarantined[4][1]
    assert [r for r in product[1] if r[7] == "P2"][0][3] == '万达"IMAX"影城\t\\南'


def test_a_clean_csv_snapshot_is_read_by_duckdb_and_lands_as_on_the_careful_path(landing, isolated_env, monkeypatch,
                                                                                reading, request):
    rows = [sample_row(SNAPSHOT, show_code=f"S{i}", hall_name="7号激光厅, VIP") for i in range(1, 4)]
    deliver(landing, SNAPSHOT, "FH", "2026-03-08", "s1", csv_bytes(rows), 3)

    product, careful = _both_ways(isolated_env["tmp"], landing, SNAPSHOT, monkeypatch)

    assert product[0][0].fast_path and product[0][0].rows_ingested == 3
    assert reading == [3 if request.node.callspec.params["reading"] == "parts" else 1]
    assert product[1:] == careful[1:]
    line = len(contract.FEEDS[SNAPSHOT].raw_columns()) + 2  # source, ingest_file, ingest_line
    assert [r[line] for r in product[1]] == [2, 3, 4]


def test_a_jsonl_crawl_with_a_bad_line_mid_file_keeps_every_line_number_on_the_fast_path(landing, isolated_env,
                                                                                        monkeypatch, reading, request):
    rows = _crawl("P1") + [sample_row(CRAWL, platform_show_id="P2", start_time="25:61")] + _crawl("P3", "P4")
    deliver(landing, CRAWL, "MAOYAN", "2026-03-08", "c1", jsonl_bytes(rows), 4)

    product, careful = _both_ways(isolated_env["tmp"], landing, CRAWL, monkeypatch)

    assert product[0][0].fast_reader == "jsonl" and product[0][0].rows_quarantined == 1
    assert reading == [3 if request.node.callspec.params["reading"] == "parts" else 1]
    assert product[1:] == careful[1:]
    assert [q[1] for q in product[2]] == [2]
    ids = [c for c, _ in contract.FEEDS[CRAWL].raw_columns()].index("platform_show_id")
    line = len(contract.FEEDS[CRAWL].raw_columns()) + 2  # source, ingest_file, ingest_line
    assert [(r[ids], r[line]) for r in product[1]] == [("P1", 1), ("P3", 3), ("P4", 4)]


def test_a_jsonl_crawl_without_a_final_newline_stays_on_the_fast_path(landing, isolated_env, monkeypatch):
    deliver(landing, CRAWL, "MAOYAN", "2026-03-08", "c1", jsonl_bytes(_crawl("P1", "P2")).rstrip(b"\n"), 2)

    product, careful = _both_ways(isolated_env["tmp"], landing, CRAWL, monkeypatch)

    assert product[0][0].fast_path and product[0][0].rows_ingested == 2
    assert product[1:] == careful[1:]


def test_a_connection_that_does_not_keep_insertion_order_lands_files_on_the_careful_path(landing, isolated_env,
                                                                                       monkeypatch):
    # The fast path numbers records by the order DuckDB reads them in; without that order it must not run.
    rows = [sample_row(SNAPSHOT, show_code=f"S{i}") for i in range(1, 6)]
    deliver(landing, SNAPSHOT, "FH", "2026-03-08", "s1", csv_bytes(rows), 5)
    connect = warehouse.connect

    @contextmanager
    def unordered(*a, **k):
        with connect(*a, **k) as con:
            con.execute("SET preserve_insertion_order = false")
            yield con

    monkeypatch.setattr(warehouse, "connect", unordered)
    db = isolated_env["tmp"] / "product.duckdb"
    files = _landed(db, landing, SNAPSHOT)[0]

    assert not files[0].fast_path and files[0].rows_ingested == 5
    with connect(db, read_only=True) as con:
        lines = con.execute("SELECT show_code, ingest_line FROM raw.partner_schedule ORDER BY ingest_line").fetchall()
    assert lines == [(f"S{i}", i + 1) for i in range(1, 6)]


def test_a_file_duckdb_refuses_leaves_the_connection_as_it_was_for_the_next_file(landing, isolated_env, reading):
    # A refusal aborts the file's transaction; a part-wise reading must still set the insertion order
    # back, or every later file would be sent to the careful path.
    body, rows = _csv_cases()["record with too few fields"]
    deliver(landing, SNAPSHOT, "FH", "2026-03-08", "s1", body, rows)
    deliver(landing, SNAPSHOT, "FH", "2026-03-08", "s2", csv_bytes([sample_row(SNAPSHOT, show_code=f"T{i}")
                                                                    for i in range(1, 6)]), 5)
    db = isolated_env["tmp"] / "product.duckdb"
    with warehouse.connect(db) as con:
        files = ingest.ingest_feed(con, landing, SNAPSHOT, "run-1", NOW).files
        keeps_order = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]

    assert [(f.file.rsplit("/", 1)[1], f.fast_path) for f in files] == [("s1.csv", False), ("s2.csv", True)]
    assert keeps_order is True
    assert files[1].rows_ingested == 5 and files[0].rows_quarantined == 1


@pytest.mark.parametrize("early", ["copied beside the scan", "cut after the scan"])
def test_a_large_file_lands_the_same_whether_its_parts_were_copied_during_the_scan_or_after(
        landing, isolated_env, monkeypatch, reading, request, early, tmp_path):
    rows = _crawl("P1") + [sample_row(CRAWL, platform_show_id="P2", start_time="25:61")] + _crawl("P3", "P4", "P5")
    deliver(landing, CRAWL, "MAOYAN", "2026-03-08", "c1", jsonl_bytes(rows), 5)
    if early == "cut after the scan":  # as when the early copy failed
        monkeypatch.setattr(file_parts.EarlyCut, "numbered", lambda self, *a: None)
    cut_after: list[int] = []
    real_cut = file_parts.cut_file
    monkeypatch.setattr(file_parts, "cut_file", lambda *a: cut_after.append(a[4]) or real_cut(*a))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()

    product, careful = _both_ways(isolated_env["tmp"], landing, CRAWL, monkeypatch)

    assert product[0][0].fast_reader == "jsonl"
    assert reading == [3 if request.node.callspec.params["reading"] == "parts" else 1]
    assert product[1:] == careful[1:]
    parts = request.node.callspec.params["reading"] == "parts"
    assert cut_after == ([3] if parts and early == "cut after the scan" else [])
    assert not list((tmp_path / "tmp").iterdir())  # every part removed


def test_a_large_file_whose_manifest_names_ingested_content_copies_no_parts_and_is_judged_by_its_bytes(
        landing, isolated_env, monkeypatch, reading, request):
    # A re-delivery lands nothing: its parts are not copied beside the scan. The scan's sha256 still
    # decides, so a file whose bytes differ from what its manifest claims is rejected all the same.
    body = jsonl_bytes(_crawl("P1", "P2", "P3"))
    deliver(landing, CRAWL, "MAOYAN", "2026-03-08", "c1", body, 3)
    copied: list[str] = []
    real_init = file_parts.EarlyCut.__init__
    monkeypatch.setattr(file_parts.EarlyCut, "__init__",
                        lambda self, path, *a: copied.append(path.parent.name) or real_init(self, path, *a))
    with warehouse.connect(isolated_env["tmp"] / "product.duckdb") as con:
        first = ingest.ingest_feed(con, landing, CRAWL, "run-1", NOW).files
        deliver(landing, CRAWL, "MAOYAN", "2026-03-09", "c1", body, 3)
        deliver(landing, CRAWL, "MAOYAN", "2026-03-10", "c1", jsonl_bytes(_crawl("P1", "P2", "P9")), 3,
                sha256=hashlib.sha256(body).hexdigest())
        later = ingest.ingest_feed(con, landing, CRAWL, "run-2", NOW).files
        raw_rows = con.execute("SELECT count(*) FROM raw.competitor_schedule").fetchone()[0]

    assert [f.status for f in first + later] == ["INGESTED", "REDELIVERY", "REJECTED"]
    assert "manifest mismatch" in later[1].reason
    assert raw_rows == 3
    assert copied == (["2026-03-08"] if request.node.callspec.params["reading"] == "parts" else [])


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_a_file_with_no_room_for_its_parts_lands_read_whole_or_on_the_careful_path(landing, isolated_env,
                                                                                   monkeypatch, reading, encoding):
    rows = [sample_row(SNAPSHOT, show_code=f"S{i}") for i in range(5)]
    deliver(landing, SNAPSHOT, "FH", "2026-03-08", "s1", csv_bytes(rows, encoding=encoding), 5)

    def no_space(*a, **k):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(file_parts, "_copy_range", no_space)  # $TMPDIR full: no part can be written
    monkeypatch.setattr(file_parts, "cut_bytes", no_space)

    product, careful = _both_ways(isolated_env["tmp"], landing, SNAPSHOT, monkeypatch)

    f = product[0][0]
    assert f.status == "INGESTED" and f.rows_ingested == 5
    # a UTF-8 file is read whole by DuckDB; a GB18030 one needs its UTF-8 text on disk: the careful path
    assert f.fast_path == (encoding == "utf-8")
    assert reading == ([1] if f.fast_path else [])
    assert product[1:] == careful[1:]
