"""The factor pipeline as plain functions (the Dagster assets call these; tests and benchmarks too):
load a source -> stage -> validate -> harmonise -> release tables -> conservation -> publish."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipelines import geography, gwp
from pipelines.config import Settings
from pipelines.harmonise import harmonise
from pipelines.schema import QUARANTINE_SCHEMA
from pipelines.sources import SOURCES
from pipelines.sources.base import RAW_FILE_SCHEMA, SourceBatch
from pipelines.validation import validate


def source_root(source_id: str, settings: Settings) -> Path:
    return settings.raw_dir if SOURCES[source_id].SPEC.location == "embedded" else settings.sources_dir


def load_source(source_id: str, settings: Settings) -> SourceBatch:
    return SOURCES[source_id].load(source_root(source_id, settings))


def conservation(raw_files: pl.DataFrame, lineage: pl.DataFrame, quarantine_lineage: pl.DataFrame) -> dict:
    """Counted conservation: every raw row is curated (feeds a factor) or quarantined, none lost."""
    raw_rows = int(raw_files["rows"].sum() or 0)
    curated = lineage.select("raw_sha256", "raw_row").unique()
    quarantined = quarantine_lineage.select("raw_sha256", "raw_row").unique().join(
        curated, on=["raw_sha256", "raw_row"], how="anti")
    return {"raw_rows": raw_rows, "curated_raw_rows": curated.height, "quarantined_raw_rows": quarantined.height,
            "balanced": raw_rows == curated.height + quarantined.height}


def build_tables(batches: list[SourceBatch], settings: Settings) -> tuple[dict[str, pl.DataFrame], dict]:
    staged = pl.concat([b.staged for b in batches]) if batches else pl.DataFrame()
    checked = validate(staged, settings.gwp_set, settings.assessment_year)
    result = harmonise(checked.passed, settings.gwp_set, settings.assessment_year)
    quarantine_lineage = checked.quarantine_lineage.explode("lineage").unnest("lineage").drop_nulls("raw_row")  # type: ignore[attr-defined]
    raw_files = pl.concat([b.raw_files for b in batches]).sort("raw_file") if batches else pl.DataFrame(schema=RAW_FILE_SCHEMA)
    sources = pl.DataFrame([b.source_record() for b in batches]).sort("source_id")
    balance = conservation(raw_files, result.factor_lineage, quarantine_lineage)
    fuel = [b.extras["fuel_property"] for b in batches if "fuel_property" in b.extras and b.extras["fuel_property"].height]
    tables = {
        "factor": result.factor,
        "factor_gas": result.factor_gas,
        "factor_lineage": result.factor_lineage,
        "quarantine": checked.quarantine.sort("source_id", "raw_file", "raw_row", "natural_key", "rule_id",
                                              nulls_last=True).cast(QUARANTINE_SCHEMA),  # type: ignore[arg-type]
        "source": sources,
        "raw_file": raw_files,
        "gwp": pl.DataFrame(gwp.table_rows()),
        "geography": pl.DataFrame(geography.table_rows()),
        "fuel_property": pl.concat(fuel) if fuel else pl.DataFrame({"fuel_zh": []}, schema={"fuel_zh": pl.String}),
    }
    summary = {
        "gwp_set": settings.gwp_set,
        "assessment_year": settings.assessment_year,
        **balance,
        "staged_rows": staged.height,
        "factors": result.factor.height,
        "quarantined_rows": checked.quarantine.height,
        "quarantine_by_rule": dict(sorted(checked.quarantine.group_by("rule_id").len().rows())),
        "outliers_flagged": int(result.factor["qa_flags"].str.contains("outlier.cross_source").sum() or 0),
    }
    return tables, summary


def source_manifest(batches: list[SourceBatch]) -> list[dict]:
    return [
        {"source_id": b.spec.source_id, "source_version": b.source_record()["source_version"], "status": b.status,
         "licence": b.spec.licence, "redistributable": b.spec.redistributable,
         "files": [{"raw_file": f, "sha256": s} for f, s in b.raw_files.select("raw_file", "raw_sha256").rows()]}
        for b in sorted(batches, key=lambda b: b.spec.source_id)
    ]
