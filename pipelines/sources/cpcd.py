"""CPCD snapshot: a third-party copy of China's product carbon-footprint factor database (about 4,200
factors). Its licence is not stated, so every row is internal-only: usable for computation and tests,
never in an export or public page (SOURCE.md).

The core file is preferred where an ID appears in both files: it is loaded first, and the duplicate rule
quarantines the later copy with a pointer to the kept one.
"""

from __future__ import annotations

import re
from pathlib import Path

from pipelines.common import geography
from pipelines.common.parsing import InputError, parse_number, read_csv_strings
from pipelines.common.units import MASS_PREFIX_TO_KG, UnitError, unit_info
from pipelines.sources.base import (
    SourceBatch,
    SourceSpec,
    file_error_rows,
    finish,
    lineage,
    missing_batch,
    raw_file_record,
    year_start,
)

SPEC = SourceSpec(
    source_id="cpcd_snapshot",
    title="中国产品全生命周期温室气体排放系数库 (CPCD), third-party snapshot",
    publisher="CPCD (中国产品全生命周期温室气体排放系数库); snapshot via GitHub leo21468/CarbonCalculator",
    licence="unknown (not stated; internal use only)",
    redistributable=False,
    approved_by_source=False,
    location="external",
    dir_glob="cpcd_snapshot",
    expected_refresh_days=365,
    authority="third_party",
)
FILES = ("cpcd_core_snapshot.csv", "cpcd_emission_factors_snapshot.csv")  # order = preference
REQUIRED = ["产品ID", "产品名称", "核算边界", "碳足迹", "数据年份", "数据类型"]
BOUNDARY = {
    "摇篮到大门": "cradle_to_gate",
    "大门到大门": "gate_to_gate",
    "摇篮到坟墓": "cradle_to_grave",
    "大门到坟墓": "gate_to_grave",
}
VALUE = re.compile(r"^\s*(?P<num>[-+]?[0-9.]+(?:[eE][-+]?\d+)?)\s*(?P<mass>kg|t|g)CO2e\s*/\s*(?P<den>.+?)\s*$")
_PROVINCE_NAMES = sorted(
    ((full, gb) for gb, _i, _z, full, _e in geography.PROVINCES), key=lambda x: -len(x[0])
) + sorted(((zh, gb) for gb, _i, zh, _f, _e in geography.PROVINCES), key=lambda x: -len(x[0]))
_GRID_NAMES = [(zh + "区域", code) for code, (zh, _en) in geography.GRID_REGIONS.items()] + [
    ("-" + zh, code) for code, (zh, _en) in geography.GRID_REGIONS.items()
]


def infer_geography(name: str) -> tuple[str, bool]:
    """CPCD has no geography column: read a province or grid region from the name, else China."""
    for text, code in _GRID_NAMES:
        if text in name:
            return code, True
    for text, code in _PROVINCE_NAMES:
        if text in name:
            return code, True
    return "CN", False


def category(code: str, name: str, dimension: str) -> tuple[str, str | None, str]:
    """(activity_category, activity_key, factor_purpose) from the CPC class, name and unit dimension."""
    energy = dimension == "[mass] * [length] ** 2 / [time] ** 2"
    if energy and (code.startswith("171") or "电力" in name):
        if "二氧化碳排放因子" in name:
            return "electricity", "electricity.grid_average" if "平均" in name else None, "scope2_location"
        key = "electricity.grid_average" if ("平均" in name or "电网" in name) else None
        return "electricity", key, "life_cycle"
    if energy and (code.startswith("173") or "蒸汽" in name or "热力" in name):
        return "heat", None, "life_cycle"
    if "[mass] * [length]" == dimension or dimension == "[length] * [mass]":
        return "transport_freight", None, "life_cycle"
    if "[person]" in dimension:
        return "transport_passenger", None, "life_cycle"
    if dimension.startswith("[currency_"):
        return "spend", None, "life_cycle"
    if dimension == "[count]":
        return "product", None, "life_cycle"
    if dimension in ("[mass]", "[length] ** 3", "[length] ** 2"):
        return "material", None, "life_cycle"
    return "other", None, "life_cycle"


