"""Harmonised -> curated factors: the stewards' decision log applied, the review queue written, and the
licence gate (a steward can approve a factor for use, never a non-redistributable one for export)."""

from typing import Any

import dagster as dg
import polars as pl

from pipelines.common.parts import lazy
from pipelines.curation.decisions import DecisionError
from pipelines.curation.guard import GUARD_SCHEMA
from pipelines.curation.run import curate
from pipelines.resources import WarehouseResource


@dg.asset(
    group_name="factors",
    kinds={"polars", "duckdb"},
    tags={"layer": "curated"},
    description="Factors with the stewards' decisions (data/raw/curation/decisions.jsonl) applied: approve, "
    "reject, override (value, reason, source), deprecate; a decision whose factor changed since is "
    "not applied (the factor returns to pending). Writes the review queue (data/curated/review/).",
)
def curated_factors(context: dg.AssetExecutionContext, harmonised_factors: dict, warehouse: WarehouseResource) -> dict:
    s = warehouse.settings()
    try:
        curated = curate(s, harmonised_factors)
    except DecisionError as exc:
        raise dg.Failure(str(exc)) from None
    summary, queue = curated["summary"], curated["review_queue"]
    flags = lazy(queue).select(pl.col("flags").str.split(", ").explode()).filter(pl.col("flags") != "").collect()
    context.add_output_metadata(
        {
            "review_queue": queue.height,
            "decisions_applied": summary["decisions_applied"],
            "decisions_stale": summary["decisions_stale"],
            "review_page": dg.MetadataValue.path(str(curated["review_page"])),
            "queue_by_flag": dg.MetadataValue.json(dict(sorted(flags.group_by("flags").len().rows()))),
            "steward_status": dg.MetadataValue.json(summary["steward_status"]),
        }
    )
    return {k: v for k, v in curated.items() if k != "review_page"}


@dg.asset_check(
    asset=curated_factors,
    blocking=True,
    description="No factor whose licence forbids redistribution is marked approved (for export).",
)
def licence_gate(
    context: dg.AssetCheckExecutionContext, curated_factors: dict, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    bad = (
        lazy(curated_factors["tables"]["factor"])
        .filter(~pl.col("redistributable") & (pl.col("steward_status") == "approved"))
        .select("factor_id")
        .collect()
    )
    result = dg.AssetCheckResult(
        passed=bad.height == 0,
        metadata={"violations": bad.height, "factor_ids": dg.MetadataValue.json(bad["factor_id"].head(50).to_list())},
    )
    return result


@dg.asset_check(
    asset=curated_factors,
    blocking=True,
    description="Release guard: no source loses or changes more than PCF_RELEASE_GUARD_SHARE of its factors "
    "(or disappears) against the current release unless a steward approved that change "
    "(`pcf approve --change SOURCE`). pipelines/curation/guard.py.",
)
def release_guard(
    context: dg.AssetCheckExecutionContext, curated_factors: dict, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    guard: pl.DataFrame = curated_factors.get("release_guard", pl.DataFrame(schema=GUARD_SCHEMA))
    held = guard.filter(pl.col("held"))
    summaries = held["summary"].to_list()
    meta: dict[str, Any] = {"held": held.height, "changes": dg.MetadataValue.json(guard.drop("signature").to_dicts())}
    return dg.AssetCheckResult(
        passed=held.height == 0,
        metadata=meta,
        description=None
        if held.height == 0
        else "held for a steward (pcf review --flag release.guard; pcf approve|reject --change SOURCE): "
        + " | ".join(summaries),
    )


curation_checks = [licence_gate, release_guard]
