"""China's electricity factors (MEE/NBS): 2021-2022 CO2 factors (national, 7 grid regions, 30
provinces) and the 2023 electricity carbon-footprint factors.

Two purposes that must never mix (SOURCE.md caveat):
- 二氧化碳排放因子: CO2 only, consumption side incl. imports, no upstream -> factor_purpose
  'scope2_location', gas_basis 'co2_only', boundary 'combustion_only';
- 电力碳足迹因子: life-cycle CO2e -> factor_purpose 'life_cycle', gas_basis 'co2e_only', cradle-to-gate.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.common.parsing import InputError, parse_number, read_csv_strings
from pipelines.sources.base import (
    SourceBatch,
    SourceSpec,
    file_error_rows,
    finish,
    lineage,
    missing_batch,
    raw_file_record,
    split_factor_unit,
    year_start,
)

SPEC = SourceSpec(
    source_id="cn_mee_electricity_co2",
    title="China electricity CO2 emission factors 2021-2022 and 2023 electricity carbon-footprint factors (MEE/NBS/NEA)",
    publisher="生态环境部、国家统计局 (MEE & NBS); 2023 footprint factors with 国家能源局 (NEA)",
    licence="CN-official-document (PRC Copyright Law art. 5)",
    redistributable=True,
    approved_by_source=True,
    location="external",
    dir_glob="cn_mee_electricity_co2",
    expected_refresh_days=400,
    authority="official_cn",
)

REQUIRED = [
    "year",
    "factor_kind",
    "area_zh",
    "area_en",
    "area_code",
    "item_zh",
    "item_en",
    "value",
    "unit",
    "gas_basis",
    "source_title_zh",
    "source_issuer",
    "source_date",
    "source_number",
    "transcribed_from",
]
GENERATION_KEYS = {
    "coal": "coal",
    "gas": "gas",
    "hydro": "hydro",
    "nuclear": "nuclear",
    "wind": "wind",
    "solar pv": "solar_pv",
    "solar thermal": "solar_thermal",
    "biomass": "biomass",
}
# Rows cross-checked against press reproductions of the 2022 announcement (SOURCE.md): reliability 1;
# the other rows are single-source transcriptions (reliability 2).
CROSS_CHECKED = {"national_average", "national_average_excl_market_nonfossil", "national_fossil", "regional_average"}


def load(root: Path) -> SourceBatch:
    directory = root / SPEC.dir_glob
    files = sorted(directory.glob("cn_electricity_factors_*.csv")) if directory.is_dir() else []
    if not files:
        return missing_batch(SPEC, directory)
    rows: list[dict] = []
    raws: list[dict] = []
    for path in files:
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
            rows.append(_row(rec, i, raw, missing))
    edition = "-".join(sorted({str(r.get("reference_year")) for r in rows if r.get("reference_year")}))
    return finish(SPEC, edition or "unknown", rows, raws)


def _row(rec: dict, i: int, raw: dict, missing: list[str]) -> dict:
    kind = rec.get("factor_kind") or ""
    life_cycle = kind.startswith("electricity_cf")
    item_en = rec.get("item_en") or ""
    area = rec.get("area_code") or rec.get("area_zh") or ""
    row = {
        "natural_key": f"{rec.get('year')}:{kind}:{area}:{item_en}".rstrip(":"),
        "name_zh": f"{rec.get('year')}年{rec.get('area_zh') or ''}{rec.get('item_zh') or ''}"
        + ("电力碳足迹因子" if life_cycle else "电力二氧化碳排放因子"),
        "name_en": " ".join(x for x in (rec.get("area_en"), item_en) if x)
        + " electricity "
        + ("carbon-footprint factor" if life_cycle else "CO2 emission factor")
        + f" {rec.get('year')}",
        "classification_scheme": "CN-MEE",
        "classification_code": kind,
        "activity_category": "electricity",
        "factor_purpose": "life_cycle" if life_cycle else "scope2_location",
        "gas_basis": "co2e_only" if life_cycle else "co2_only",
        "published_gwp_set": "unknown" if life_cycle else None,
        "geography_raw": area,
        "technology": item_en or None,
        "system_boundary": "cradle_to_gate" if life_cycle else "combustion_only",
        "data_type": "secondary",
        "publisher": rec.get("source_issuer"),
        "document": rec.get("source_title_zh"),
        "locator": f"{rec.get('source_number')}; transcribed from {rec.get('transcribed_from')}",
        "publication_date": rec.get("source_date"),
        "removal_declared": False,
        "dq_reliability": 1 if kind in CROSS_CHECKED else 2,
        "dq_completeness": 1,
        "dq_technological": 1
        if kind in ("national_average", "regional_average", "provincial_average", "electricity_cf_national_average")
        else 2,
        "raw_file": raw["raw_file"],
        "raw_sha256": raw["raw_sha256"],
        "raw_row": i,
        "lineage": lineage(raw["raw_file"], raw["raw_sha256"], i),
    }
    if kind in ("national_average", "regional_average", "provincial_average", "electricity_cf_national_average"):
        row["activity_key"] = "electricity.grid_average"
    elif kind == "electricity_cf_generation_type":
        key = next((v for k, v in GENERATION_KEYS.items() if item_en.lower().startswith(k)), "other")
        row["activity_key"] = f"electricity.generation.{key}"
    if missing:
        row.update(
            error_rule="file.missing_columns",
            error_column=",".join(missing),
            error_message=f"missing column(s) {', '.join(missing)}; expected {', '.join(REQUIRED)}",
        )
        return row
    try:
        year = int(rec["year"])
        row["reference_year"] = year
        row["valid_from"] = year_start(year)
        scale, is_co2e, denominator = split_factor_unit(rec["unit"])
        value = parse_number(rec["value"], "value")
        row["unit_raw"] = denominator
        row["value_scale"] = scale
        if value is None:
            raise InputError("value: empty; a published factor is required", "value", "value.missing")
        if life_cycle:
            row["co2e_published"] = value
        else:
            row["gases"] = [{"gas": "CO2_fossil", "amount": value, "as_co2e": False}]
            row["co2e_published"] = value
            row["published_gwp_set"] = "CO2"
    except (InputError, ValueError) as exc:
        column = getattr(exc, "column", None) or "year"
        row.update(error_rule=getattr(exc, "rule", "value.not_number"), error_column=column, error_message=str(exc))
    return row
