"""The cheapest JSON Lines reading (DuckDB turns every value into VARCHAR itself, so keys it was not
given go unseen) is taken only when the file's bytes prove there are no such keys; every file it
must not take, or that it starts and then refuses, lands exactly as on the careful path: same raw
rows and line numbers, quarantine rows and reasons, ledger row and drift."""

from __future__ import annotations

import json

import pytest

from ticket_dq.lib import decode
from ticket_dq_tests.ingest.landing_helpers import deliver, sample_row
from ticket_dq_tests.ingest.test_fast_path_refusals import _both_ways

CRAWL = "competitor_schedule"


def _compact(rows: list[dict]) -> bytes:
    """JSON Lines as Polars, JavaScript or Java write them: no spaces, numbers and booleans bare."""
    return "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in rows).encode("utf-8")


def _crawl(*ids: str, **overrides) -> list[dict]:
    rows = [sample_row(CRAWL, platform_show_id=i, **overrides) for i in ids]
    for r in rows:
        r["sold_out"] = False  # a JSON boolean
    return rows


def _refused_cases() -> dict[str, tuple[bytes, bool]]:
    """Name -> (file, whether the plain reading starts on it and must refuse it itself)."""
    good = _compact(_crawl("P1", "P2"))
    later = _compact(_crawl("P3"))
    hall, city = '"hall_name":"影城文本"'.encode(), '"city":"影城文本"'.encode()
    return {
        "extra key with a space before its colon": (good + later.replace(b'"sold_out":', b'"promo" :"9.9","sold_out":'), False),
        "extra key inside a nested object": (good + later.replace(hall, b'"hall_name":{"promo":1}'), False),
        "extra key spelled with an escape": (good + later.replace(b'"sold_out":', b'"pro\\u006do":1,"sold_out":'), False),
        "a key missing from a later line": (good + later.replace(city + b",", b""), False),
        "a string value starting with a colon": (good + later.replace(hall, b'"hall_name":":VIP"'), False),
        "a null value": (good + later.replace(city, b'"city":null'), False),
        "a key of the line quarantined for lacking another": (good + later.replace(b'"platform_show_id":', b'"promo":'), True),
        "a null value after a spaced colon": (good + later.replace(city, b'"city": null'), True),
        "a text value that is a huge real": (good + later.replace(hall, b'"hall_name":1e21'), True),
        "a text value that is a tiny real": (good + later.replace(hall, b'"hall_name":0.00001'), True),
        "a money value that is a tiny real": (good + later.replace(b'"price_yuan":"39.9"', b'"price_yuan":0.00001'), True),
    }


@pytest.mark.parametrize("case", list(_refused_cases()))
def test_a_crawl_the_plain_reading_must_not_take_lands_as_on_the_careful_path(case, landing, isolated_env,
                                                                              monkeypatch):
    body, starts = _refused_cases()[case]
    deliver(landing, CRAWL, "MAOYAN", "2026-03-08", "c1", body, 3)
    tried = []
    plain_sql = decode.plain_jsonl_source_sql
    monkeypatch.setattr(decode, "plain_jsonl_source_sql", lambda *a: tried.append(a) or plain_sql(*a))

    product, careful = _both_ways(isolated_env["tmp"], landing, CRAWL, monkeypatch)

    assert product[0][0].fast_reader != "jsonl" and bool(tried) == starts
    assert product[1:] == careful[1:]
    f = product[0][0]
    assert f.rows_manifest == f.rows_ingested + f.rows_quarantined


def test_a_compact_crawl_is_read_as_varchar_and_lands_as_on_the_careful_path(landing, isolated_env, monkeypatch):
    rows = _crawl("P1", "P2", "P3") + [sample_row(CRAWL, platform_show_id="P4", price_yuan="39.999"),
                                      sample_row(CRAWL, platform_show_id="P5", start_time="25:61")]
    rows[1]["platform_film_id"] = 400012  # a JSON number in a text column
    rows[2]["price_yuan"] = 35.50  # a real: read as 35.5, as json_extract_string gives it
    rows[3]["cinema_name"] = "  博纳 国际影城 "  # spaces kept in text
    deliver(landing, CRAWL, "MAOYAN", "2026-03-08", "c1", _compact(rows), 5)

    product, careful = _both_ways(isolated_env["tmp"], landing, CRAWL, monkeypatch)

    f = product[0][0]
    assert f.fast_reader == "jsonl" and (f.rows_ingested, f.rows_quarantined) == (3, 2)
    assert product[1:] == careful[1:]
    quarantined = {line: (text, reason) for _, line, text, reason in product[2]}
    assert set(quarantined) == {4, 5} and '"P4"' in quarantined[4][0] and "price_yuan" in quarantined[4][1]
    landed = {r[7]: r for r in product[1]}
    assert landed["P2"][5] == "400012" and landed["P3"][12] == 3550


def test_a_crawl_naming_money_in_fen_is_read_as_varchar(landing, isolated_env, monkeypatch):
    rows = [{("price_fen" if k == "price_yuan" else k): (3990 if k == "price_yuan" else v) for k, v in r.items()}
            for r in _crawl("P1", "P2")]
    deliver(landing, CRAWL, "MAOYAN", "2026-03-08", "c1", _compact(rows), 2)

    product, careful = _both_ways(isolated_env["tmp"], landing, CRAWL, monkeypatch)

    assert product[0][0].fast_reader == "jsonl" and product[0][0].rows_ingested == 2
    assert product[1:] == careful[1:]


def test_the_byte_scan_counts_what_the_plain_reading_rests_on(tmp_path):
    path = tmp_path / "c.jsonl"
    # keys' colons after a quote, a space, a tab; a colon inside a string after another byte is no key's
    path.write_bytes(b'{"a":"x: y","b" :1,"c"\t:2}\n{"a":null,"b":2,"c":3}')
    scan = decode.scan_file(path, jsonl=True)
    assert (scan.newlines, scan.physical_lines, scan.key_colons, scan.null_starts) == (1, 2, 6, 1)
    assert not scan.has_backslash and not scan.plain_keys(3, 2)
    path.write_bytes(b'{"a":"x","b":1}\n{"a":"y","b" : 2}\n')
    scan = decode.scan_file(path, jsonl=True)
    assert scan.plain_keys(2, 2) and not scan.plain_keys(2, 3) and scan.physical_lines == 2
    path.write_bytes(b'{"a":"x","b":1}\n{"a":"y","b":2,"z" :3}\n')  # an extra key, spaced: counted too
    assert not decode.scan_file(path, jsonl=True).plain_keys(2, 2)


def test_a_crawl_written_with_spaced_colons_is_read_as_varchar_and_lands_as_on_the_careful_path(
        landing, isolated_env, monkeypatch):
    body = "".join(json.dumps(r, ensure_ascii=False, separators=(",", " : ")) + "\n"
                   for r in _crawl("P1", "P2", "P3")).encode("utf-8")
    deliver(landing, CRAWL, "MAOYAN", "2026-03-08", "c1", body, 3)

    product, careful = _both_ways(isolated_env["tmp"], landing, CRAWL, monkeypatch)

    assert product[0][0].fast_reader == "jsonl" and product[0][0].rows_ingested == 3
    assert product[1:] == careful[1:]
