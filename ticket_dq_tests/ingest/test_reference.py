"""Reference data loads as a full replacement, and only when the file changed."""

from __future__ import annotations

from datetime import date

from ticket_dq.lib import ingest
from ticket_dq_tests.ingest.conftest import NOW


def _write(landing, name, text, encoding="utf-8"):
    (landing / "reference").mkdir(exist_ok=True)
    (landing / "reference" / f"{name}.csv").write_bytes(text.encode(encoding))


def test_reference_file_loads_then_is_skipped_when_unchanged_and_replaced_when_changed(con, landing):
    _write(landing, "films", "film_code,film_name,version,language,duration_min,release_date\n"
                             "001234567890,龙猫,2D,日语,86,2026-03-01\n001234567891,龙猫,3D,日语,86,2026-03-01\n")
    first = ingest.ingest_reference(con, landing, "films", "run-1", NOW)
    assert (first.status, first.rows_loaded) == ("LOADED", 2)
    assert con.execute("SELECT film_name, duration_min, release_date, ingest_line FROM ref.films ORDER BY 4").fetchall() == [
        ("龙猫", 86, date(2026, 3, 1), 2), ("龙猫", 86, date(2026, 3, 1), 3)]

    assert ingest.ingest_reference(con, landing, "films", "run-2", NOW).status == "UNCHANGED"

    _write(landing, "films", "film_code,film_name,version,language,duration_min,release_date\n"
                             "009999999999,哪吒,IMAX,国语,144,2026-01-29\n")
    third = ingest.ingest_reference(con, landing, "films", "run-3", NOW)
    assert (third.status, third.rows_loaded) == ("LOADED", 1)
    assert con.execute("SELECT film_code FROM ref.films").fetchall() == [("009999999999",)]


def test_reference_file_missing_a_column_keeps_the_previous_table(con, landing):
    _write(landing, "cinemas", "cinema_code,cinema_name,city,district,brand,status\n12345678,万达,北京,朝阳,万达,OPEN\n")
    ingest.ingest_reference(con, landing, "cinemas", "run-1", NOW)
    _write(landing, "cinemas", "cinema_code,cinema_name,city\n87654321,横店,杭州\n")

    report = ingest.ingest_reference(con, landing, "cinemas", "run-2", NOW)

    assert report.status == "REJECTED" and "district" in report.reason
    assert con.execute("SELECT cinema_code FROM ref.cinemas").fetchall() == [("12345678",)]


def test_absent_reference_file_is_reported_not_an_error(con, landing):
    assert ingest.ingest_reference(con, landing, "cinema_aliases", "run-1", NOW).status == "ABSENT"
