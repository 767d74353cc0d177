"""The canonical factor record and the code lists it uses.

One list, ``FACTOR_COLUMNS``, defines the release table ``factor``: its column order, Polars types and
the documentation in docs/factor_record.md (generated from here by ``pcf docs`` / the tests check it).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from polars._typing import PolarsDataType

# Gases the record carries. Amounts are kg of the gas per reference unit, except the ``*_CO2E``
# pseudo-gases, which publishers give only as CO2e (e.g. EPA's "HFCs and PFCs, unspecified").
GAS_COLUMNS = {
    "CO2_fossil": "co2_fossil_kg",
    "CO2_biogenic": "co2_biogenic_kg",
    "CH4_fossil": "ch4_fossil_kg",
    "CH4_biogenic": "ch4_biogenic_kg",
    "CH4": "ch4_unspecified_kg",
    "N2O": "n2o_kg",
}
BIOGENIC_GASES = ("CO2_biogenic", "CH4_biogenic")
# Staged rows carry these gases as columns (fast, no list handling on millions of rows); any other
# gas (HFCs, PFCs, SF6, NF3, CO2e-only mixes) stays in the `gases` list column.
STAGED_GAS_COLUMNS = {gas: f"gas_{gas}" for gas in GAS_COLUMNS}

SYSTEM_BOUNDARIES = {
    "cradle_to_gate": "摇篮到大门",
    "gate_to_gate": "大门到大门",
    "cradle_to_grave": "摇篮到坟墓",
    "gate_to_grave": "大门到坟墓",
    "combustion_only": "仅燃烧",
}
DATA_TYPES = ("primary", "site_specific", "secondary")
STEWARD_STATUSES = ("approved", "pending", "rejected", "deprecated", "internal_only")
GAS_BASES = ("per_gas", "co2_only", "co2e_only")
# Why a factor exists: they must not be mixed (a Scope 2 CO2-only grid factor is not a life-cycle
# footprint factor).
FACTOR_PURPOSES = {
    "life_cycle": "life-cycle (carbon footprint) factor, CO2e",
    "scope2_location": "Scope 2 location-based electricity factor, CO2 only, no upstream",
    "combustion": "direct combustion factor (Scope 1), no upstream",
    "well_to_tank": "upstream (well-to-tank) part of a fuel or energy carrier",
    "spend_eeio": "environmentally extended input-output factor per currency unit",
    "generation_intensity": "grid generation intensity by country (global fallback tier)",
    "fugitive": "release of the gas itself to air (refrigerants, GWP per kg)",
    "direct": "a process's own emissions, no upstream (partial inventories such as pollution-census coefficients)",
}
ACTIVITY_CATEGORIES = {
    # category -> pint dimensionalities a reference unit may have
    "electricity": ("[mass] * [length] ** 2 / [time] ** 2",),
    "heat": ("[mass] * [length] ** 2 / [time] ** 2",),
    "fuel": ("[mass]", "[length] ** 3", "[mass] * [length] ** 2 / [time] ** 2"),
    "transport_freight": ("[length] * [mass]", "[length]", "[length] ** 4"),
    "transport_passenger": ("[length] * [person]", "[length]", "[person]", "[person] * [time]"),
    "material": (
        "[mass]",
        "[length] ** 3",
        "[length] ** 2",
        "[length]",
        "[count]",
        "[mass] * [length] ** 2 / [time] ** 2",
    ),
    "product": None,  # finished products: any physical or count unit
    "service": None,
    "agriculture": None,
    "waste": ("[mass]", "[length] ** 3", "[count]"),
    "water": ("[length] ** 3", "[mass]"),
    "refrigerant": ("[mass]",),
    "spend": ("[currency_usd]", "[currency_cny]", "[currency_gbp]"),
    "other": None,
}


@dataclass(frozen=True)
class Column:
    name: str
    dtype: PolarsDataType
    doc: str
    group: str


def _c(group: str, name: str, dtype, doc: str) -> Column:
    return Column(name, dtype, doc, group)


FACTOR_COLUMNS: list[Column] = [
    _c(
        "identity",
        "factor_id",
        pl.String,
        "Stable id: 'F' + first 20 hex of MD5 over source_id and natural_key (an identifier, not a security hash). Same factor, same id in every release; the value is not part of it, so a new edition shows as a change.",
    ),
    _c("identity", "source_id", pl.String, "Source family (one Dagster asset each), e.g. cn_mee_electricity_co2."),
    _c(
        "identity",
        "source_version",
        pl.String,
        "Edition of the source: its declared edition plus the first 12 hex of the SHA-256 over its raw files.",
    ),
    _c(
        "identity",
        "series_id",
        pl.String,
        "Series of the factor: 'S' + first 20 hex of MD5 over source_id, activity (activity_key, else classification code, else English or Chinese name), geography_code, unit and factor_purpose. The same series across reference years: a new year is the next value of a series, not an unrelated factor (pcf diff, review queue).",
    ),
    _c(
        "identity",
        "natural_key",
        pl.String,
        "The publisher's own key for the factor (table id, NAICS code, CPCD 产品ID, ...).",
    ),
    _c(
        "names", "name_zh", pl.String, "Name in Chinese (from the source, or a documented translation of the activity)."
    ),
    _c("names", "name_en", pl.String, "Name in English."),
    _c(
        "classification",
        "classification_scheme",
        pl.String,
        "Scheme of classification_code: CPCD, NAICS2017, DESNZ2024, CN-MEE, ISO3166, CN-FUEL, LIT.",
    ),
    _c(
        "classification",
        "classification_code",
        pl.String,
        "Code in that scheme (CPCD class prefix, NAICS-6, DESNZ level path ...).",
    ),
    _c(
        "classification",
        "activity_category",
        pl.String,
        "Harmonised category (electricity, fuel, transport_freight, material, product, spend ...); fixes which units are dimensionally valid.",
    ),
    _c(
        "classification",
        "activity_key",
        pl.String,
        "Finer harmonised activity used to compare sources (e.g. electricity.grid_average, fuel.diesel); null when not comparable.",
    ),
    _c(
        "classification",
        "factor_purpose",
        pl.String,
        "life_cycle, scope2_location, combustion, well_to_tank, spend_eeio, generation_intensity. Scope 2 CO2-only and life-cycle CO2e factors never mix.",
    ),
    _c(
        "unit",
        "unit",
        pl.String,
        "Reference unit (canonical pint expression): the factor is kg CO2e per one of these, e.g. kWh, kg, t*km, person*km, piece, USD_2021.",
    ),
    _c("unit", "unit_label", pl.String, "Reference unit as the publisher wrote it (e.g. 千瓦时, 公吨·公里, tonne.km)."),
    _c("unit", "unit_dimension", pl.String, "pint dimensionality of the reference unit."),
    _c(
        "unit",
        "unit_scale_from_published",
        pl.Float64,
        "Multiplier applied to the published number to express it per the canonical unit and in kg (e.g. tCO2e/MWh -> kg/kWh is 1).",
    ),
    _c("gases", "co2_fossil_kg", pl.Float64, "kg fossil CO2 per reference unit (null: not given by the source)."),
    _c("gases", "co2_biogenic_kg", pl.Float64, "kg biogenic CO2 per reference unit."),
    _c("gases", "ch4_fossil_kg", pl.Float64, "kg fossil CH4 per reference unit."),
    _c("gases", "ch4_biogenic_kg", pl.Float64, "kg biogenic (non-fossil) CH4 per reference unit."),
    _c("gases", "ch4_unspecified_kg", pl.Float64, "kg CH4 whose origin the source does not state."),
    _c("gases", "n2o_kg", pl.Float64, "kg N2O per reference unit."),
    _c(
        "gases",
        "fgas_co2e_kg",
        pl.Float64,
        "kg CO2e of HFCs, PFCs, SF6 and NF3 together under gwp_set (each gas is in factor_gas).",
    ),
    _c(
        "gases",
        "gas_basis",
        pl.String,
        "per_gas (gases given: CO2e recomputed under gwp_set), co2_only (CO2 alone, e.g. MEE grid factors), co2e_only (only a published CO2e total).",
    ),
    _c(
        "co2e",
        "co2e_kg",
        pl.Float64,
        "kg CO2e per reference unit under gwp_set (for co2e_only rows: the published total, see published_gwp_set).",
    ),
    _c(
        "co2e",
        "co2e_biogenic_kg",
        pl.Float64,
        "Part of co2e_kg from biogenic CO2 and biogenic CH4, reported separately as GB/T 24067 asks.",
    ),
    _c("co2e", "gwp_set", pl.String, "GWP100 set applied to per-gas rows (AR6 default; selectable per run)."),
    _c(
        "co2e",
        "published_co2e_kg",
        pl.Float64,
        "The CO2e total as published, scaled to kg per reference unit (null when only gases were published).",
    ),
    _c(
        "co2e",
        "published_gwp_set",
        pl.String,
        "GWP set the publisher used for its CO2e (AR4 for EPA SEF v1.2, AR5 for DESNZ 2024 ...), or 'unknown'.",
    ),
    _c(
        "geography",
        "geography_code",
        pl.String,
        "ISO 3166-1 alpha-2 for countries (CN, US, GB), GB/T 2260 six-digit code for Chinese provinces (500000 = 重庆), CN-GRID-* for the MEE power-grid regions, GLO for the world.",
    ),
    _c("geography", "geography_level", pl.String, "province, grid_region, country, region, global."),
    _c("geography", "geography_name", pl.String, "Name of the geography (Chinese / English)."),
    _c("time", "reference_year", pl.Int32, "Year the data represent."),
    _c("time", "valid_from", pl.Date, "First day the factor is meant for (default: 1 January of reference_year)."),
    _c("time", "valid_to", pl.Date, "Last day (null: until superseded)."),
    _c(
        "technology",
        "technology",
        pl.String,
        "Technology or production route as stated (e.g. coal-fired power, GLLMTP process), else null.",
    ),
    _c(
        "boundary",
        "system_boundary",
        pl.String,
        "cradle_to_gate, gate_to_gate, cradle_to_grave, gate_to_grave, combustion_only.",
    ),
    _c("boundary", "data_type", pl.String, "primary, site_specific or secondary."),
    _c("source", "publisher", pl.String, "Organisation that published the number."),
    _c("source", "document", pl.String, "Title of the publishing document or dataset."),
    _c("source", "locator", pl.String, "Table, sheet, row or page inside the document."),
    _c("source", "url", pl.String, "URL of the document (null if none)."),
    _c("source", "doi", pl.String, "DOI (null if none)."),
    _c("source", "publication_date", pl.String, "Publication date as precise as known (YYYY, YYYY-MM or YYYY-MM-DD)."),
    _c(
        "source",
        "licence",
        pl.String,
        "Licence of the number (e.g. CC-BY-4.0, OGL-UK-3.0, US-PD, CN-official-document, unknown).",
    ),
    _c(
        "source",
        "authority",
        pl.String,
        "Precedence tier of the publisher in factor selection: steward_regional, official_cn (Chinese national or provincial publication), official_other (other governments, IPCC), literature, third_party (copies and compilations). docs/factor_selection.md.",
    ),
    _c(
        "source",
        "redistributable",
        pl.Boolean,
        "False: may be used to compute but never reaches an export or public page.",
    ),
    _c(
        "quality",
        "dq_reliability",
        pl.Int8,
        "Pedigree score 1 (best) to 5: reliability of the source (verified measurement ... non-qualified estimate).",
    ),
    _c("quality", "dq_completeness", pl.Int8, "Pedigree score 1-5: completeness (gases and sites covered)."),
    _c(
        "quality",
        "dq_temporal",
        pl.Int8,
        "Pedigree score 1-5: age against the assessment year (<3 y: 1, <6: 2, <10: 3, <15: 4, else 5).",
    ),
    _c(
        "quality",
        "dq_geographical",
        pl.Int8,
        "Pedigree score 1-5: geographic fit for Chinese products (province/grid 1, China 2, regional aggregate 3, other country 4, global 3).",
    ),
    _c(
        "quality",
        "dq_technological",
        pl.Int8,
        "Pedigree score 1-5: technological fit (process specific 1 ... spend-based proxy 4).",
    ),
    _c(
        "quality",
        "dqr",
        pl.Float64,
        "Data quality rating: mean of the five pedigree scores (1 excellent ... 5 poor), as in the PEF DQR.",
    ),
    _c("quality", "uncertainty_distribution", pl.String, "lognormal for every factor."),
    _c(
        "quality",
        "gsd2",
        pl.Float64,
        "Squared geometric standard deviation (95 % interval is [value/gsd2, value*gsd2]); published if the source gives it, else from the pedigree matrix (ecoinvent v3 factors).",
    ),
    _c(
        "quality",
        "metrological_traceability",
        pl.Boolean,
        "True when the number can be traced to an identified published document, locator and date (official announcement, DOI or dataset release).",
    ),
    _c(
        "quality",
        "qa_flags",
        pl.String,
        "Comma-separated flags raised but not blocking (e.g. outlier.cross_source, co2_only_labelled_co2e).",
    ),
    _c(
        "steward",
        "steward_status",
        pl.String,
        "approved (by source configuration or steward decision), pending, internal_only (licence forbids redistribution), rejected, deprecated.",
    ),
    _c("lineage", "raw_file", pl.String, "Raw file, relative to its root (sources dir or data/raw)."),
    _c("lineage", "raw_sha256", pl.String, "SHA-256 of the raw file."),
    _c(
        "lineage",
        "raw_row",
        pl.Int64,
        "1-based data row in the raw file (header excluded) of the row that defines the factor; every contributing row is in factor_lineage.",
    ),
]

FACTOR_SCHEMA = {c.name: c.dtype for c in FACTOR_COLUMNS}

# The staged record: what every source adapter produces, before validation and harmonisation.
GAS_STRUCT = pl.Struct({"gas": pl.String, "amount": pl.Float64, "as_co2e": pl.Boolean})
STAGED_SCHEMA: dict[str, PolarsDataType] = {
    "source_id": pl.String,
    "source_version": pl.String,
    "natural_key": pl.String,
    "name_zh": pl.String,
    "name_en": pl.String,
    "classification_scheme": pl.String,
    "classification_code": pl.String,
    "activity_category": pl.String,
    "activity_key": pl.String,
    "factor_purpose": pl.String,
    "unit_raw": pl.String,
    "value_scale": pl.Float64,  # published mass unit to kg (t -> 1000, g -> 0.001)
    "co2e_published": pl.Float64,
    "published_gwp_set": pl.String,
    **{column: pl.Float64 for column in STAGED_GAS_COLUMNS.values()},
    "gases": pl.List(GAS_STRUCT),  # other gases only (see STAGED_GAS_COLUMNS)
    "gas_basis": pl.String,
    "geography_raw": pl.String,
    "reference_year": pl.Int32,
    "valid_from": pl.Date,
    "valid_to": pl.Date,
    "technology": pl.String,
    "system_boundary": pl.String,
    "data_type": pl.String,
    "publisher": pl.String,
    "document": pl.String,
    "locator": pl.String,
    "url": pl.String,
    "doi": pl.String,
    "publication_date": pl.String,
    "licence": pl.String,
    "redistributable": pl.Boolean,
    "removal_declared": pl.Boolean,
    "dq_reliability": pl.Int8,
    "dq_completeness": pl.Int8,
    "dq_technological": pl.Int8,
    "gsd2_published": pl.Float64,
    "steward_default": pl.String,
    "authority": pl.String,
    "qa_flags": pl.String,
    "raw_file": pl.String,
    "raw_sha256": pl.String,
    "raw_row": pl.Int64,
    "lineage": pl.List(pl.Struct({"raw_file": pl.String, "raw_sha256": pl.String, "raw_row": pl.Int64})),
    "raw_sheet": pl.String,
    # Set by an adapter when the row could not even be read (text in a number, ...).
    "error_rule": pl.String,
    "error_column": pl.String,
    "error_message": pl.String,
}

QUARANTINE_SCHEMA: dict[str, PolarsDataType] = {
    "source_id": pl.String,
    "source_version": pl.String,
    "raw_file": pl.String,
    "raw_sha256": pl.String,
    "raw_sheet": pl.String,
    "raw_row": pl.Int64,
    "raw_rows_count": pl.Int64,
    "column_name": pl.String,
    "rule_id": pl.String,
    "message": pl.String,
    "natural_key": pl.String,
    "record": pl.String,  # the staged record as JSON, so a steward sees what was read
}

FACTOR_GAS_SCHEMA: dict[str, PolarsDataType] = {
    "factor_id": pl.String,
    "gas": pl.String,
    "amount_kg": pl.Float64,
    "gwp": pl.Float64,
    "co2e_kg": pl.Float64,
    "gwp_set": pl.String,
    "biogenic": pl.Boolean,
}

LINEAGE_SCHEMA: dict[str, PolarsDataType] = {
    "factor_id": pl.String,
    "raw_file": pl.String,
    "raw_sha256": pl.String,
    "raw_row": pl.Int64,
}


def empty_staged() -> pl.DataFrame:
    return pl.DataFrame(schema=STAGED_SCHEMA)


def staged_frame(rows: list[dict]) -> pl.DataFrame:
    """Build a staged frame from adapter dicts; absent keys are null. Adapters list gases in `gases`;
    the six main ones move to their columns here."""
    if not rows:
        return empty_staged()
    filled = []
    for r in rows:
        out = {k: r.get(k) for k in STAGED_SCHEMA}
        others = []
        for g in r.get("gases") or []:
            column = STAGED_GAS_COLUMNS.get(g["gas"])
            if column and not g.get("as_co2e"):
                out[column] = (out[column] or 0.0) + g["amount"]
            else:
                others.append(g)
        out["gases"] = others or None
        filled.append(out)
    return pl.DataFrame(filled, schema=STAGED_SCHEMA, strict=False)


# exchange-level quarantine of an imported LCI archive (release table import_issue)
IMPORT_ISSUE_SCHEMA = {
    "source_id": pl.String,
    "dataset_uuid": pl.String,
    "file": pl.String,
    "exchange": pl.String,
    "flow": pl.String,
    "rule": pl.String,
    "message": pl.String,
}
