"""PACT ProductFootprint documents (Technical Specifications v2.3.0) for EU customers.

`pcf export pact PRODUCT_ID` builds one document from the product marts of a release (footprint,
biogenic part, stages, contributions, primary data share, DQR, Monte Carlo interval) plus what only the
enterprise's own upload holds and its own disclosure needs: its name and credit code, the product's
reference period and the allocation bases applied. Nothing else from the restricted zone: no quantities,
no supplier, no item. Each document is validated against pact_2_3_0_product_footprint.schema.json before
it is written, and states the spec version.

Field choices (docs/exports.md):
- id: UUID v5 of (product key, release): the same release gives the same document; version 1.
- declaredUnit: kg -> kilogram, kWh -> kilowatt hour, MJ -> megajoule, m3 -> cubic meter, L -> liter,
  t*km -> ton kilometer, m2 -> square meter; other declared units (piece, 台) cannot be expressed in PACT
  v2.3 and are refused with that reason.
- pCfIncludingBiogenic = total; pCfExcludingBiogenic = total minus the biogenic part; fossilGhgEmissions
  = the fossil and other part. fossilCarbonContent / biogenicCarbonContent are not inventoried here and
  are reported as 0 with that said in `comment`.
- DQRs: the pedigree scores (1 best ... 5) mapped linearly onto PACT's 1..3 (1 + (s - 1) / 2);
  coveragePercent = the share of lines matched to a factor.
- primaryDataShare: the marts' PACT primary data share, in percent.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import polars as pl

from pipelines.config import Settings
from pipelines.release.publish import latest_release
from pipelines.reporting.data import ReportError, enterprise_part, public_part

SPEC_VERSION = "2.3.0"
SCHEMA_FILE = Path(__file__).with_name("pact_2_3_0_product_footprint.schema.json")
NAMESPACE = uuid.UUID("1b0e7c52-3f4a-4a8e-9a1d-70616374f00d")
PACT_UNITS = {
    "kg": "kilogram",
    "kWh": "kilowatt hour",
    "MJ": "megajoule",
    "m3": "cubic meter",
    "L": "liter",
    "t*km": "ton kilometer",
    "t·km": "ton kilometer",
    "m2": "square meter",
}
STAGE_TEXT = {
    "raw_material": "raw material acquisition",
    "production": "production",
    "distribution": "distribution",
    "use": "use",
    "end_of_life": "end of life",
}


class PactExportError(ValueError):
    pass


@lru_cache(maxsize=1)
def schema() -> dict:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def validate(document: dict) -> None:
    validator = jsonschema.Draft7Validator(schema(), format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    if errors:
        raise PactExportError(
            "PACT v2.3.0 schema: "
            + "; ".join(f"{'/'.join(map(str, e.path)) or '(document)'}: {e.message}" for e in errors[:10])
        )


def _dec(x: Any, digits: int = 6) -> str:
    value = round(float(x), digits)
    if value == 0:
        return "0"
    return f"{value:.{digits}f}".rstrip("0").rstrip(".")


def _dqr(score: float | None) -> float:
    return round(1 + (min(max(score or 5.0, 1.0), 5.0) - 1) / 2, 3)


def _iso(date) -> str:
    return f"{date.isoformat()}T00:00:00Z"


def build_document(settings: Settings, version: str, product_id: str) -> dict:
    try:  # the marts of the release, and the enterprise's own name, period and lines (its disclosure)
        data = enterprise_part(settings, public_part(settings, version, product_id))
    except ReportError as exc:
        raise PactExportError(str(exc)) from None
    p = data.footprint
    amount_text, _, label = p["declared_unit"].partition(" ")
    unit = PACT_UNITS.get(label.strip())
    if unit is None:
        raise PactExportError(
            f"declared unit {p['declared_unit']!r} cannot be expressed in PACT v{SPEC_VERSION} "
            f"(allowed: {', '.join(sorted(set(PACT_UNITS.values())))})"
        )
    if p["gwp_set"] not in ("AR5", "AR6"):
        raise PactExportError(f"GWP set {p['gwp_set']} is not one PACT v{SPEC_VERSION} accepts (AR5, AR6)")
    stages, contrib, ent = data.stages, data.contributions, data.enterprise
    company = ent["name"]
    if ent["period_start"] is not None:
        start, end = ent["period_start"], ent["period_end"]
    else:
        year = int(ent["reporting_year"]) if ent["reporting_year"] else int(data.created_at[:4])
        start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    end_exclusive = end + dt.timedelta(days=1)  # PACT: end of the period, exclusive
    lines = (
        data.lines
        if data.lines is not None
        else pl.DataFrame({"allocation_basis": []}, schema={"allocation_basis": pl.String})
    )
    bases = sorted({b for b in lines["allocation_basis"].drop_nulls().to_list() if b not in ("direct", "none")})
    secondary = [{"name": r["source_id"], "version": r["source_version"]} for r in data.sources.iter_rows(named=True)]
    # the enterprise's own exact lines (restricted) where present; else the published share of the total
    packaging = (
        data.lines.filter(pl.col("kind") == "packaging")["co2e_kg_per_declared_unit"].sum()
        if data.lines is not None and data.lines.height
        else contrib.filter(pl.col("kind") == "packaging")["share"].sum() * p["co2e_kg"]
    )
    total, biogenic = float(p["co2e_kg"]), float(p["co2e_biogenic_kg"] or 0.0)
    coverage = 100.0 * (1 - (p["lines_unmatched"] or 0) / p["lines"]) if p["lines"] else 0.0
    stage_text = ", ".join(
        f"{STAGE_TEXT.get(s, s)} {share * 100:.1f} %"
        for s, share in stages.sort("stage").select("stage", "share").rows()
    )
    pcf = {
        "declaredUnit": unit,
        "unitaryProductAmount": _dec(float(amount_text)),
        "pCfExcludingBiogenic": _dec(max(total - biogenic, 0.0)),
        "pCfIncludingBiogenic": _dec(total),
        "fossilGhgEmissions": _dec(max(float(p["co2e_fossil_and_other_kg"]), 0.0)),
        "fossilCarbonContent": "0",
        "biogenicCarbonContent": "0",
        "characterizationFactors": p["gwp_set"],
        "ipccCharacterizationFactorsSources": [p["gwp_set"]],
        "crossSectoralStandardsUsed": ["ISO Standard 14067"],
        "boundaryProcessesDescription": f"Cradle to gate and distribution as reported by the producer, by life-cycle "
        f"stage (GB/T 24067-2024): {stage_text}.",
        "referencePeriodStart": _iso(start),
        "referencePeriodEnd": _iso(end_exclusive),
        "geographyCountry": "CN",
        "exemptedEmissionsPercent": 0,
        "exemptedEmissionsDescription": "No emissions exempted."
        if not p["lines_unmatched"]
        else f"{p['lines_unmatched']} inventory line(s) without a matching factor are not quantified.",
        "packagingEmissionsIncluded": bool(contrib.filter(pl.col("kind") == "packaging").height),
        "allocationRulesDescription": (
            "Plant-level inputs allocated by " + ", ".join(bases) + " (GB/T 24067 / ISO 14044 4.3.4)."
            if bases
            else "No allocation: all inputs metered per product."
        ),
        "uncertaintyAssessmentDescription": f"Monte Carlo, {p['mc_iterations']} iterations (seed {p['mc_seed']}), "
        f"lognormal factors and activity data: P5 {p['co2e_p5_kg']:.4g}, P50 "
        f"{p['co2e_p50_kg']:.4g}, P95 {p['co2e_p95_kg']:.4g} kg CO2e per declared unit.",
        "primaryDataShare": round(float(p["primary_data_share"] or 0.0) * 100, 2),
        "dqi": {
            "coveragePercent": round(coverage, 2),
            "technologicalDQR": _dqr(p["dq_technological"]),
            "temporalDQR": _dqr(p["dq_temporal"]),
            "geographicalDQR": _dqr(p["dq_geographical"]),
            "completenessDQR": _dqr(p["dq_completeness"]),
            "reliabilityDQR": _dqr(p["dq_reliability"]),
        },
    }
    if packaging:
        pcf["packagingGhgEmissions"] = _dec(packaging)
    if secondary:
        pcf["secondaryEmissionFactorSources"] = secondary
    return {
        "id": str(uuid.uuid5(NAMESPACE, f"{p['product_key']}@{version}")),
        "specVersion": SPEC_VERSION,
        "version": 1,
        "created": data.created_at.replace("+00:00", "Z"),
        "status": "Active",
        "companyName": company,
        "companyIds": [f"urn:pathfinder:company:customcode:vendor-assigned:uscc:{p['uscc']}"],
        "productDescription": f"{p['product_name']}, per {p['declared_unit']}",
        "productIds": [f"urn:pathfinder:product:customcode:vendor-assigned:{p['product_id']}"],
        "productCategoryCpc": p["category"] or "unclassified",
        "productNameCompany": p["product_name"],
        "comment": (
            f"PACT Technical Specifications v{SPEC_VERSION}. Computed by the PCF Factor Warehouse, release "
            f"{version} (GB/T 24067-2024 / ISO 14067:2018), {p['gwp_set']} GWP100; DQR {p['dqr']}. Carbon "
            f"content is not inventoried (reported as 0). productCategoryCpc carries the warehouse category."
        ),
        "pcf": pcf,
    }


def export(settings: Settings, product_id: str, out: Path, version: str | None = None) -> Path:
    version = version or (latest_release(settings) or {}).get("version")
    if version is None:
        raise PactExportError("no release: run `pcf build`")
    document = build_document(settings, version, product_id)
    validate(document)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    from pipelines.reporting.data import output_file

    path = output_file(out, product_id.replace("/", "_").replace(":", "_"), f".pact-{SPEC_VERSION}.json")
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path
