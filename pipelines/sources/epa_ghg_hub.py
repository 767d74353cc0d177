"""US EPA GHG Emission Factors Hub 2025, Table 1 (stationary combustion, 63 fuels), from the tidy CSV.

Two factors per fuel: per mmBtu (higher heating value, HHV) and per physical unit (short ton, scf,
gallon) where EPA gives one. Combustion only, per gas (CO2, CH4, N2O). Biomass fuels emit biogenic CO2
and non-fossil CH4. Tables 2-12 of the workbook are not ingested yet (the cells dump is recorded as a raw
file of this source so that its hash is tracked).
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
    year_start,
)

SPEC = SourceSpec(
    source_id="epa_ghg_ef_hub_2025",
    title="GHG Emission Factors Hub 2025 (Emission Factors for Greenhouse Gas Inventories), Table 1",
    publisher="U.S. EPA Center for Corporate Climate Leadership",
    licence="US-PD (U.S. Government work)",
    redistributable=True,
    approved_by_source=True,
    location="external",
    dir_glob="epa_ghg_ef_hub_2025",
    expected_refresh_days=400,
    url="https://www.epa.gov/climateleadership/ghg-emission-factors-hub",
)
FUEL_KEYS = {
    "Natural Gas": "fuel.natural_gas",
    "Distillate Fuel Oil No. 2": "fuel.diesel",
    "Motor Gasoline": "fuel.gasoline",
    "Liquefied Petroleum Gases (LPG)": "fuel.lpg",
    "Kerosene": "fuel.kerosene",
    "Anthracite": "fuel.coal_anthracite",
    "Bituminous": "fuel.coal_bituminous",
    "Lignite": "fuel.coal_lignite",
    "Coal Coke": "fuel.coke",
    "Residual Fuel Oil No. 6": "fuel.fuel_oil",
}


def load(root: Path) -> SourceBatch:
    directory = root / SPEC.dir_glob
    path = directory / "table1_stationary_combustion.csv"
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
        rows.append(_row(rec, i, raw, per_unit=False))
        if (rec.get("co2_kg_per_unit") or "").strip():
            rows.append(_row(rec, i, raw, per_unit=True))
    return finish(SPEC, "2025", rows, [raw])


def _row(rec: dict, i: int, raw: dict, per_unit: bool) -> dict:
    biomass = "biomass" in (rec.get("fuel_group") or "").lower()
    if per_unit:
        cols = ("co2_kg_per_unit", "ch4_g_per_unit", "n2o_g_per_unit")
        unit = (rec.get("unit_co2_per_unit") or "").split(" per ", 1)[-1]
    else:
        cols = ("co2_kg_per_mmbtu", "ch4_g_per_mmbtu", "n2o_g_per_mmbtu")
        unit = "mmBtu"
    fuel = rec.get("fuel_type") or ""
    row = {
        "natural_key": f"table1:{fuel}:{'unit' if per_unit else 'mmBtu'}",
        "name_en": f"Stationary combustion of {fuel} ({rec.get('fuel_group')}), per {unit}"
        + ("" if per_unit else " (HHV)"),
        "classification_scheme": "EPA-HUB-T1",
        "classification_code": f"{rec.get('fuel_group')} > {fuel}",
        "activity_category": "fuel",
        "activity_key": FUEL_KEYS.get(fuel),
        "factor_purpose": "combustion",
        "unit_raw": unit,
        "value_scale": 1.0,
        "published_gwp_set": "AR5",
        "gas_basis": "per_gas",
        "geography_raw": "US",
        "reference_year": 2025,
        "valid_from": year_start(2025),
        "technology": "stationary combustion",
        "system_boundary": "combustion_only",
        "data_type": "secondary",
        "document": "GHG Emission Factors Hub 2025, Table 1 Stationary Combustion (40 CFR Part 98 Tables C-1, C-2, AA-1)",
        "locator": f"sheet 'Emission Factors Hub' row {rec.get('source_sheet_row')}",
        "publication_date": "2025-01-15",
        "removal_declared": False,
        "dq_reliability": 1,
        "dq_completeness": 2,
        "dq_technological": 2,
        "raw_file": raw["raw_file"],
        "raw_sha256": raw["raw_sha256"],
        "raw_row": i,
        "lineage": lineage(raw["raw_file"], raw["raw_sha256"], i),
    }
    try:
        co2 = parse_number(rec.get(cols[0]), cols[0])
        ch4 = parse_number(rec.get(cols[1]), cols[1])
        n2o = parse_number(rec.get(cols[2]), cols[2])
        if co2 is None:
            raise InputError(f"{cols[0]}: empty; EPA gives no CO2 factor here", cols[0], "value.missing")
        gases = [{"gas": "CO2_biogenic" if biomass else "CO2_fossil", "amount": co2, "as_co2e": False}]
        if ch4 is not None:
            gases.append({"gas": "CH4_biogenic" if biomass else "CH4_fossil", "amount": ch4 / 1000, "as_co2e": False})
        if n2o is not None:
            gases.append({"gas": "N2O", "amount": n2o / 1000, "as_co2e": False})
        row["gases"] = gases
    except InputError as exc:
        row.update(error_rule=exc.rule, error_column=exc.column, error_message=str(exc))
    return row
