"""Name normalisation rules, in Python and as the DuckDB macros the comparisons use."""

import duckdb
import pytest

from ticket_dq.lib import normalize


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    normalize.install_macros(c)
    yield c
    c.close()


HALLS_SAME = ["3号激光厅", "3号厅(激光)", "3厅", "３号厅（激光）", "03号厅"]


def test_hall_variants_share_one_key_in_python_and_sql(con):
    keys = {normalize.hall_key(h) for h in HALLS_SAME}
    sql_keys = {con.execute("SELECT dq_hall_key(?)", [h]).fetchone()[0] for h in HALLS_SAME}
    assert keys == {"3"} and sql_keys == {"3"}


def test_hall_promo_text_in_brackets_is_ignored_but_feature_tags_kept(con):
    name = "7号激光厅(卖品套餐9.9元)"
    assert normalize.hall_key(name) == "7"
    assert normalize.hall_tags(name) == "激光"
    assert con.execute("SELECT dq_hall_key(?), dq_hall_tags(?)", [name, name]).fetchone() == ("7", "激光")


@pytest.mark.parametrize("name,tags", [("5号厅(IMAX)", "IMAX"), ("IMAX5厅", "IMAX"), ("1号厅(全景声影厅)", "杜比"),
                                       ("巨幕2厅", "巨幕"), ("VIP1厅", "VIP"), ("2号厅", "")])
def test_hall_feature_tags_agree_between_python_and_sql(con, name, tags):
    assert normalize.hall_tags(name) == tags
    assert con.execute("SELECT dq_hall_tags(?)", [name]).fetchone()[0] == tags


@pytest.mark.parametrize("a,b", [("龙猫（数字）", "龙猫"), ("龙猫 3D", "龙猫"), ("沙丘：预言", "沙丘:预言"),
                                 ("哪吒之魔童闹海 IMAX", "哪吒之魔童闹海"), ("Ｆ１：狂飙飞车", "F1: 狂飙飞车"),
                                 ("熊出没·重启未来", "熊出没重启未来")])
def test_film_name_variants_normalise_to_the_same_key(con, a, b):
    assert normalize.film_key(a) == normalize.film_key(b)
    sa, sb = (con.execute("SELECT dq_film_key(?)", [x]).fetchone()[0] for x in (a, b))
    assert sa == sb == normalize.film_key(a)


def test_different_films_keep_different_keys():
    assert normalize.film_key("唐探1900") != normalize.film_key("唐探1900续")


@pytest.mark.parametrize("text,key", [("国语 IMAX3D", "IMAX3D"), ("IMAX 3D", "IMAX3D"), ("英语 3D", "3D"),
                                      ("国语 中国巨幕", "巨幕"), ("原版2D", "2D"), ("2D", "2D")])
def test_version_text_maps_to_projection_version(con, text, key):
    assert normalize.version_key(text) == key
    assert con.execute("SELECT dq_version_key(?)", [text]).fetchone()[0] == key


def test_cinema_name_without_brackets_and_city_matches_reference(con):
    ref, plat = ("CGV影城(杭州国贸店)", "杭州"), ("CGV影城国贸店", "杭州")
    assert normalize.cinema_key(*ref) == normalize.cinema_key(*plat) == "CGV影城国贸店"
    assert con.execute("SELECT dq_cinema_key(?, ?) = dq_cinema_key(?, ?)", [*ref, *plat]).fetchone()[0]


def test_full_width_letters_digits_and_colon_fold_to_half_width():
    assert normalize.fold_width("ＩＭＡＸ３：") == "IMAX3:"
