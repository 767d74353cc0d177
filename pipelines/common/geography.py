"""Geography codes and the fallback hierarchy used by factor lookup: province -> grid region -> China -> global.

Codes:
- countries: ISO 3166-1 alpha-2 (pycountry); 'GLO' for the world; 'EU' for the European Union (an ISO
  "exceptionally reserved" code).
- Chinese provinces: GB/T 2260-2007 six-digit administrative division codes (500000 = 重庆市), with the
  ISO 3166-2:CN code kept alongside.
- power-grid regions: the seven regions of the MEE/NBS electricity CO2 factor announcements from 2021 on
  (华北, 东北, 华东, 华中, 西北, 南方, 西南), coded CN-GRID-*.

Which provinces form each grid region is defined in the announcements' 计算说明 (calculation notes),
which are not in hand (see ../shared/data/sources/cn_mee_electricity_co2/SOURCE.md). Every membership
below is therefore recorded as an *assumption* with its basis, never as a fact, and the lineage of a
lookup that used it says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pycountry

# GB/T 2260 code, ISO 3166-2:CN, Chinese name (short and full), English name
PROVINCES: list[tuple[str, str, str, str, str]] = [
    ("110000", "CN-BJ", "北京", "北京市", "Beijing"),
    ("120000", "CN-TJ", "天津", "天津市", "Tianjin"),
    ("130000", "CN-HE", "河北", "河北省", "Hebei"),
    ("140000", "CN-SX", "山西", "山西省", "Shanxi"),
    ("150000", "CN-NM", "内蒙古", "内蒙古自治区", "Inner Mongolia"),
    ("210000", "CN-LN", "辽宁", "辽宁省", "Liaoning"),
    ("220000", "CN-JL", "吉林", "吉林省", "Jilin"),
    ("230000", "CN-HL", "黑龙江", "黑龙江省", "Heilongjiang"),
    ("310000", "CN-SH", "上海", "上海市", "Shanghai"),
    ("320000", "CN-JS", "江苏", "江苏省", "Jiangsu"),
    ("330000", "CN-ZJ", "浙江", "浙江省", "Zhejiang"),
    ("340000", "CN-AH", "安徽", "安徽省", "Anhui"),
    ("350000", "CN-FJ", "福建", "福建省", "Fujian"),
    ("360000", "CN-JX", "江西", "江西省", "Jiangxi"),
    ("370000", "CN-SD", "山东", "山东省", "Shandong"),
    ("410000", "CN-HA", "河南", "河南省", "Henan"),
    ("420000", "CN-HB", "湖北", "湖北省", "Hubei"),
    ("430000", "CN-HN", "湖南", "湖南省", "Hunan"),
    ("440000", "CN-GD", "广东", "广东省", "Guangdong"),
    ("450000", "CN-GX", "广西", "广西壮族自治区", "Guangxi"),
    ("460000", "CN-HI", "海南", "海南省", "Hainan"),
    ("500000", "CN-CQ", "重庆", "重庆市", "Chongqing"),
    ("510000", "CN-SC", "四川", "四川省", "Sichuan"),
    ("520000", "CN-GZ", "贵州", "贵州省", "Guizhou"),
    ("530000", "CN-YN", "云南", "云南省", "Yunnan"),
    ("540000", "CN-XZ", "西藏", "西藏自治区", "Tibet"),
    ("610000", "CN-SN", "陕西", "陕西省", "Shaanxi"),
    ("620000", "CN-GS", "甘肃", "甘肃省", "Gansu"),
    ("630000", "CN-QH", "青海", "青海省", "Qinghai"),
    ("640000", "CN-NX", "宁夏", "宁夏回族自治区", "Ningxia"),
    ("650000", "CN-XJ", "新疆", "新疆维吾尔自治区", "Xinjiang"),
    ("710000", "CN-TW", "台湾", "台湾省", "Taiwan"),
    ("810000", "CN-HK", "香港", "香港特别行政区", "Hong Kong"),
    ("820000", "CN-MO", "澳门", "澳门特别行政区", "Macao"),
]

GRID_REGIONS: dict[str, tuple[str, str]] = {
    "CN-GRID-NC": ("华北", "North China grid region"),
    "CN-GRID-NE": ("东北", "Northeast China grid region"),
    "CN-GRID-EC": ("华东", "East China grid region"),
    "CN-GRID-CC": ("华中", "Central China grid region"),
    "CN-GRID-NW": ("西北", "Northwest China grid region"),
    "CN-GRID-SO": ("南方", "China Southern grid region"),
    "CN-GRID-SW": ("西南", "Southwest China grid region"),
}

_BASIS_OLD = (
    "assumption: province lists of the regional grid baseline emission factors (NDRC/MEE, "
    "2019 and earlier, six grids); the 2021+ 计算说明 is not in hand"
)
_BASIS_SW = (
    "assumption: 西南 region taken as the State Grid Southwest branch area (四川, 重庆, 西藏), "
    "created out of 华中 in 2017; the 2021+ 计算说明 that defines it is not in hand"
)
# province GB/T 2260 code -> (grid region, basis). Hong Kong, Macao and Taiwan are in no MEE region.
GRID_MEMBERSHIP: dict[str, tuple[str, str]] = {
    **{c: ("CN-GRID-NC", _BASIS_OLD) for c in ("110000", "120000", "130000", "140000", "370000", "150000")},
    **{c: ("CN-GRID-NE", _BASIS_OLD) for c in ("210000", "220000", "230000")},
    **{c: ("CN-GRID-EC", _BASIS_OLD) for c in ("310000", "320000", "330000", "340000", "350000")},
    **{c: ("CN-GRID-CC", _BASIS_OLD) for c in ("410000", "420000", "430000", "360000")},
    **{c: ("CN-GRID-NW", _BASIS_OLD) for c in ("610000", "620000", "630000", "640000", "650000")},
    **{c: ("CN-GRID-SO", _BASIS_OLD) for c in ("440000", "450000", "460000", "520000", "530000")},
    **{c: ("CN-GRID-SW", _BASIS_SW) for c in ("500000", "510000", "540000")},
}
# 内蒙古 is split between 华北 (蒙西) and 东北 (蒙东) grids; at province level it maps to 华北.

GLOBAL = "GLO"


@dataclass(frozen=True)
class Geography:
    code: str
    level: str  # province, grid_region, country, region, global
    name_zh: str
    name_en: str
    parent: str | None
    parent_basis: str  # 'documented' or an 'assumption: ...' text


@lru_cache(maxsize=1)
def _index() -> dict[str, Geography]:
    index: dict[str, Geography] = {}
    index[GLOBAL] = Geography(GLOBAL, "global", "全球", "World", None, "documented")
    index["EU"] = Geography("EU", "region", "欧盟", "European Union (27)", GLOBAL, "documented")
    for country in pycountry.countries:
        index[country.alpha_2] = Geography(country.alpha_2, "country", "", country.name, GLOBAL, "documented")
    index["CN"] = Geography("CN", "country", "中国", "China", GLOBAL, "documented")
    for code, (zh, en) in GRID_REGIONS.items():
        index[code] = Geography(code, "grid_region", zh, en, "CN", "documented")
    for gb, _iso, zh, _full, en in PROVINCES:
        parent, basis = GRID_MEMBERSHIP.get(gb, ("CN", "documented"))
        index[gb] = Geography(gb, "province", zh, en, parent, basis)
    return index


@lru_cache(maxsize=1)
def _aliases() -> dict[str, str]:
    aliases: dict[str, str] = {}
    for gb, iso, zh, full, en in PROVINCES:
        for a in (gb, gb[:2], iso, zh, full, en, en.lower(), iso.lower()):
            aliases[a] = gb
    for code, (zh, en) in GRID_REGIONS.items():
        for a in (code, zh, zh + "区域", zh + "电网", en, en.lower()):
            aliases[a] = code
    for a in ("全国", "中国", "China", "china", "CN", "CHN", "cn"):
        aliases[a] = "CN"
    for a in ("GLO", "World", "world", "Global", "global", "全球", "OWID_WRL", "RoW"):
        aliases[a] = GLOBAL
    for a in ("European Union (27)", "EU27", "EU-27", "EU"):
        aliases[a] = "EU"
    return aliases


class GeographyError(ValueError):
    pass


def normalise(raw: str | None) -> Geography:
    """Any accepted spelling (GB/T 2260, ISO 3166-1/-2, Chinese or English name, grid name) -> Geography."""
    if raw is None or not str(raw).strip():
        raise GeographyError("geography is empty")
    text = str(raw).strip()
    code = _aliases().get(text)
    if code is None and len(text) in (2, 3) and text.isalpha():
        country = pycountry.countries.get(alpha_2=text.upper()) or pycountry.countries.get(alpha_3=text.upper())
        code = country.alpha_2 if country else None
    if code is None:
        raise GeographyError(
            f"geography {text!r} is not an ISO 3166 country, a GB/T 2260 province, an MEE grid region or GLO"
        )
    return _index()[code]


def get(code: str) -> Geography:
    return _index()[code]


def fallback_chain(code: str) -> list[tuple[Geography, str]]:
    """The lookup order for a geography, each step with the basis of the link that led to it."""
    chain: list[tuple[Geography, str]] = []
    geo: Geography | None = _index()[code]
    basis = "requested"
    while geo is not None:
        chain.append((geo, basis))
        basis = geo.parent_basis
        geo = _index()[geo.parent] if geo.parent else None
    return chain


def table_rows() -> list[dict]:
    """Rows of the release table ``geography`` (Chinese geographies and every country)."""
    iso = {gb: iso for gb, iso, *_ in PROVINCES}
    return [
        {
            "geography_code": g.code,
            "level": g.level,
            "name_zh": g.name_zh,
            "name_en": g.name_en,
            "iso3166_2": iso.get(g.code),
            "parent_code": g.parent,
            "parent_basis": g.parent_basis,
        }
        for g in sorted(_index().values(), key=lambda g: g.code)
    ]
