"""`pcf export pact PRODUCT --spec-version 2.3|3.0`: one PACT ProductFootprint document per product,
built by pipelines/pact/documents.py and validated against the official OpenAPI schema of its version
(../shared/reference/pact) and the spec's own rules before it is written (docs/pact.md)."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.config import Settings
from pipelines.pact.documents import PactDocumentError, document
from pipelines.pact.spec import SPEC_VERSIONS, PactSpecError, problems
from pipelines.release.manifests import latest_release


class PactExportError(ValueError):
    pass


def validate(doc: dict, spec: str = "2.3") -> None:
    bad = problems(doc, spec)
    if bad:
        raise PactExportError(f"PACT {spec} ({SPEC_VERSIONS[spec]}): " + "; ".join(bad[:10]))


def export(settings: Settings, product_id: str, out: Path, version: str | None = None, spec: str = "2.3") -> Path:
    version = version or (latest_release(settings) or {}).get("version")
    if version is None:
        raise PactExportError("no release: run `pcf build`")
    try:
        doc = document(settings, version, product_id, spec)
    except (PactDocumentError, PactSpecError) as exc:
        raise PactExportError(str(exc)) from None
    validate(doc, spec)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    from pipelines.reporting.data import output_file

    path = output_file(out, product_id.replace("/", "_").replace(":", "_"), f".pact-{SPEC_VERSIONS[spec]}.json")
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path
