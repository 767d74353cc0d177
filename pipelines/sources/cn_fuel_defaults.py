"""Chinese fuel defaults (net calorific value, carbon content per unit heat, oxidation rate), typed into
``data/raw/embedded/cn_fuel_defaults.csv`` from the national enterprise GHG accounting guidelines with
document, table and year on every row.

Each fuel gives two combustion CO2 factors, as the guidelines compute them:
- per GJ (NCV):       EF = CC x OF x 44/12            (tCO2/GJ)
- per physical unit:  EF = NCV x CC x OF x 44/12      (tCO2 per t, or per 10^4 Nm3)
A fuel line in tce is turned into GJ by the unit registry (1 tce = 29.3076 GJ, GB/T 2589-2020) and then
uses the per-GJ factor. The parameters themselves are also published as the table ``fuel_property``.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipelines.common.parsing import InputError, parse_number, read_csv_strings
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
    source_id="cn_fuel_defaults",
    title="China enterprise GHG accounting guidelines: default parameters of common fossil fuels",
    publisher="国家发展和改革委员会 (NDRC), 24 industry GHG accounting guidelines",
    licence="CN-official-document (PRC Copyright Law art. 5)",
    redistributable=True,
    approved_by_source=True,
    location="embedded",
    dir_glob="embedded",
    expected_refresh_days=3650,
    authority="official_cn",
)
C_TO_CO2 = 44 / 12  # the guidelines' molar-mass ratio
UNIT_LABEL = {"t": "公吨", "10^4 Nm3": "万标准立方米"}


def load(raw_root: Path) -> SourceBatch:
    path = raw_root / SPEC.dir_glob / "cn_fuel_defaults.csv"
    if not path.is_file():
        return missing_batch(SPEC, path)
    try:
        frame, enc = read_csv_strings(path)
    except InputError as exc:
        raw = raw_file_record(SPEC, path, raw_root, 0, error=str(exc))
        return finish(SPEC, "2015", file_error_rows(SPEC, raw, exc, 0), [raw])
    raw = raw_file_record(SPEC, path, raw_root, frame.height, enc)
    rows: list[dict] = []
    props: list[dict] = []
    for i, rec in enumerate(frame.iter_rows(named=True), start=1):
        for basis in ("GJ", "physical"):
            rows.append(_row(rec, i, raw, basis, props))
    return finish(SPEC, "2015", rows, [raw], fuel_property=pl.DataFrame(props) if props else pl.DataFrame())


def _row(rec: dict, i: int, raw: dict, basis: str, props: list) -> dict:
    unit = "GJ" if basis == "GJ" else rec["physical_unit"]
    row = {
        "natural_key": f"{rec['fuel_en']}:per_{'GJ' if basis == 'GJ' else 'unit'}",
        "name_zh": f"{rec['fuel_zh']}燃烧二氧化碳排放因子（每{'吉焦' if basis == 'GJ' else UNIT_LABEL.get(unit, unit)}）",
        "name_en": f"Combustion CO2 of {rec['fuel_en']}, per {unit}" + (" (NCV)" if basis == "GJ" else ""),
        "classification_scheme": "CN-FUEL",
        "classification_code": rec["fuel_zh"],
        "activity_category": "fuel",
        "activity_key": rec["activity_key"],
        "factor_purpose": "combustion",
        "unit_raw": "GJ" if basis == "GJ" else UNIT_LABEL.get(unit, unit),
        "value_scale": 1000.0,
        "published_gwp_set": "CO2",
        "gas_basis": "co2_only",
        "geography_raw": "CN",
        "reference_year": int(rec["year"]),
        "valid_from": year_start(int(rec["year"])),
        "technology": "stationary combustion",
        "system_boundary": "combustion_only",
        "data_type": "secondary",
        "publisher": "国家发展和改革委员会 (NDRC)",
        "document": rec["document"],
        "locator": f"{rec['table']}, {rec['fuel_zh']}",
        "publication_date": rec["year"],
        "removal_declared": False,
        "dq_reliability": 2,
        "dq_completeness": 2,
        "dq_technological": 2,
        "qa_flags": None if rec["check"].startswith("derived") else "transcription.unverified",
        "raw_file": raw["raw_file"],
        "raw_sha256": raw["raw_sha256"],
        "raw_row": i,
        "lineage": lineage(raw["raw_file"], raw["raw_sha256"], i),
    }
    try:
        ncv = parse_number(rec["ncv"], "ncv")
        cc = parse_number(rec["carbon_content_tc_per_gj"], "carbon_content_tc_per_gj")
        of = parse_number(rec["oxidation_rate"], "oxidation_rate")
        if ncv is None or cc is None or of is None:
            raise InputError(
                "ncv, carbon_content_tc_per_gj and oxidation_rate are all required", "ncv", "value.missing"
            )
        per_gj = cc * of * C_TO_CO2
        value = per_gj if basis == "GJ" else ncv * per_gj
        row["gases"] = [{"gas": "CO2_fossil", "amount": value, "as_co2e": False}]
        row["co2e_published"] = value
        if basis == "GJ":
            props.append(
                {
                    "fuel_zh": rec["fuel_zh"],
                    "fuel_en": rec["fuel_en"],
                    "activity_key": rec["activity_key"],
                    "ncv": ncv,
                    "ncv_unit": rec["ncv_unit"],
                    "carbon_content_tc_per_gj": cc,
                    "oxidation_rate": of,
                    "tco2_per_gj": per_gj,
                    "tco2_per_physical_unit": ncv * per_gj,
                    "physical_unit": rec["physical_unit"],
                    "document": rec["document"],
                    "table": rec["table"],
                    "year": int(rec["year"]),
                    "check": rec["check"],
                    "raw_row": i,
                }
            )
    except InputError as exc:
        row.update(error_rule=exc.rule, error_column=exc.column, error_message=str(exc))
    return row