def load(root: Path) -> SourceBatch:
    directory = root / SPEC.dir_glob
    paths = [directory / f for f in FILES if (directory / f).is_file()]
    if not paths:
        return missing_batch(SPEC, directory)
    rows: list[dict] = []
    raws: list[dict] = []
    for path in paths:
        try:
            frame, encoding = read_csv_strings(path)
        except InputError as exc:
            raw = raw_file_record(SPEC, path, root, 0, error=str(exc))
            raws.append(raw)
            rows += file_error_rows(SPEC, raw, exc, 0)
            continue
        raw = raw_file_record(SPEC, path, root, frame.height, encoding)
        raws.append(raw)
        missing = [c for c in REQUIRED if c not in frame.columns]
        for i, rec in enumerate(frame.iter_rows(named=True), start=1):
            rows.append(_row(rec, i, raw, missing, core=path.name == FILES[0]))
    return finish(SPEC, "2026-03-20", rows, raws)


def _row(rec: dict, i: int, raw: dict, missing: list[str], core: bool) -> dict:
    pid = (rec.get("产品ID") or "").strip()
    name = (rec.get("产品名称") or "").strip()
    geo, inferred = infer_geography(name)
    row = {
        "natural_key": pid,
        "name_zh": name,
        "name_en": None,
        "classification_scheme": "CPC (CPCD 产品ID)",
        "classification_code": pid[:5] or None,
        "geography_raw": geo,
        "data_type": "secondary",
        "document": "中国产品全生命周期温室气体排放系数库 (CPCD)" + (" 核心数据库" if core else " 扩展库"),
        "locator": f"产品ID {pid}",
        "url": None,
        "system_boundary": BOUNDARY.get((rec.get("核算边界") or "").strip(), rec.get("核算边界")),
        "gas_basis": "co2e_only",
        "published_gwp_set": "unknown",
        "removal_declared": False,
        # Literature rows carry no reference: reliability 4 (non-verified, partly estimated), core 3.
        "dq_reliability": 3 if rec.get("数据类型") == "核心数据库" else 4,
        "dq_completeness": 3,
        "dq_technological": 2,
        "qa_flags": "geography.inferred_from_name" if inferred else "geography.assumed_china",
        "raw_file": raw["raw_file"],
        "raw_sha256": raw["raw_sha256"],
        "raw_row": i,
        "lineage": lineage(raw["raw_file"], raw["raw_sha256"], i),
    }
    if missing:
        row.update(
            error_rule="file.missing_columns",
            error_column=",".join(missing),
            error_message=f"missing column(s) {', '.join(missing)}; expected {', '.join(REQUIRED)}",
        )
        return row
    try:
        year = int(parse_number(rec["数据年份"], "数据年份") or 0) or None
        row["reference_year"], row["valid_from"] = year, year_start(year)
        m = VALUE.match(rec["碳足迹"] or "")
        if not m:
            raise InputError(f"碳足迹: expected '<number><kg|t|g>CO2e / <unit>', got {rec['碳足迹']!r}", "碳足迹")
        row["co2e_published"] = parse_number(m.group("num"), "碳足迹")
        row["value_scale"] = MASS_PREFIX_TO_KG[m.group("mass")]
        row["unit_raw"] = m.group("den")
        try:
            dimension = unit_info(m.group("den")).dimension
        except UnitError:
            dimension = "unknown"
        cat, key, purpose = category(pid[:5], name, dimension)
        row.update(activity_category=cat, activity_key=key, factor_purpose=purpose)
        if purpose == "scope2_location":
            # A CO2-only MEE factor labelled kgCO2e in CPCD (SOURCE.md caveat).
            row["gas_basis"] = "co2_only"
            row["gases"] = [{"gas": "CO2_fossil", "amount": row["co2e_published"], "as_co2e": False}]
            row["qa_flags"] += ",co2_only_labelled_co2e"
            row["system_boundary"] = "combustion_only"
    except InputError as exc:
        row.update(error_rule=exc.rule, error_column=exc.column, error_message=str(exc))
    return row
