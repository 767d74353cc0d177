"""One Dagster asset per source: reads its raw files (content-hashed) and stages candidate factors."""

import datetime as dt

import dagster as dg
import polars as pl

from pipelines.common.parts import lazy
from pipelines.factors.freshness import assess
from pipelines.factors.warehouse import load_source, source_root
from pipelines.resources import WarehouseResource
from pipelines.sources import SOURCES
from pipelines.sources.base import SourceBatch


def _source_asset(source_id: str) -> dg.AssetsDefinition:
    spec = SOURCES[source_id].SPEC

    @dg.asset(
        name=source_id,
        group_name="sources",
        kinds={"polars"},
        description=f"{spec.title}. Licence: {spec.licence}.",
        metadata={
            "licence": spec.licence,
            "redistributable": spec.redistributable,
            "location": spec.location,
            "expected_refresh_days": spec.expected_refresh_days,
        },
        tags={"layer": "raw"},
    )
    def _load(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> SourceBatch:
        s = warehouse.settings()
        batch = load_source(source_id, s)
        errors = lazy(batch.staged).filter(pl.col("error_rule").is_not_null()).select(pl.len()).collect().item()
        context.add_output_metadata(
            {
                "status": batch.status,
                "message": batch.message or "",
                "root": str(source_root(source_id, s)),
                "source_version": batch.source_record()["source_version"],
                "raw_files": batch.raw_files.height,
                "raw_rows": int(batch.raw_files["rows"].sum() or 0),
                "staged_rows": batch.staged.height,
                "unreadable_rows": errors,
                "file_sha256": dg.MetadataValue.json(dict(batch.raw_files.select("raw_file", "raw_sha256").rows())),
            }
        )
        if batch.status == "missing":
            context.log.warning(batch.message)
        return batch

    return _load


source_assets = [_source_asset(source_id) for source_id in SOURCES]


def _freshness_check(source_id: str) -> dg.AssetChecksDefinition:
    spec = SOURCES[source_id].SPEC

    @dg.asset_check(
        asset=source_id,
        name="freshness",
        blocking=False,
        description=f"Refreshed within {spec.expected_refresh_days} days (pipelines/factors/freshness.py); warns only.",
    )
    def _check(context: dg.AssetCheckExecutionContext, **batches: SourceBatch) -> dg.AssetCheckResult:
        batch = next(iter(batches.values()))
        result = assess(batch, dt.date.today())
        return dg.AssetCheckResult(
            passed=result["passed"],
            severity=dg.AssetCheckSeverity.WARN,
            description=result["reason"],
            metadata={k: v for k, v in result.items() if k != "passed" and v is not None},
        )

    return _check


freshness_checks = [_freshness_check(source_id) for source_id in SOURCES]
