"""Units: a pint registry that knows Chinese unit words, energy units of Chinese statistics and the
count-like units of product footprints, and the canonical reference unit per dimension.

Typed constants carry their source:
- 1 tce (吨标准煤) = 29.3076 GJ: GB/T 2589-2020《综合能耗计算通则》, 1 kgce = 29 307.6 kJ (7 000 kcal).
- Nm3 (标准立方米): volume at 0 °C and 101.325 kPa; treated as m3 of that volume.
- 1 mmBtu = 10^6 Btu (EPA GHG Emission Factors Hub 2025 units).
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pint

_DEFINITIONS = """
piece = [count] = pcs = item
person = [person] = passenger = pkm_person
room_night = [room_night]
tce = 29.3076 * gigajoule
kgce = 0.001 * tce
Nm3 = meter ** 3
wan_Nm3 = 10000 * Nm3
wan_kWh = 10000 * kilowatt_hour
wan_t = 10000 * metric_ton
wan_tce = 10000 * tce
mmBtu = 1e6 * british_thermal_unit
scf = foot ** 3
kvar = [reactive_power]
"""

# Chinese (and a few English) unit words -> pint expressions. Count-like words (台, 辆, 件 ...) become
# 'piece': the word itself stays in unit_label, so a reader still sees "per vehicle".
UNIT_WORDS: dict[str, str] = {
    "千克": "kg",
    "公斤": "kg",
    "克": "g",
    "公吨": "t",
    "吨": "t",
    "t": "t",
    "千吨": "kt",
    "毫克": "mg",
    "克拉": "carat",
    "千瓦时": "kWh",
    "度": "kWh",
    "兆瓦时": "MWh",
    "吉瓦时": "GWh",
    "千瓦": "kW",
    "兆瓦": "MW",
    "峰值千瓦": "kW",
    "峰值兆瓦": "MW",
    "吉焦": "GJ",
    "兆焦": "MJ",
    "千焦": "kJ",
    "太焦": "TJ",
    "千卡": "kcal",
    "吨标准煤": "tce",
    "吨标煤": "tce",
    "千克标准煤": "kgce",
    "万标准立方米": "wan_Nm3",
    "万立方米": "wan_Nm3",
    "标准立方米": "Nm3",
    "立方米": "m**3",
    "升": "L",
    "毫升": "mL",
    "1000L": "1000*L",
    "米": "m",
    "千米": "km",
    "公里": "km",
    "平方米": "m**2",
    "平方千米": "km**2",
    "公顷": "hectare",
    "公亩": "are",
    "公吨·公里": "t*km",
    "吨·公里": "t*km",
    "吨公里": "t*km",
    "公吨·千米": "t*km",
    "人·千米": "person*km",
    "人·公里": "person*km",
    "人公里": "person*km",
    "人·次": "person",
    "人": "person",
    "人·月": "person*month",
    "人·年": "person*year",
    "房·晚": "room_night",
    "晚": "room_night",
    "小时": "hour",
    "天": "day",
    "月": "month",
    "年": "year",
    "年（四舍五入）": "year",
    "公顷·年": "hectare*year",
    "平方米·年": "m**2*year",
    "头·年": "piece*year",
    "个·年": "piece*year",
    "个·月": "piece*month",
    "立方米·千米": "m**3*km",
    "吉焦·千米": "GJ*km",
    "件·千米": "piece*km",
    "公吨·时": "t*hour",
    "吉字节": "gigabyte",
    "千乏": "kvar",
    # as enterprises write them: 万 (10^4) prefixes, 方 for cubic metres
    "万nm³": "wan_Nm3",
    "万nm3": "wan_Nm3",
    "万m³": "wan_Nm3",
    "万m3": "wan_Nm3",
    "万方": "wan_Nm3",
    "万标方": "wan_Nm3",
    "方": "m**3",
    "标方": "Nm3",
    "nm³": "Nm3",
    "万kwh": "wan_kWh",
    "万千瓦时": "wan_kWh",
    "万度": "wan_kWh",
    "万吨": "wan_t",
    "万t": "wan_t",
    "万吨标准煤": "wan_tce",
    "万tce": "wan_tce",
    # English labels used by DESNZ, EPA and OWID
    "tonnes": "t",
    "tonne": "t",
    "kg": "kg",
    "kwh": "kWh",
    "kwh (net cv)": "kWh",
    "kwh (gross cv)": "kWh",
    "kwh (net)": "kWh",
    "mwh": "MWh",
    "gj": "GJ",
    "mj": "MJ",
    "km": "km",
    "miles": "mile",
    "mile": "mile",
    "tonne.km": "t*km",
    "t.km": "t*km",
    "tkm": "t*km",
    "t·km": "t*km",
    "passenger.km": "person*km",
    "pkm": "person*km",
    "p·km": "person*km",
    "litres": "L",
    "litre": "L",
    "liters": "L",
    "million litres": "1e6*L",
    "cubic metres": "m**3",
    "m3": "m**3",
    "m³": "m**3",
    "room per night": "room_night",
    "short ton": "short_ton",
    "scf": "scf",
    "gallon": "gallon",
    "mmbtu": "mmBtu",
    "tce": "tce",
    "nm3": "Nm3",
    "10^4 nm3": "wan_Nm3",
    "10^4nm3": "wan_Nm3",
    "unit": "piece",
    "piece": "piece",
    "pcs": "piece",
    "item": "piece",
    "kgce": "kgce",
    "per fte working hour": "person*hour",
}
COUNT_WORDS = set("个台辆件只部套双册瓶包条块片支杯颗份张箱罐袋盒盘卷副株棵头枚粒".replace("", " ").split())

# Canonical reference units: a factor is converted to "per one of these" when its unit has the same
# dimensionality. Other dimensions (GJ*km, hectare*year ...) keep the publisher's unit.
CANONICAL_UNITS = (
    "kg",
    "kWh",
    "m**3",
    "m**2",
    "km",
    "t*km",
    "person*km",
    "piece",
    "person",
    "year",
    "kW",
    "room_night",
)


@lru_cache(maxsize=1)
def canonical_by_dimension() -> dict[str, str]:
    ureg = registry()
    return {str(ureg.Quantity(1.0, u).dimensionality): u for u in CANONICAL_UNITS}


# Numerator mass units of published CO2e strings (kgCO2e, tCO2e, gCO2e) to kg.
MASS_PREFIX_TO_KG = {"kg": 1.0, "t": 1000.0, "g": 0.001, "mg": 1e-6, "kt": 1e6, "mt": 1e9}


class UnitError(ValueError):
    """A unit label that pint cannot read after the Chinese-word mapping."""


@dataclass(frozen=True)
class UnitInfo:
    canonical: str  # canonical pint expression of the reference unit
    dimension: str  # pint dimensionality string
    per_label_to_per_canonical: float  # multiply a "per label" value by this to get "per canonical"


@lru_cache(maxsize=1)
def registry() -> pint.UnitRegistry:
    # pint's own parse cache (keyed by the definition files' content) makes a cold start 0.03 s instead
    # of 0.15 s; it lives in the system temp directory, outside the project, and is safe to delete.
    ureg: pint.UnitRegistry = pint.UnitRegistry(cache_folder=Path(tempfile.gettempdir()) / "pcf-pint-cache")
    for line in _DEFINITIONS.strip().splitlines():
        ureg.define(line)
    return ureg


_CURRENCY = re.compile(
    r"^(?:(?P<year1>\d{4})\s*)?(?P<cur>USD|CNY|RMB|GBP|EUR|万元人民币|元)(?:\s*(?P<year2>\d{4}))?", re.I
)


def _currency_unit(label: str) -> str | None:
    """'2021 USD, purchaser price' -> USD_2021; '万元人民币' -> 10000*CNY. Each currency-year is its own
    dimension: converting between price years needs a deflator the warehouse does not guess."""
    m = _CURRENCY.match(label.strip())
    if not m:
        return None
    cur = m.group("cur").upper()
    scale = ""
    if cur in ("万元人民币",):
        cur, scale = "CNY", "10000*"
    elif cur in ("RMB", "元"):
        cur = "CNY"
    year = m.group("year1") or m.group("year2")
    name = f"{cur}_{year}" if year else cur
    ureg = registry()
    if name not in ureg:
        ureg.define(f"{name} = [currency_{name.lower()}]")
    return f"{scale}{name}"


def to_pint_expression(label: str) -> str:
    """Map a published unit label to a pint expression (raises UnitError when unknown)."""
    if label is None or not str(label).strip():
        raise UnitError("empty unit")
    text = str(label).strip()
    key = text.lower()
    if text in UNIT_WORDS:
        return UNIT_WORDS[text]
    if key in UNIT_WORDS:
        return UNIT_WORDS[key]
    if text in COUNT_WORDS:
        return "piece"
    currency = _currency_unit(text)
    if currency:
        return currency
    expr = text.replace("·", "*").replace("．", ".")
    try:
        registry().parse_units(expr)
    except Exception as exc:  # pint raises several types
        raise UnitError(f"unit {text!r} is not known (add it to pipelines/common/units.py UNIT_WORDS)") from exc
    return expr


@lru_cache(maxsize=4096)
def unit_info(label: str) -> UnitInfo:
    expr = to_pint_expression(label)
    ureg = registry()
    quantity = ureg.Quantity(1.0, expr) if not expr[0].isdigit() else ureg.Quantity(expr)
    dim = str(quantity.dimensionality)
    canonical = canonical_by_dimension().get(dim)
    if canonical is None and dim.startswith("[currency_"):
        base = expr.split("*")[-1]
        return UnitInfo(canonical=base, dimension=dim, per_label_to_per_canonical=1.0 / quantity.to(base).magnitude)
    if canonical is None:
        # No canonical unit for this dimension (GJ*km, hectare*year ...): keep the publisher's unit.
        return UnitInfo(canonical=expr, dimension=dim, per_label_to_per_canonical=1.0)
    in_canonical = quantity.to(canonical).magnitude
    return UnitInfo(canonical=canonical, dimension=dim, per_label_to_per_canonical=1.0 / in_canonical)


def dimension_allowed(category: str, dimension: str) -> bool:
    from pipelines.factors.schema import ACTIVITY_CATEGORIES

    allowed = ACTIVITY_CATEGORIES.get(category)
    if allowed is None:
        return True
    dimension_norm = _normalise_dimension(dimension)
    if category == "spend":
        return dimension.startswith("[currency_")
    return dimension_norm in {_normalise_dimension(a) for a in allowed}


@lru_cache(maxsize=256)
def _normalise_dimension(text: str) -> str:
    """Dimension strings compare in pint's own order, so parse both sides the same way."""
    ureg = registry()
    if "[count]" in text and text.strip() == "[count]":
        return "[count]"
    try:
        return str(ureg.get_dimensionality(text))
    except Exception:
        return text


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """`value` in `from_unit` expressed in `to_unit`. Every unit here is multiplicative (no offsets such as
    degrees Celsius), so the factor between two units is parsed once and kept: pint's parsing was half the
    time of matching 39,000 enterprise lines (issue 20)."""
    return value * _factor(from_unit, to_unit)


@lru_cache(maxsize=65536)
def _factor(from_unit: str, to_unit: str) -> float:
    ureg = registry()
    return float(ureg.Quantity(1.0, to_pint_expression(from_unit)).to(to_pint_expression(to_unit)).magnitude)
