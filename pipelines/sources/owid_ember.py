"""Carbon intensity of electricity generation by country (Our World in Data, from Ember and the Energy
Institute), 2000-2024: the last ('global / other country') fallback tier for electricity.

Ember uses life-cycle factors per fuel, so these are CO2e life-cycle generation intensities despite the
'gCO2/kWh' label, and not comparable 1:1 with MEE consumption-side CO2 factors (SOURCE.md). Aggregates
without an ISO code (continents, 'ASEAN (Ember)' ...) are quarantined: they have no place in the
geography hierarchy until a steward maps them.
"""

from __future__ import annotations

from pathlib import Path

import pycountry

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
    source_id="owid_ember_electricity_intensity",
    title="Carbon intensity of electricity generation (OWID grapher carbon-intensity-electricity)",
    publisher="Our World in Data, from Ember (2025) and Energy Institute - Statistical Review of World Energy (2025)",
    licence="CC-BY-4.0 (attribution: Ember (2025); Energy Institute - Statistical Review of World Energy (2025) - with major processing by Our World in Data)",
    redistributable=True,
    approved_by_source=True,
    location="external",
    dir_glob="owid_ember_electricity_intensity",
    expected_refresh_days=400,
    url="https://ourworldindata.org/grapher/carbon-intensity-electricity",
    authority="third_party",
)
VALUE = "Carbon intensity of electricity - gCO2/kWh"


def _geography(entity: str, code: str) -> str:
    if code == "OWID_WRL":
        return "GLO"
    if entity == "European Union (27)":
        return "EU"
    if code and len(code) == 3:
        country = pycountry.countries.get(alpha_3=code)
        if country:
            return country.alpha_2
    return code or entity


def load(root: Path) -> SourceBatch:
    directory = root / SPEC.dir_glob
    path = directory / "carbon-intensity-electricity.csv"
    if not path.is_file():
        return missing_batch(SPEC, directory)
    try:
        frame, enc = read_csv_strings(path)
    except InputError as exc:
        raw = raw_file_record(SPEC, path, root, 0, error=str(exc))
        return finish(SPEC, "2025", file_error_rows(SPEC, raw, exc, 0), [raw])
    raw = raw_file_record(SPEC, path, root, frame.height, enc)
    rows = []
    for i, rec in enumerate(frame.iter_rows(named=True), start=1):
        entity, code = rec.get("Entity") or "", rec.get("Code") or ""
        row = {
            "natural_key": f"{code or entity}:{rec.get('Year')}",
            "name_en": f"Electricity generation carbon intensity, {entity}, {rec.get('Year')}",
            "classification_scheme": "OWID",
            "classification_code": "carbon-intensity-electricity",
            "activity_category": "electricity",
            "activity_key": "electricity.generation_intensity",
            "factor_purpose": "generation_intensity",
            "unit_raw": "kWh",
            "value_scale": 0.001,
            "published_gwp_set": "unknown",
            "gas_basis": "co2e_only",
            "geography_raw": _geography(entity, code),
            "technology": "national generation mix",
            "system_boundary": "cradle_to_gate",
            "data_type": "secondary",
            "document": SPEC.title,
            "locator": f"Entity {entity!r}, Year {rec.get('Year')}",
            "publication_date": "2025",
            "removal_declared": False,
            "dq_reliability": 2,
            "dq_completeness": 1,
            "dq_technological": 3,
            "raw_file": raw["raw_file"],
            "raw_sha256": raw["raw_sha256"],
            "raw_row": i,
            "lineage": lineage(raw["raw_file"], raw["raw_sha256"], i),
        }
        try:
            year = int(parse_number(rec.get("Year"), "Year") or 0)  # 0: no year, rejected by validation
            row["reference_year"], row["valid_from"] = year, year_start(year)
            row["co2e_published"] = parse_number(rec.get(VALUE), VALUE)
        except (InputError, TypeError) as exc:
            row.update(
                error_rule=getattr(exc, "rule", "value.not_number"),
                error_column=getattr(exc, "column", "Year"),
                error_message=str(exc),
            )
        rows.append(row)
    return finish(SPEC, "2025", rows, [raw])
