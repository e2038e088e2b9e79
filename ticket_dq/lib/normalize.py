"""Name normalisation for cross-source matching: halls, films, cinemas.

Each rule exists twice, once as a pure Python function (unit-tested, used for small lookups) and once
as a DuckDB SQL macro with the same behaviour (``install_macros``), because the comparisons run over
millions of rows in SQL and a Python UDF would be row-by-row. ``ticket_dq_tests/compare`` checks that
both agree on the same examples.

Rules:
- full-width ASCII (``Ａ``, ``３``, ``（``, ``：``) folds to half-width; whitespace is dropped;
- hall: the hall number is the first run of digits (``3号激光厅`` = ``3号厅(激光)`` = ``3厅`` -> ``3``);
  feature tags (激光, IMAX, 杜比/全景声, 中国巨幕, VIP) are kept apart; bracketed text that is not a
  feature tag (promotions such as ``(卖品套餐9.9元)``) is ignored;
- film: bracketed format notes (``（数字）``, ``(IMAX)``) and trailing version words (``3D``, ``IMAX``,
  ``中国巨幕``, ``2D``) are dropped, ``：``/``:``/``·``/dashes and spaces removed, Latin upper-cased;
- cinema: brackets and punctuation removed, the city name removed, Latin upper-cased.
"""

from __future__ import annotations

import re

import duckdb

_FULL = "".join(chr(c) for c in range(0xFF01, 0xFF5F))
_HALF = "".join(chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F))
_WIDTH = str.maketrans(_FULL + "\u3000（）【】：", _HALF + " ()[]:")

HALL_TAGS = (("IMAX", "IMAX"), ("激光", "激光"), ("杜比", "杜比"), ("全景声", "杜比"), ("巨幕", "巨幕"),
             ("VIP", "VIP"))
_FILM_VERSION_WORDS = r"(IMAX ?3D|IMAX ?2D|IMAX|中国巨幕|3D|2D|数字|杜比|激光)"


def fold_width(text: str | None) -> str | None:
    """Full-width ASCII and CJK brackets/colon to half-width."""
    return None if text is None else text.translate(_WIDTH)


def hall_number(name: str | None) -> str | None:
    """The hall's number as text without leading zeros (``3号激光厅`` -> ``3``), None if it has none."""
    if name is None:
        return None
    m = re.search(r"[0-9]+", fold_width(name))
    return str(int(m.group(0))) if m else None


def hall_tags(name: str | None) -> str:
    """Feature tags of a hall, sorted and comma-joined (``3号厅(IMAX)`` -> ``IMAX``); promo text ignored."""
    if name is None:
        return ""
    text = fold_width(name).upper()
    return ",".join(sorted({tag for word, tag in HALL_TAGS if word in text}))


def hall_key(name: str | None) -> str | None:
    """What identifies a hall across sources: its number, or its tags when it has no number."""
    num = hall_number(name)
    return num if num is not None else (hall_tags(name) or None)


def film_key(name: str | None) -> str | None:
    """Film name without format notes: ``龙猫（数字）`` = ``龙猫`` = ``龙猫 3D``; ``沙丘：预言`` = ``沙丘:预言``."""
    if name is None:
        return None
    text = fold_width(name).upper()
    text = re.sub(r"\([^)]*\)|\[[^\]]*\]", "", text)
    text = re.sub(_FILM_VERSION_WORDS + r"$", "", text.strip())
    text = re.sub(r"[\s:·•\-—_,.!?'\"]", "", text)
    return text or None


def version_key(text: str | None) -> str | None:
    """Projection version from partner ``version`` or platform ``version_text`` (``国语 IMAX3D`` -> ``IMAX3D``)."""
    if text is None:
        return None
    t = fold_width(text).upper().replace(" ", "")
    for word, key in (("IMAX", "IMAX3D"), ("巨幕", "巨幕"), ("3D", "3D")):
        if word in t:
            return key
    return "2D"


def cinema_key(name: str | None, city: str | None = None) -> str | None:
    """Cinema name for within-city matching: brackets, punctuation and the city name removed."""
    if name is None:
        return None
    text = fold_width(name).upper()
    if city:
        text = text.replace(city, "")
    text = re.sub(r"[\s()\[\]:·\-—_,.]", "", text)
    return text or None


# ---- the same rules as DuckDB macros ---------------------------------------------------------------------

_FULL_SQL = _FULL + "\u3000（）【】："
_HALF_SQL = _HALF + " ()[]:"

MACROS_SQL = f"""
CREATE OR REPLACE TEMP MACRO dq_fold(s) AS translate(s, '{_FULL_SQL.replace("'", "''")}', '{_HALF_SQL.replace("'", "''")}');
CREATE OR REPLACE TEMP MACRO dq_hall_number(s) AS
  CAST(TRY_CAST(nullif(regexp_extract(dq_fold(s), '[0-9]+'), '') AS INTEGER) AS VARCHAR);
CREATE OR REPLACE TEMP MACRO dq_hall_tags(s) AS array_to_string(list_sort(list_distinct(list_filter([
  CASE WHEN contains(upper(dq_fold(s)), 'IMAX') THEN 'IMAX' END,
  CASE WHEN contains(dq_fold(s), '激光') THEN '激光' END,
  CASE WHEN contains(dq_fold(s), '杜比') OR contains(dq_fold(s), '全景声') THEN '杜比' END,
  CASE WHEN contains(dq_fold(s), '巨幕') THEN '巨幕' END,
  CASE WHEN contains(upper(dq_fold(s)), 'VIP') THEN 'VIP' END], lambda x: x IS NOT NULL))), ',');
CREATE OR REPLACE TEMP MACRO dq_hall_key(s) AS coalesce(dq_hall_number(s), nullif(dq_hall_tags(s), ''));
CREATE OR REPLACE TEMP MACRO dq_film_key(s) AS nullif(regexp_replace(
  regexp_replace(trim(regexp_replace(upper(dq_fold(s)), '\\([^)]*\\)|\\[[^\\]]*\\]', '', 'g')),
                 '{_FILM_VERSION_WORDS}$', ''),
  '[\\s:·•\\-—_,.!?''"]', '', 'g'), '');
CREATE OR REPLACE TEMP MACRO dq_version_key(s) AS CASE
  WHEN s IS NULL THEN NULL
  WHEN contains(upper(s), 'IMAX') THEN 'IMAX3D'
  WHEN contains(s, '巨幕') THEN '巨幕'
  WHEN contains(upper(s), '3D') THEN '3D' ELSE '2D' END;
CREATE OR REPLACE TEMP MACRO dq_cinema_key(s, city) AS nullif(regexp_replace(
  replace(upper(dq_fold(s)), coalesce(city, chr(1)), ''), '[\\s()\\[\\]:·\\-—_,.]', '', 'g'), '');
"""


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Register the SQL twins of the functions above on this connection (TEMP: per connection)."""
    for stmt in MACROS_SQL.split(";\n"):
        if stmt.strip():
            con.execute(stmt)
