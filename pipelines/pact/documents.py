"""PACT ProductFootprint documents, v2.3 (spec 2.3.0, validated against the official 2.3.2 file) and v3.0
(3.0.0, against 3.0.3), from a release's product marts and what only the enterprise's own upload holds
(its name and credit code, the product's period and site, the allocation bases, its lines' quality).

Choices (docs/pact.md):
- `id`: a UUID v4 per footprint version, kept in data/curated/pact/ids.jsonl: the same product with the same
  footprint (values, unit, period) keeps its id and `created` across releases; a changed footprint gets a
  new id, `version` + 1 (v2.3) and `precedingPfIds` naming the earlier ids.
- `productCategoryCpc` (v2.3) / `productClassifications` (v3.0): the UN CPC code of the product's category
  from pipelines/reference/cpc_mapping.csv (steward-editable); a category without a code is refused.
- geography: the site's province as an ISO 3166-2 subdivision (CN-CQ) when the enterprise's lines name one,
  else the country.
- DQRs: each line's pedigree scores (1 best .. 5) weighted by |its CO2e| over the lines that carry more
  than 5 % of the footprint (PACT); v2.3 maps 1..5 linearly onto 1..3, v3.0 keeps 1..5 and its three
  indicators. Without the lines (a public reader), the product's own scores.
- Mandatory from reference year 2025 (and written always): pCfIncludingBiogenic, dLuc, land management and
  other biogenic emissions and biogenic withdrawal (0: not inventoried, said in `comment`), the biogenic
  accounting methodology (ISO 14067), primaryDataShare, dqi.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import uuid
from functools import lru_cache
from pathlib import Path

import polars as pl

from pipelines.common.filelock import exclusive
from pipelines.config import Settings
from pipelines.pact.spec import SPEC_VERSIONS, problems
from pipelines.reporting.data import ReportError, enterprise_part, public_part

CPC_FILE = Path(__file__).parent.parent / "reference" / "cpc_mapping.csv"
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
V3_UNITS = {**PACT_UNITS, "piece": "piece", "台": "piece", "个": "piece", "pcs": "piece"}
STAGE_TEXT = {
    "raw_material": "raw material acquisition",
    "production": "production",
    "distribution": "distribution",
    "use": "use",
    "end_of_life": "end of life",
}
# GB/T 2260 province prefix -> ISO 3166-2:CN subdivision (ISO 3166-2:CN, letter codes since 2017)
ISO_CN = {
    "11": "BJ",
    "12": "TJ",
    "13": "HE",
    "14": "SX",
    "15": "NM",
    "21": "LN",
    "22": "JL",
    "23": "HL",
    "31": "SH",
    "32": "JS",
    "33": "ZJ",
    "34": "AH",
    "35": "FJ",
    "36": "JX",
    "37": "SD",
    "41": "HA",
    "42": "HB",
    "43": "HN",
    "44": "GD",
    "45": "GX",
    "46": "HI",
    "50": "CQ",
    "51": "SC",
    "52": "GZ",
    "53": "YN",
    "54": "XZ",
    "61": "SN",
    "62": "GS",
    "63": "QH",
    "64": "NX",
    "65": "XJ",
    "71": "TW",
    "81": "HK",
    "82": "MO",
}


class PactDocumentError(ValueError):
    pass


@lru_cache(maxsize=2)
def cpc_table(path: str | None = None) -> dict[str, dict]:
    with Path(path or CPC_FILE).open(encoding="utf-8", newline="") as fh:
        return {r["category"].strip(): r for r in csv.DictReader(fh)}


def _dec(x, digits: int = 6) -> str:
    value = round(float(x), digits)
    if value == 0:
        return "0"
    return f"{value:.{digits}f}".rstrip("0").rstrip(".")


def _iso(date) -> str:
    return f"{date.isoformat()}T00:00:00Z"


def subdivision(code: str | None) -> str | None:
    """'500000' (GB/T 2260) or 'CN-CQ' -> 'CN-CQ'; None when not a Chinese province."""
    if not code:
        return None
    if code.startswith("CN-") and code[3:] in ISO_CN.values():
        return code
    if code.isdigit() and len(code) == 6 and code[:2] in ISO_CN:
        return f"CN-{ISO_CN[code[:2]]}"
    return None


def _weighted_dqr(lines: pl.DataFrame | None, product: dict, key: str) -> float:
    """A pedigree score (1..5) weighted by |CO2e| over lines above 5 % of the total (else the product's)."""
    if lines is not None and lines.height and key in lines.columns:
        co2 = lines.select(pl.col("co2e_kg_per_declared_unit").abs().fill_null(0.0).alias("w"), pl.col(key))
        total = float(co2["w"].sum() or 0.0)
        big = co2.filter(pl.col("w") > 0.05 * total) if total else co2.head(0)
        if big.height:
            return float((big["w"] * big[key]).sum()) / float(big["w"].sum())
    return float(product.get(key) or 5.0)


def facts(settings: Settings, release: str, product_id: str) -> dict:
    """What both versions say, in the warehouse's terms."""
    try:
        data = enterprise_part(settings, public_part(settings, release, product_id))
    except ReportError as exc:
        raise PactDocumentError(str(exc)) from None
    p = data.footprint
    amount_text, _, label = p["declared_unit"].partition(" ")
    cpc = cpc_table().get(p["category"] or "")
    if cpc is None:
        raise PactDocumentError(
            f"product category {p['category']!r} has no UN CPC code in pipelines/reference/cpc_mapping.csv "
            f"(productCategoryCpc is mandatory in PACT 2.3): a steward adds it"
        )
    ent = data.enterprise
    if ent["period_start"] is not None:
        start, end = ent["period_start"], ent["period_end"]
    else:
        year = int(ent["reporting_year"]) if ent["reporting_year"] else int(data.created_at[:4])
        start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    lines = data.lines
    geo = None
    if lines is not None and lines.height and "geography_requested" in lines.columns:
        sites = lines["geography_requested"].drop_nulls().to_list()
        geo = subdivision(max(set(sites), key=sites.count)) if sites else None
    bases = sorted(
        {
            b
            for b in (lines["allocation_basis"].drop_nulls().to_list() if lines is not None else [])
            if b not in ("direct", "none")
        }
    )
    contrib = data.contributions
    packaging = (
        lines.filter(pl.col("kind") == "packaging")["co2e_kg_per_declared_unit"].sum()
        if lines is not None and lines.height
        else contrib.filter(pl.col("kind") == "packaging")["share"].sum() * p["co2e_kg"]
    )
    stage_text = ", ".join(
        f"{STAGE_TEXT.get(s, s)} {share * 100:.1f} %"
        for s, share in data.stages.sort("stage").select("stage", "share").rows()
    )
    return {
        "product": p,
        "release": release,
        "amount": float(amount_text),
        "unit_label": label.strip(),
        "cpc": cpc,
        "company": ent["name"],
        "start": start,
        "end_exclusive": end + dt.timedelta(days=1),
        "geography": geo,
        "bases": bases,
        "packaging": float(packaging or 0.0),
        "packaging_included": bool(contrib.filter(pl.col("kind") == "packaging").height),
        "stage_text": stage_text,
        "secondary": [
            {"name": r["source_id"], "version": r["source_version"]} for r in data.sources.iter_rows(named=True)
        ],
        "dqr": {
            k: _weighted_dqr(lines, p, f"dq_{k}")
            for k in ("technological", "temporal", "geographical", "completeness", "reliability")
        },
        "coverage": 100.0 * (1 - (p["lines_unmatched"] or 0) / p["lines"]) if p["lines"] else 0.0,
        "created_at": data.created_at,
    }


def _fingerprint(f: dict) -> str:
    p = f["product"]
    key = [
        p["product_key"],
        p["declared_unit"],
        p["co2e_kg"],
        p["co2e_biogenic_kg"],
        str(f["start"]),
        str(f["end_exclusive"]),
        p["gwp_set"],
    ]
    return hashlib.sha256(json.dumps(key, default=str).encode()).hexdigest()


def identity(settings: Settings, f: dict) -> dict:
    """The footprint version's id (UUID v4), version number, first issue time and the ids it follows."""
    path = settings.curated_dir / "pact" / "ids.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    product_key, fp = f["product"]["product_key"], _fingerprint(f)
    with exclusive(path.with_name("ids.lock")):
        known = (
            [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()] if path.exists() else []
        )
        mine = [r for r in known if r["product_key"] == product_key]
        hit = next((r for r in mine if r["fingerprint"] == fp), None)
        if hit is None:
            now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
            hit = {
                "product_key": product_key,
                "fingerprint": fp,
                "id": str(uuid.uuid4()),
                "version": len(mine) + 1,
                "created": now,
                "preceding": [r["id"] for r in mine],
            }
            with path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(hit) + "\n")
    return hit


