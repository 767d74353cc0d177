"""Publish an immutable release (Parquet + manifest) and refresh the SQL catalogue."""

import dagster as dg

from pipelines.release.publish import diff, publish
from pipelines.resources import WarehouseResource

WRITER_POOL = "pcf_warehouse_writer"  # one writer at a time (dagster.yaml: concurrency pools default limit 1)


@dg.asset(
    group_name="release",
    kinds={"parquet", "duckdb"},
    tags={"layer": "release"},
    pool=WRITER_POOL,
    description="Immutable versioned release under data/curated/releases/, exposed as schema `latest` (and one "
    "schema per release) in data/curated/warehouse.duckdb. No new release when nothing changed.",
)
def factor_release(
    context: dg.AssetExecutionContext, curated_factors: dict, product_marts: dict, warehouse: WarehouseResource
) -> dict:
    s = warehouse.settings()
    tables = {**curated_factors["tables"], **(product_marts or {})}
    result = publish(s, tables, curated_factors["summary"], curated_factors["sources"])
    changes = {}
    if result.published and result.manifest.get("parent_version"):
        d = diff(s, result.manifest["parent_version"], result.version)
        changes = {k: v.height for k, v in d.items()}
    elif result.published:
        changes = {"added": tables["factor"].height, "removed": 0, "changed": 0}
    context.add_output_metadata(
        {
            "version": result.version,
            "published": result.published,
            "reason": result.reason,
            "release_hash": result.manifest["release_hash"],
            "tables": dg.MetadataValue.json({k: v["rows"] for k, v in result.manifest["tables"].items()}),
            "factors_changed": dg.MetadataValue.json(changes),
        }
    )
    context.log.info(f"release {result.version}: {result.reason}")
    return {"version": result.version, "published": result.published, "reason": result.reason}
