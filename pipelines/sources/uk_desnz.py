"""UK Government GHG Conversion Factors for Company Reporting 2024 (DESNZ/Defra), flat file.

Rows sharing an ID stem (ID without its last part) form one factor: the 'kg CO2e' total and the
'kg CO2e of CO2 / CH4 / N2O per unit' parts. Parts are given in CO2e under AR5 GWP100 (DESNZ
methodology); they are turned back into kg of each gas with the AR5 values so that the warehouse can
weight them with the selected set. 'kWh (Net CV)' rows are energy conversions for SECR reporting, not
emission factors: they are quarantined with that reason, as are combinations DESNZ leaves blank.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.common.gwp import gwp
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
    source_id="uk_desnz_ghg_cf_2024",
    title="UK Government GHG Conversion Factors for Company Reporting 2024, v1.1 (flat file)",
    publisher="UK Department for Energy Security and Net Zero (DESNZ) and Defra",
    licence="OGL-UK-3.0 (© Crown copyright, DESNZ/Defra, UK Government GHG Conversion Factors for Company Reporting 2024)",
    redistributable=True,
    approved_by_source=True,
    location="external",
    dir_glob="uk_desnz_ghg_cf_2024",
    expected_refresh_days=400,
    url="https://www.gov.uk/government/publications/greenhouse-gas-reporting-conversion-factors-2024",
)
PARTS = {"kg CO2e of CO2 per unit": "CO2", "kg CO2e of CH4 per unit": "CH4", "kg CO2e of N2O per unit": "N2O"}
CATEGORY = {
    "Fuels": ("fuel", "combustion", "combustion_only"),
    "Bioenergy": ("fuel", "combustion", "combustion_only"),
    "Outside of scopes": ("fuel", "combustion", "combustion_only"),
    "UK electricity": ("electricity", "scope2_location", "combustion_only"),
    "Managed assets- electricity": ("electricity", "scope2_location", "combustion_only"),
    "Transmission and distribution": ("electricity", "scope2_location", "combustion_only"),
    "Heat and steam": ("heat", "scope2_location", "combustion_only"),
    "Refrigerant & other": ("refrigerant", "fugitive", "gate_to_gate"),
    "Material use": ("material", "life_cycle", "cradle_to_gate"),
    "Waste disposal": ("waste", "life_cycle", "gate_to_grave"),
    "Water supply": ("water", "life_cycle", "cradle_to_gate"),
    "Water treatment": ("water", "life_cycle", "gate_to_grave"),
    "Hotel stay": ("service", "life_cycle", "cradle_to_gate"),
    "Homeworking": ("service", "life_cycle", "gate_to_gate"),
}
FUEL_KEYS = {
    "Natural gas": "fuel.natural_gas",
    "LPG": "fuel.lpg",
    "Diesel (100% mineral diesel)": "fuel.diesel",
    "Petrol (100% mineral petrol)": "fuel.gasoline",
    "Fuel oil": "fuel.fuel_oil",
    "Burning oil": "fuel.kerosene",
    "Coal (industrial)": "fuel.coal_bituminous",
    "Coking coal": "fuel.coal_coking",
}


def _category(level1: str) -> tuple[str, str, str]:
    if level1 in CATEGORY:
        return CATEGORY[level1]
    wtt = level1.startswith("WTT")
    if "freight" in level1.lower() or "delivery" in level1.lower():
        base = "transport_freight"
    elif "travel" in level1.lower() or "vehicle" in level1.lower() or "EVs" in level1:
        base = "transport_passenger"
    elif "fuel" in level1.lower() or "bioenergy" in level1.lower():
        base = "fuel"
    else:
        base = "other"
    return (base, "well_to_tank", "cradle_to_gate") if wtt else (base, "combustion", "combustion_only")


def load(root: Path) -> SourceBatch:
    directory = root / SPEC.dir_glob
    files = sorted(directory.glob("*flat-file*factors_by_category.csv")) if directory.is_dir() else []
    if not files:
        return missing_batch(SPEC, directory)
    path = files[0]
    try:
        frame, enc = read_csv_strings(path)
    except InputError as exc:
        raw = raw_file_record(SPEC, path, root, 0, error=str(exc))
        return finish(SPEC, "2024-v1.1", file_error_rows(SPEC, raw, exc, 0), [raw])
    raw = raw_file_record(SPEC, path, root, frame.height, enc)
    groups: dict[str, list[tuple[int, dict]]] = {}
    for i, rec in enumerate(frame.iter_rows(named=True), start=1):
        groups.setdefault(rec["ID"].rsplit("_", 1)[0], []).append((i, rec))
    rows = [_factor(stem, members, raw) for stem, members in groups.items()]
    return finish(SPEC, "2024-v1.1", rows, [raw])


def _factor(stem: str, members: list[tuple[int, dict]], raw: dict) -> dict:
    first_i, first = members[0]
    path = " > ".join(x for x in (first["Level 1"], first["Level 2"], first["Level 3"], first["Level 4"]) if x)
    variant = first["Column Text"] or ""
    cat, purpose, boundary = _category(first["Level 1"])
    uom = first["UOM"]
    row = {
        "natural_key": stem,
        "name_en": f"{path}{' (' + variant + ')' if variant else ''}, per {uom}",
        "classification_scheme": "DESNZ2024",
        "classification_code": path,
        "activity_category": cat,
        "factor_purpose": purpose,
        "system_boundary": boundary,
        "activity_key": FUEL_KEYS.get(first["Level 3"]) if first["Level 1"] == "Fuels" else None,
        "unit_raw": uom,
        "value_scale": 1.0,
        "published_gwp_set": "AR5",
        "geography_raw": "GB",
        "reference_year": 2024,
        "valid_from": year_start(2024),
        "technology": variant or None,
        "data_type": "secondary",
        "document": SPEC.title,
        "locator": f"sheet 'Factors by Category', ID {stem}_*, {first['Scope']}",
        "publication_date": "2024-10-30",
        "removal_declared": False,
        "dq_reliability": 2,
        "dq_completeness": 1,
        "dq_technological": 2,
        "raw_file": raw["raw_file"],
        "raw_sha256": raw["raw_sha256"],
        "raw_row": first_i,
        "lineage": lineage(raw["raw_file"], raw["raw_sha256"], *(i for i, _ in members)),
    }
    units = {m["GHG/Unit"] for _, m in members}
    if units & {"kWh (Net CV)", "kWh (net)"}:
        row.update(
            error_rule="record.not_emission_factor",
            error_column="GHG/Unit",
            error_message="DESNZ SECR row gives energy (kWh) per activity unit, not an emission factor; "
            "kept out of the factor table",
        )
        return row
    biogenic = first["Level 1"] in ("Outside of scopes",)
    try:
        total, gases = None, []
        for i, m in members:
            value = parse_number(m["GHG Conversion Factor 2024"], f"row {i} GHG Conversion Factor 2024")
            if m["GHG/Unit"] == "kg CO2e":
                total = value
            elif m["GHG/Unit"] in PARTS and value is not None:
                gas = PARTS[m["GHG/Unit"]]
                mass = value / gwp(gas, "AR5")
                code = {
                    "CO2": "CO2_biogenic" if biogenic else "CO2_fossil",
                    "CH4": "CH4_fossil" if cat == "fuel" and first["Level 1"] == "Fuels" else "CH4",
                }.get(gas, gas)
                gases.append({"gas": code, "amount": mass, "as_co2e": False})
        if total is None and not gases:
            raise InputError(
                "GHG Conversion Factor 2024: DESNZ publishes no value for this combination",
                "GHG Conversion Factor 2024",
                "value.missing",
            )
        if cat == "refrigerant":
            # Refrigerant rows are GWPs per kg released: keep the published CO2e (the blend is not split).
            gases = []
        if biogenic and total is not None and not gases:
            gases = [{"gas": "CO2_biogenic", "amount": total, "as_co2e": False}]
        row["co2e_published"] = total
        row["gases"] = gases or None
        row["gas_basis"] = "per_gas" if gases else "co2e_only"
    except InputError as exc:
        row.update(error_rule=exc.rule, error_column=exc.column, error_message=str(exc))
    return row
