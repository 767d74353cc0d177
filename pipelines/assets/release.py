"""Publish an immutable release (Parquet + manifest) and refresh the SQL catalogue."""


import dagster as dg

from pipelines.config import settings
from pipelines.release import publish


@dg.asset(
    group_name="release",
    kinds={"parquet", "duckdb"},
    tags={"layer": "release"},
    description="Immutable versioned release under data/curated/releases/, exposed as schema `latest` (and one "
                "schema per release) in data/curated/warehouse.duckdb. No new release when nothing changed.",
)
def factor_release(context: dg.AssetExecutionContext, harmonised_factors: dict, product_marts: dict) -> dict:
    tables = {**harmonised_factors["tables"], **(product_marts or {})}
    result = publish(settings(), tables, harmonised_factors["summary"], harmonised_factors["sources"])
    context.add_output_metadata({
        "version": result.version, "published": result.published, "reason": result.reason,
        "release_hash": result.manifest["release_hash"],
        "tables": dg.MetadataValue.json({k: v["rows"] for k, v in result.manifest["tables"].items()}),
    })
    context.log.info(f"release {result.version}: {result.reason}")
    return {"version": result.version, "published": result.published, "reason": result.reason}
