"""The factor pipeline as plain functions (the Dagster assets call these; tests and benchmarks too):
load a source -> stage -> validate -> harmonise -> release tables -> conservation -> publish."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.common import geography, gwp
from pipelines.common.parts import Parts, chunks, lazy, scratch_dir
from pipelines.config import Settings
from pipelines.factors.harmonise import harmonise
from pipelines.factors.schema import IMPORT_ISSUE_SCHEMA, QUARANTINE_SCHEMA, STAGED_SCHEMA
from pipelines.factors.streaming import harmonise_in_chunks, validate_in_chunks
from pipelines.factors.validation import ValidationResult, validate
from pipelines.sources import SOURCES
from pipelines.sources.base import RAW_FILE_SCHEMA, SourceBatch


def source_root(source_id: str, settings: Settings) -> Path:
    return settings.raw_dir if SOURCES[source_id].SPEC.location == "embedded" else settings.sources_dir


def load_source(source_id: str, settings: Settings) -> SourceBatch:
    """Stage one source (the slow, pure ones from the stage cache when nothing they read changed)."""
    from pipelines.sources.stage_cache import cached_load

    root = source_root(source_id, settings)
    module = SOURCES[source_id]
    return cached_load(
        source_id, module.SPEC.dir_glob, root, settings.asset_store_dir / "stage_cache", lambda: module.load(root)
    )


def conservation(raw_files: pl.DataFrame, lineage: pl.DataFrame | Parts, quarantine_lineage: pl.DataFrame) -> dict:
    """Counted conservation: every raw row is curated (feeds a factor) or quarantined, none lost. The lineage
    of millions of factors (parts) is read a part at a time, two columns."""
    raw_rows = int(raw_files["rows"].sum() or 0)
    # A raw row is (file hash, row number); the few file hashes are numbered so that the key is one
    # integer (distinct over 1,000,000 integers: 3 ms; over (string, integer) pairs: 65 ms).
    files = (
        pl.concat(
            [
                *(f["raw_sha256"].unique() for f in chunks(lineage, columns=["raw_sha256"])),
                quarantine_lineage["raw_sha256"].unique(),
            ]
        )
        .unique()
        .sort()
    )
    codes = dict(zip(files.to_list(), range(len(files))))

    def row_keys(frame: pl.DataFrame) -> pl.Series:
        return (
            frame.select(
                pl.col("raw_sha256").replace_strict(codes, return_dtype=pl.Int64) * (1 << 32)
                + pl.col("raw_row").cast(pl.Int64)
            )
            .to_series()
            .unique()
        )

    curated = pl.concat([row_keys(f) for f in chunks(lineage, columns=["raw_sha256", "raw_row"])]).unique()
    quarantined = row_keys(quarantine_lineage)
    quarantined = quarantined.filter(~quarantined.is_in(curated))
    return {
        "raw_rows": raw_rows,
        "curated_raw_rows": curated.len(),
        "quarantined_raw_rows": quarantined.len(),
        "balanced": raw_rows == curated.len() + quarantined.len(),
    }


@dataclass
class Validated:
    """Output of the validation step: what passed, what was quarantined, and the raw-file records."""

    passed: pl.DataFrame | Parts  # Parts: a source larger than a chunk (PCF_FACTOR_CHUNK_ROWS)
    quarantine: pl.DataFrame
    quarantine_lineage: pl.DataFrame
    raw_files: pl.DataFrame
    sources: pl.DataFrame
    source_manifest: list[dict]
    fuel_property: pl.DataFrame
    import_issue: pl.DataFrame  # exchange-level quarantine of imported archives (ILCD)
    staged_rows: int
    gwp_set: str
    assessment_year: int


def streamed(batches: list[SourceBatch], settings: Settings) -> bool:
    """The factor path runs a chunk at a time when a source came as parts or the rows exceed one chunk."""
    chunk = settings.factor_chunk_rows
    return chunk > 0 and (
        any(isinstance(b.staged, Parts) for b in batches) or sum(b.staged.height for b in batches) > chunk
    )


def validate_batches(batches: list[SourceBatch], settings: Settings) -> Validated:
    if streamed(batches, settings):
        passed, quarantine, quarantine_lineage, staged_rows = validate_in_chunks(
            [b.staged for b in batches],
            settings.gwp_set,
            settings.assessment_year,
            settings.factor_chunk_rows,
            scratch_dir(settings.asset_store_dir),
        )
        checked = ValidationResult(passed, quarantine, quarantine_lineage)  # type: ignore[arg-type]
    else:
        staged = pl.concat([b.staged for b in batches]) if batches else pl.DataFrame(schema=STAGED_SCHEMA)
        checked = validate(staged, settings.gwp_set, settings.assessment_year)
        staged_rows = staged.height
    raw_files = (
        pl.concat([b.raw_files for b in batches]).sort("raw_file") if batches else pl.DataFrame(schema=RAW_FILE_SCHEMA)
    )
    fuel = [
        b.extras["fuel_property"] for b in batches if "fuel_property" in b.extras and b.extras["fuel_property"].height
    ]
    issues = [
        b.extras["import_issue"] for b in batches if "import_issue" in b.extras and b.extras["import_issue"].height
    ]
    return Validated(
        passed=checked.passed,
        quarantine=checked.quarantine,
        quarantine_lineage=checked.quarantine_lineage.explode("lineage").unnest("lineage").drop_nulls("raw_row"),
        raw_files=raw_files,
        sources=pl.DataFrame([b.source_record() for b in batches]).sort("source_id"),
        source_manifest=source_manifest(batches),
        fuel_property=pl.concat(fuel) if fuel else pl.DataFrame({"fuel_zh": []}, schema={"fuel_zh": pl.String}),
        import_issue=pl.concat(issues) if issues else pl.DataFrame(schema=IMPORT_ISSUE_SCHEMA),
        staged_rows=staged_rows,
        gwp_set=settings.gwp_set,
        assessment_year=settings.assessment_year,
    )


def assemble_tables(v: Validated) -> tuple[dict[str, pl.DataFrame | Parts], dict]:
    if isinstance(v.passed, Parts):
        from pipelines.config import settings

        result = harmonise_in_chunks(v.passed, v.gwp_set, v.assessment_year, scratch_dir(settings().asset_store_dir))
    else:
        result = harmonise(v.passed, v.gwp_set, v.assessment_year)
    balance = conservation(v.raw_files, result.factor_lineage, v.quarantine_lineage)
    tables: dict[str, pl.DataFrame | Parts] = {
        "factor": result.factor,
        "factor_gas": result.factor_gas,
        "factor_lineage": result.factor_lineage,
        "quarantine": v.quarantine.sort(
            "source_id", "raw_file", "raw_row", "natural_key", "rule_id", nulls_last=True
        ).cast(QUARANTINE_SCHEMA),  # type: ignore[arg-type]
        "source": v.sources,
        "raw_file": v.raw_files,
        "gwp": pl.DataFrame(gwp.table_rows()),
        "geography": pl.DataFrame(geography.table_rows()),
        "fuel_property": v.fuel_property,
        "import_issue": v.import_issue,
    }
    summary = {
        "gwp_set": v.gwp_set,
        "assessment_year": v.assessment_year,
        **balance,
        "staged_rows": v.staged_rows,
        "factors": result.factor.height,
        "quarantined_rows": v.quarantine.height,
        "quarantine_by_rule": dict(sorted(v.quarantine.group_by("rule_id").len().rows())),
        "outliers_flagged": int(
            lazy(result.factor).select(pl.col("qa_flags").str.contains("outlier.cross_source").sum()).collect().item()
            or 0
        ),
    }
    return tables, summary


def build_tables(batches: list[SourceBatch], settings: Settings) -> tuple[dict[str, pl.DataFrame | Parts], dict]:
    return assemble_tables(validate_batches(batches, settings))


def source_manifest(batches: list[SourceBatch]) -> list[dict]:
    return [
        {
            "source_id": b.spec.source_id,
            "source_version": b.source_record()["source_version"],
            "status": b.status,
            "edition": b.edition,
            "edition_meta": b.edition_meta,
            "authority": b.spec.authority,
            "message": b.message,
            "licence": b.spec.licence,
            "redistributable": b.spec.redistributable,
            "files": [{"raw_file": f, "sha256": s} for f, s in b.raw_files.select("raw_file", "raw_sha256").rows()],
        }
        for b in sorted(batches, key=lambda b: b.spec.source_id)
    ]