def _common(f: dict, ident: dict, spec: str) -> dict:
    p = f["product"]
    doc = {
        "id": ident["id"],
        "specVersion": SPEC_VERSIONS[spec],
        "created": ident["created"],
        "status": "Active",
        "companyName": f["company"],
        "companyIds": [f"urn:pact:pcf.example.org:company-id:uscc:{p['uscc']}"],
        "productDescription": f"{p['product_name']}, per {p['declared_unit']}",
        "productIds": [f"urn:pact:pcf.example.org:product-id:{p['uscc']}:{p['product_id']}"],
        "productNameCompany": p["product_name"],
        "comment": (
            f"Computed by the PCF Factor Warehouse, release {f['release']} (GB/T 24067-2024 / ISO "
            f"14067:2018), {p['gwp_set']} GWP100. Carbon content, land use change and land management "
            f"are not inventoried (reported as 0)."
        ),
    }
    if ident["preceding"]:
        doc["precedingPfIds"] = ident["preceding"]
    return doc


def document(settings: Settings, release: str, product_id: str, spec: str = "2.3") -> dict:
    f = facts(settings, release, product_id)
    p = f["product"]
    if p["gwp_set"] not in ("AR5", "AR6"):
        raise PactDocumentError(f"GWP set {p['gwp_set']} is not one PACT accepts (AR5, AR6)")
    ident = identity(settings, f)
    total, biogenic = float(p["co2e_kg"]), float(p["co2e_biogenic_kg"] or 0.0)
    geo = {"geographyCountrySubdivision": f["geography"]} if f["geography"] else {"geographyCountry": "CN"}
    alloc = (
        "Plant-level inputs allocated by " + ", ".join(f["bases"]) + " (GB/T 24067 / ISO 14044 4.3.4)."
        if f["bases"]
        else "No allocation: all inputs metered per product."
    )
    boundary = (
        f"Cradle to gate and distribution as reported by the producer, by life-cycle stage "
        f"(GB/T 24067-2024): {f['stage_text']}."
    )
    doc = _common(f, ident, spec)
    if spec == "2.3":
        unit = PACT_UNITS.get(f["unit_label"])
        if unit is None:
            raise PactDocumentError(
                f"declared unit {p['declared_unit']!r} cannot be expressed in PACT 2.3 "
                f"(allowed: {', '.join(sorted(set(PACT_UNITS.values())))}); use --spec-version 3.0"
            )
        to3 = lambda s: round(1 + (min(max(s, 1.0), 5.0) - 1) / 2, 2)  # noqa: E731
        pcf = {
            "declaredUnit": unit,
            "unitaryProductAmount": _dec(f["amount"]),
            "pCfExcludingBiogenic": _dec(max(total - biogenic, 0.0)),
            "pCfIncludingBiogenic": _dec(total),
            "fossilGhgEmissions": _dec(max(float(p["co2e_fossil_and_other_kg"]), 0.0)),
            "fossilCarbonContent": "0",
            "biogenicCarbonContent": "0",
            "dLucGhgEmissions": "0",
            "landManagementGhgEmissions": "0",
            "otherBiogenicGhgEmissions": "0",
            "biogenicCarbonWithdrawal": "0",
            "characterizationFactors": p["gwp_set"],
            "ipccCharacterizationFactorsSources": [p["gwp_set"]],
            "crossSectoralStandardsUsed": ["ISO Standard 14067"],
            "crossSectoralStandards": ["ISO14067"],
            "biogenicAccountingMethodology": "ISO",
            "boundaryProcessesDescription": boundary,
            "referencePeriodStart": _iso(f["start"]),
            "referencePeriodEnd": _iso(f["end_exclusive"]),
            **geo,
            "exemptedEmissionsPercent": 0,
            "exemptedEmissionsDescription": "No emissions exempted."
            if not p["lines_unmatched"]
            else f"{p['lines_unmatched']} inventory line(s) without a matching factor are not quantified.",
            "packagingEmissionsIncluded": f["packaging_included"],
            "allocationRulesDescription": alloc,
            "primaryDataShare": round(float(p["primary_data_share"] or 0.0) * 100, 2),
            "dqi": {"coveragePercent": round(f["coverage"], 2), **{f"{k}DQR": to3(v) for k, v in f["dqr"].items()}},
        }
        if f["packaging_included"] and f["packaging"]:
            pcf["packagingGhgEmissions"] = _dec(f["packaging"])
        doc.update(
            {"version": ident["version"], "updated": ident["created"], "productCategoryCpc": f["cpc"]["cpc_code"]}
        )
    else:
        unit = V3_UNITS.get(f["unit_label"])
        if unit is None:
            raise PactDocumentError(f"declared unit {p['declared_unit']!r} cannot be expressed in PACT 3.0")
        mass = p.get("mass_kg_per_declared_unit")
        pcf = {
            "declaredUnitOfMeasurement": unit,
            "declaredUnitAmount": _dec(f["amount"]),
            "productMassPerDeclaredUnit": _dec(mass) if mass else "0",
            "referencePeriodStart": _iso(f["start"]),
            "referencePeriodEnd": _iso(f["end_exclusive"]),
            **geo,
            "boundaryProcessesDescription": boundary,
            "pcfExcludingBiogenicUptake": _dec(max(total - biogenic, 0.0)),
            "pcfIncludingBiogenicUptake": _dec(total),
            "fossilGhgEmissions": _dec(max(float(p["co2e_fossil_and_other_kg"]), 0.0)),
            "fossilCarbonContent": "0",
            "ipccCharacterizationFactors": [p["gwp_set"]],
            "crossSectoralStandards": ["ISO14067"],
            "exemptedEmissionsPercent": "0",
            "exemptedEmissionsDescription": "",
            "packagingEmissionsIncluded": f["packaging_included"],
            "allocationRulesDescription": alloc,
            "primaryDataShare": _dec(round(float(p["primary_data_share"] or 0.0) * 100, 2)),
            "dqi": {
                k: _dec(round(f["dqr"][k.removesuffix("DQR")], 2))
                for k in ("technologicalDQR", "temporalDQR", "geographicalDQR")
            },
        }
        if f["packaging_included"] and f["packaging"]:
            pcf["packagingGhgEmissions"] = _dec(f["packaging"])
        doc["productClassifications"] = [f"urn:pact:productclassification:un-cpc:{f['cpc']['cpc_code']}"]
    if f["secondary"]:
        pcf["secondaryEmissionFactorSources"] = f["secondary"]
    doc["pcf"] = pcf
    bad = problems(doc, spec)
    if bad:
        raise PactDocumentError(f"PACT {spec} document for {product_id} does not conform: " + "; ".join(bad[:8]))
    return doc
