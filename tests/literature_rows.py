"""Helpers to write literature-template files for tests: a valid row, then one field changed."""

from __future__ import annotations

import csv
from pathlib import Path

from pipelines.sources.literature import ALL_COLUMNS

VALID = {
    "record_id": "t-001",
    "name_zh": "测试因子",
    "name_en": "test factor",
    "classification_scheme": "LIT",
    "classification_code": "x",
    "activity_category": "material",
    "activity_key": "",
    "factor_purpose": "life_cycle",
    "unit": "kg",
    "co2e_kg": "2.5",
    "published_gwp_set": "AR6",
    "co2_fossil_kg": "",
    "co2_biogenic_kg": "",
    "ch4_fossil_kg": "",
    "ch4_biogenic_kg": "",
    "n2o_kg": "",
    "geography": "CN",
    "reference_year": "2022",
    "valid_from": "",
    "valid_to": "",
    "technology": "",
    "system_boundary": "cradle_to_gate",
    "data_type": "secondary",
    "publisher": "Test Institute",
    "document": "Test report",
    "locator": "Table 1",
    "doi_or_url": "10.1234/test.1",
    "publication_date": "2023",
    "licence": "CC-BY-4.0",
    "gsd2": "",
    "removal": "",
    "redistributable": "true",
    "dq_reliability": "3",
    "dq_completeness": "2",
    "dq_technological": "3",
}


def write_rows(path: Path, rows: list[dict], columns: list[str] | None = None, encoding: str = "utf-8") -> Path:
    columns = columns or ALL_COLUMNS
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding=encoding) as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            writer.writerow({c: r.get(c, "") for c in columns})
    return path


def row(**changes) -> dict:
    return {**VALID, **changes}


from pipelines.sources.literature import REQUIRED as REQUIRED_ONLY  # noqa: E402, F401  (re-exported)
