"""The official PACT OpenAPI documents, read where they are (PCF_PACT_SPEC_DIR, default
../shared/reference/pact: the WBCSD licence allows exact copies to be shared only unmodified, so the
project reads them in place and ships none), and validators derived from them at run time.

- `validator(spec)`: JSON Schema 2020-12 (with format checks) for `components/schemas/ProductFootprint`
  of the 2.3.2 file (v2.3: strict decimals) or the 3.0.3 file (v3.0), `$ref`s resolved inside the document.
- `spec_rule_problems(doc, spec)`: what the spec text requires and the schema does not check
  (../shared/reference/standards.md): `id` a UUID v4, UTC timestamps ending in Z, the fields mandatory from
  reference year 2025, DQRs in range, at most one geography field, `secondaryEmissionFactorSources` with
  name and version.
"""

from __future__ import annotations

import re
import uuid
from functools import lru_cache
from pathlib import Path

import jsonschema
import yaml

FILES = {"2.3": "v2.3/openapi-2.3.2.yaml", "3.0": "v3.0/openapi-3.0.3.yaml"}
SPEC_VERSIONS = {"2.3": "2.3.0", "3.0": "3.0.0"}
UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


class PactSpecError(ValueError):
    pass


def spec_dir() -> Path:
    from pipelines.config import settings

    return settings().pact_spec_dir


@lru_cache(maxsize=4)
def openapi(spec: str, directory: str | None = None) -> dict:
    if spec not in FILES:
        raise PactSpecError(f"spec version {spec!r}: expected one of {', '.join(FILES)}")
    path = Path(directory or spec_dir()) / FILES[spec]
    if not path.is_file():
        raise PactSpecError(f"the official PACT OpenAPI file {path} is missing (PCF_PACT_SPEC_DIR)")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=8)
def validator(spec: str, component: str = "ProductFootprint", directory: str | None = None):
    doc = openapi(spec, directory)
    if component not in doc["components"]["schemas"]:
        raise PactSpecError(f"{component} is not a schema of the {spec} OpenAPI document")
    root = {
        **doc,
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": f"#/components/schemas/{component}",
    }
    return jsonschema.Draft202012Validator(root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def schema_problems(document: dict, spec: str, component: str = "ProductFootprint") -> list[str]:
    errors = sorted(validator(spec, component).iter_errors(document), key=lambda e: list(e.path))
    return [f"{'/'.join(map(str, e.path)) or '(document)'}: {e.message}" for e in errors]


def spec_rule_problems(doc: dict, spec: str) -> list[str]:
    out = []
    try:
        if uuid.UUID(doc.get("id", "")).version != 4:
            out.append("id: must be a UUID v4")
    except ValueError:
        out.append("id: not a UUID")
    pcf = doc.get("pcf") or {}
    stamps = [
        ("created", doc.get("created")),
        ("updated", doc.get("updated")),
        ("pcf/referencePeriodStart", pcf.get("referencePeriodStart")),
        ("pcf/referencePeriodEnd", pcf.get("referencePeriodEnd")),
    ]
    out += [f"{k}: {v!r} is not an ISO 8601 UTC timestamp ending in Z" for k, v in stamps if v and not UTC.match(v)]
    geo = [k for k in ("geographyCountry", "geographyCountrySubdivision", "geographyRegionOrSubregion") if k in pcf]
    if len(geo) > 1:
        out.append(f"pcf: more than one geography field ({', '.join(geo)})")
    for s in pcf.get("secondaryEmissionFactorSources") or []:
        if not s.get("name") or not s.get("version"):
            out.append("pcf/secondaryEmissionFactorSources: every source needs name and version")
    year = int((pcf.get("referencePeriodStart") or "0000")[:4] or 0)
    if spec == "2.3" and year >= 2025:
        mandatory = [
            "pCfIncludingBiogenic",
            "dLucGhgEmissions",
            "landManagementGhgEmissions",
            "otherBiogenicGhgEmissions",
            "biogenicCarbonWithdrawal",
            "biogenicAccountingMethodology",
            "primaryDataShare",
            "dqi",
        ]
        out += [f"pcf/{k}: mandatory from reference year 2025" for k in mandatory if k not in pcf]
        dqi = pcf.get("dqi") or {}
        need = [
            "coveragePercent",
            "technologicalDQR",
            "temporalDQR",
            "geographicalDQR",
            "completenessDQR",
            "reliabilityDQR",
        ]
        out += [f"pcf/dqi/{k}: mandatory from reference year 2025" for k in need if "dqi" in pcf and k not in dqi]
    if spec == "2.3":
        for k, v in (pcf.get("dqi") or {}).items():
            if k.endswith("DQR") and not (1 <= float(v) <= 3):
                out.append(f"pcf/dqi/{k}: {v} outside 1..3")
    if spec == "3.0":
        for k, v in (pcf.get("dqi") or {}).items():
            if k.endswith("DQR") and not (1 <= float(v) <= 5):
                out.append(f"pcf/dqi/{k}: {v} outside 1..5")
    return out


def problems(document: dict, spec: str) -> list[str]:
    return schema_problems(document, spec) + spec_rule_problems(document, spec)
