"""Master data of the simulated market: cities, cinemas, halls, films, partners, platforms.

Plain numpy/polars, deterministic for a seed. Everything here is "the truth"; how each source
renders it (names, ids, encodings) lives in ``rendering.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

# (city, 4-digit region prefix of the national code, districts, weight)
CITIES = [
    ("北京", 1101, ["朝阳", "海淀", "东城", "西城", "丰台", "通州", "昌平", "大兴"], 9),
    ("上海", 3101, ["浦东", "徐汇", "静安", "黄浦", "闵行", "长宁", "杨浦", "宝山"], 9),
    ("广州", 4401, ["天河", "越秀", "海珠", "番禺", "白云", "黄埔"], 7),
    ("深圳", 4403, ["南山", "福田", "罗湖", "宝安", "龙岗", "龙华"], 7),
    ("成都", 5101, ["锦江", "武侯", "青羊", "高新", "金牛", "成华"], 7),
    ("重庆", 5001, ["渝中", "江北", "南岸", "沙坪坝", "九龙坡", "渝北"], 6),
    ("杭州", 3301, ["西湖", "上城", "拱墅", "滨江", "萧山", "余杭"], 6),
    ("武汉", 4201, ["江汉", "武昌", "洪山", "江岸", "汉阳"], 6),
    ("西安", 6101, ["雁塔", "碑林", "未央", "莲湖", "长安"], 5),
    ("南京", 3201, ["鼓楼", "玄武", "秦淮", "建邺", "江宁"], 5),
    ("天津", 1201, ["和平", "南开", "河西", "滨海"], 5),
    ("苏州", 3205, ["姑苏", "工业园区", "吴中", "相城"], 5),
    ("长沙", 4301, ["岳麓", "芙蓉", "天心", "开福"], 4),
    ("郑州", 4101, ["金水", "二七", "中原", "郑东"], 4),
    ("沈阳", 2101, ["和平", "沈河", "浑南", "铁西"], 3),
    ("青岛", 3702, ["市南", "市北", "崂山", "黄岛"], 3),
    ("合肥", 3401, ["蜀山", "包河", "庐阳", "瑶海"], 3),
    ("昆明", 5301, ["五华", "盘龙", "官渡", "西山"], 3),
    ("厦门", 3502, ["思明", "湖里", "集美"], 2),
    ("福州", 3501, ["鼓楼", "台江", "仓山"], 2),
    ("济南", 3701, ["历下", "市中", "槐荫"], 2),
    ("南宁", 4501, ["青秀", "兴宁", "西乡塘"], 2),
    ("哈尔滨", 2301, ["南岗", "道里", "香坊"], 2),
    ("石家庄", 1301, ["长安", "桥西", "裕华"], 2),
    ("宁波", 3302, ["海曙", "鄞州", "江北"], 2),
    ("无锡", 3202, ["梁溪", "滨湖", "新吴"], 2),
    ("东莞", 4419, ["南城", "东城", "莞城"], 2),
    ("佛山", 4406, ["禅城", "南海", "顺德"], 2),
    ("贵阳", 5201, ["云岩", "南明", "观山湖"], 1),
    ("兰州", 6201, ["城关", "七里河", "安宁"], 1),
]

BRANDS = ["万达影城", "CGV影城", "博纳国际影城", "金逸影城", "大地影院", "横店电影城", "耀莱成龙影城",
          "中影国际影城", "UME影城", "卢米埃影城", "保利国际影城", "星美国际影城", "百老汇影城", "幸福蓝海影城"]
BRAND_W = np.array([14, 6, 7, 7, 9, 8, 3, 8, 4, 3, 5, 3, 2, 4], dtype=float)
# Unmatchable names a platform may use for a cinema (rebranded on the platform side).
OTHER_NAMES = ["星轶STAR影城", "影联IMAX影城", "橙天嘉禾影城", "鲁信影城", "时代电影大世界", "华夏国际影城",
               "比高电影城", "SFC上影影城", "奥斯卡影城", "新天地电影城"]
LANDMARKS = ["万象城", "大悦城", "龙湖天街", "吾悦广场", "万达广场", "银泰城", "CBD", "来福士", "印象城", "太古里",
             "凯德广场", "宝龙广场", "新城市广场", "中心书城", "环球港", "恒隆广场", "正佳广场", "国贸", "爱琴海",
             "合生汇", "世纪金源", "绿地中心", "金融街", "中关村", "西单", "五道口", "南站", "奥体中心", "高铁站", "步行街"]
CN_NUM = ["", "", "二", "三", "四", "五", "六", "七", "八", "九", "十"]

# hall kinds: (hall_type, partner name pattern, MAOYAN pattern, TAOPIAOPIAO pattern, price add-on fen)
HALL_KINDS = [
    ("普通", "{n}号厅", "{n}号厅", "{n}厅", 0),
    ("激光", "{n}号激光厅", "{n}号厅(激光)", "{n}厅", 1000),
    ("IMAX", "{n}号IMAX厅", "{n}号厅(IMAX)", "IMAX{n}厅", 3000),
    ("中国巨幕", "{n}号中国巨幕厅", "{n}号厅(中国巨幕)", "巨幕{n}厅", 2000),
    ("杜比全景声", "{n}号厅(全景声影厅)", "{n}号厅(杜比全景声)", "{n}厅", 1500),
    ("VIP", "{n}号VIP厅", "{n}号厅(VIP)", "VIP{n}厅", 5000),
]
HALL_KIND_W = np.array([55, 20, 5, 5, 10, 5], dtype=float)

# (title, language, duration_min, popularity, versions) ~40 films in release
FILMS = [
    ("哪吒之魔童闹海", "国语", 144, 30, "2D,3D,IMAX 3D,中国巨幕"), ("唐探1900", "国语", 136, 18, "2D,IMAX 3D"),
    ("封神第二部：战火西岐", "国语", 144, 12, "2D,3D,IMAX 3D,中国巨幕"), ("熊出没·重启未来", "国语", 97, 10, "2D,3D"),
    ("射雕英雄传：侠之大者", "国语", 146, 6, "2D,IMAX 3D"), ("蛟龙行动", "国语", 150, 4, "2D,3D,IMAX 3D"),
    ("龙猫", "日语", 86, 5, "2D"), ("误杀3", "国语", 118, 8, "2D"), ("疯狂动物城2", "英语", 108, 14, "2D,3D,IMAX 3D"),
    ("阿凡达：火与烬", "英语", 170, 12, "3D,IMAX 3D,中国巨幕"), ("沙丘：预言", "英语", 155, 4, "2D,IMAX 3D"),
    ("侏罗纪世界：重生", "英语", 134, 6, "2D,3D,IMAX 3D"), ("碟中谍8：最终清算", "英语", 169, 5, "2D,IMAX 3D"),
    ("功夫熊猫4", "英语", 94, 4, "2D,3D"), ("名侦探柯南：独眼的残像", "日语", 110, 5, "2D"),
    ("你好，李焕英", "国语", 128, 2, "2D"), ("第二十条", "国语", 141, 3, "2D"), ("热辣滚烫", "国语", 129, 3, "2D"),
    ("飞驰人生2", "国语", 121, 4, "2D,中国巨幕"), ("抓娃娃", "国语", 133, 3, "2D"), ("默杀", "国语", 121, 2, "2D"),
    ("解密", "国语", 159, 1, "2D,IMAX 3D"), ("好东西", "国语", 123, 2, "2D"), ("749局", "国语", 118, 1, "2D,3D"),
    ("出走的决心", "国语", 122, 1, "2D"), ("焚城", "粤语", 123, 2, "2D"), ("小小的我", "国语", 131, 2, "2D"),
    ("破·地狱", "粤语", 126, 2, "2D"), ("乘风", "国语", 110, 1, "2D"), ("南京照相馆", "国语", 137, 6, "2D,中国巨幕"),
    ("浪浪山小妖怪", "国语", 118, 5, "2D,3D"), ("捕风追影", "国语", 121, 3, "2D"), ("东极岛", "国语", 136, 2, "2D,IMAX 3D"),
    ("长安的荔枝", "国语", 122, 3, "2D"), ("酱园弄·悬案", "国语", 144, 1, "2D"), ("时间之子", "国语", 105, 1, "2D"),
    ("戏台", "国语", 110, 2, "2D"), ("罗小黑战记2", "国语", 119, 3, "2D,3D"), ("F1：狂飙飞车", "英语", 156, 4, "2D,IMAX 3D"),
    ("超人", "英语", 129, 2, "2D,3D,IMAX 3D"),
]
VERSION_PREFIX = {"2D": "001", "3D": "002", "IMAX 3D": "051", "中国巨幕": "061"}


@dataclass
class World:
    cinemas: pl.DataFrame  # cin, cinema_code, cinema_name, city, district, brand, status, landmark, partner
    halls: pl.DataFrame  # hall, cin, hall_no, kind, seat_total
    films: pl.DataFrame  # fv, film, film_code, title, version, language, duration_min, release_date
    film_titles: pl.DataFrame  # film, title, popularity


def build_world(rng: np.random.Generator, n_cinemas: int, partner_shares: list[float], start_day_ord: int) -> World:
    # --- cinemas -------------------------------------------------------------------------------
    cw = np.array([c[3] for c in CITIES], dtype=float)
    city_idx = np.sort(rng.choice(len(CITIES), size=n_cinemas, p=cw / cw.sum()))
    seq_in_city = np.zeros(n_cinemas, dtype=np.int64)
    counts: dict[int, int] = {}
    for i, c in enumerate(city_idx):
        counts[int(c)] = counts.get(int(c), 0) + 1
        seq_in_city[i] = counts[int(c)]
    codes = [f"{CITIES[c][1]:04d}{1000 + 3 * s + (s % 3):04d}"[:8] for c, s in zip(city_idx, seq_in_city)]
    brand_idx = rng.choice(len(BRANDS), size=n_cinemas, p=BRAND_W / BRAND_W.sum())
    lm_idx = rng.integers(0, len(LANDMARKS), size=n_cinemas)
    names, cities, districts, brands, landmarks = [], [], [], [], []
    seen: dict[str, int] = {}
    for c, b, lm in zip(city_idx, brand_idx, lm_idx):
        city, _, dists, _ = CITIES[c]
        dist = dists[int(rng.integers(0, len(dists)))]
        landmark = LANDMARKS[lm]
        landmark = dist + landmark if landmark in ("万达广场", "吾悦广场", "龙湖天街", "银泰城") else landmark
        base = f"{BRANDS[b]}({city}{landmark}店)"
        k = seen.get(base, 0) + 1
        seen[base] = k
        if k > 1:  # second branch at the same landmark: 二店, 三店, ...
            landmark = f"{landmark}{CN_NUM[k] if k < len(CN_NUM) else k}"
        names.append(f"{BRANDS[b]}({city}{landmark}店)")
        cities.append(city)
        districts.append(dist + ("区" if not dist.endswith("区") else ""))
        brands.append(BRANDS[b])
        landmarks.append(landmark)
    shares = np.array(partner_shares, dtype=float)
    partner = rng.choice(len(shares), size=n_cinemas, p=shares / shares.sum())
    partner[: min(len(shares), n_cinemas)] = np.arange(min(len(shares), n_cinemas))  # every partner has cinemas
    cinemas = pl.DataFrame({
        "cin": np.arange(n_cinemas, dtype=np.int64), "cinema_code": codes, "cinema_name": names,
        "city": cities, "district": districts, "brand": brands, "status": ["OPEN"] * n_cinemas,
        "landmark": landmarks, "partner": partner.astype(np.int64),
    })
    # --- halls: 4-10 per cinema (national mean ~6.2 screens per cinema) -------------------------------
    n_halls = rng.choice(np.arange(4, 11), size=n_cinemas, p=np.array([12, 20, 22, 18, 12, 9, 7]) / 100)
    hall_cin = np.repeat(np.arange(n_cinemas), n_halls)
    hall_no = np.concatenate([np.arange(1, k + 1) for k in n_halls]) if n_cinemas else np.array([], dtype=int)
    kind = rng.choice(len(HALL_KINDS), size=len(hall_cin), p=HALL_KIND_W / HALL_KIND_W.sum())
    # at most one IMAX / 巨幕 per cinema: the others become laser halls
    first_of_kind = pl.DataFrame({"c": hall_cin, "k": kind}).with_columns(
        pl.int_range(pl.len()).over(["c", "k"]).alias("r"))["r"].to_numpy()
    kind = np.where(np.isin(kind, [2, 3]) & (first_of_kind > 0), 1, kind)
    seat_total = np.where(np.isin(kind, [2, 3]), rng.integers(280, 460, len(kind)),
                          np.where(kind == 5, rng.integers(24, 60, len(kind)), rng.integers(60, 240, len(kind))))
    halls = pl.DataFrame({"hall": np.arange(len(hall_cin), dtype=np.int64), "cin": hall_cin.astype(np.int64),
                          "hall_no": hall_no.astype(np.int64), "kind": kind.astype(np.int64),
                          "seat_total": seat_total.astype(np.int64)})
    # --- films ---------------------------------------------------------------------------------------
    rows = []
    for f, (title, lang, dur, pop, versions) in enumerate(FILMS):
        release = start_day_ord - int(rng.integers(3, 60))
        for v in versions.split(","):
            rows.append((f, title, v, lang, dur, release))
    fv_films = pl.DataFrame(rows, schema=["film", "title", "version", "language", "duration_min", "release_ord"],
                            orient="row")
    film_codes = [f"{VERSION_PREFIX[v]}{10000 + 37 * f + 11:05d}2025" for f, v in
                  zip(fv_films["film"].to_list(), fv_films["version"].to_list())]
    films = fv_films.with_columns(
        pl.Series("film_code", film_codes),
        pl.Series("release_date", [date.fromordinal(o).isoformat() for o in fv_films["release_ord"].to_list()]),
    ).with_row_index("fv").with_columns(pl.col("fv").cast(pl.Int64))
    titles = pl.DataFrame({"film": np.arange(len(FILMS), dtype=np.int64), "title": [f[0] for f in FILMS],
                           "popularity": [float(f[3]) for f in FILMS]})
    return World(cinemas=cinemas, halls=halls, films=films, film_titles=titles)
