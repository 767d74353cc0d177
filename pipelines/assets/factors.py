"""Validated -> harmonised factor tables, with the Great Expectations suites and the conservation count
as asset checks (critical ones blocking: the release is not published when they fail)."""

import dataclasses

import dagster as dg

from pipelines.config import GWP_SETS
from pipelines.factors.expectations import load_suites, run_suite_kept
from pipelines.factors.warehouse import Validated, assemble_tables, validate_batches
from pipelines.resources import WarehouseResource
from pipelines.sources import SOURCES
from pipelines.sources.base import SourceBatch


def _refuse_damaged_base(context, s) -> None:
    """Every run builds on the current release: verify it first and refuse to build on a damaged one (a clear run
    failure naming the damaged files); a catalogue that disagrees with the manifests is rebuilt (logged)."""
    from pipelines.release.catalog import ensure_catalog
    from pipelines.release.publish import latest_release
    from pipelines.release.verify import verify

    latest = latest_release(s)
    if latest is not None:
        verdict = verify(s, latest["version"])
        damaged = [p for p in verdict.problems if "warehouse.duckdb" not in p and "decisions" not in p]
        if damaged:
            raise dg.Failure(
                f"release {latest['version']} is damaged; not building on it: "
                + " | ".join(damaged)
                + " (pcf verify --repair, docs/architecture.md Recovery)"
            )
    why = ensure_catalog(s)
    if why:
        context.log.warning(f"catalogue rebuilt from the manifests: {why}")


class FactorRunConfig(dg.Config):
    """Per-run choices (Dagster run config); empty means the PCF_* environment / defaults."""

    gwp_set: str = ""


@dg.asset(
    group_name="factors",
    kinds={"polars"},
    ins={source_id: dg.AssetIn(source_id) for source_id in SOURCES},
    tags={"layer": "validated"},
    description="Every staged row from every source, split into passed rows and quarantine (one rule and "
    "message per row). Validation rules: pipelines/factors/validation.py, docs/validation_rules.md.",
)
def validated_factors(
    context: dg.AssetExecutionContext, config: FactorRunConfig, warehouse: WarehouseResource, **batches: SourceBatch
) -> Validated:
    s = warehouse.settings()
    _refuse_damaged_base(context, s)
    if config.gwp_set:
        if config.gwp_set.upper() not in GWP_SETS:
            raise dg.Failure(f"gwp_set {config.gwp_set!r}: expected one of {GWP_SETS}")
        s = dataclasses.replace(s, gwp_set=config.gwp_set.upper())
    result = validate_batches([batches[k] for k in SOURCES], s)
    context.add_output_metadata(
        {
            "staged_rows": result.staged_rows,
            "passed": result.passed.height,
            "quarantined": result.quarantine.height,
            "gwp_set": result.gwp_set,
            "quarantine_by_rule": dg.MetadataValue.json(dict(result.quarantine.group_by("rule_id").len().rows())),
        }
    )
    return result


@dg.asset(
    group_name="factors",
    kinds={"polars", "duckdb"},
    tags={"layer": "harmonised"},
    description="Release tables: factor (canonical record), factor_gas, factor_lineage, quarantine, source, "
    "raw_file, gwp, geography, fuel_property. Units, geography, gases and GWP harmonised.",
)
def harmonised_factors(
    context: dg.AssetExecutionContext, validated_factors: Validated, warehouse: WarehouseResource
) -> dict:
    tables, summary = assemble_tables(validated_factors)
    context.add_output_metadata(
        {
            "factors": tables["factor"].height,
            "quarantined": tables["quarantine"].height,
            "raw_rows": summary["raw_rows"],
            "curated_raw_rows": summary["curated_raw_rows"],
            "quarantined_raw_rows": summary["quarantined_raw_rows"],
            "balanced": summary["balanced"],
            "outliers_flagged": summary["outliers_flagged"],
        }
    )
    return {"tables": tables, "summary": summary, "sources": validated_factors.source_manifest}


def _suite_check(suite: dict) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=harmonised_factors,
        name=f"ge_{suite['name']}",
        blocking=suite.get("severity") == "critical",
        description=f"Great Expectations suite expectations/{suite['name']}.json on table "
        f"'{suite['table']}' ({suite.get('severity')}).",
    )
    def _check(
        context: dg.AssetCheckExecutionContext, harmonised_factors: dict, warehouse: WarehouseResource
    ) -> dg.AssetCheckResult:
        store = warehouse.settings().asset_store_dir / "suite_verdicts"  # the same table: the same verdict
        result = run_suite_kept(suite, harmonised_factors["tables"][suite["table"]], store)
        return dg.AssetCheckResult(
            passed=result.success,
            severity=dg.AssetCheckSeverity.ERROR if result.severity == "critical" else dg.AssetCheckSeverity.WARN,
            metadata={"evaluated": result.evaluated, "failures": dg.MetadataValue.json(result.failures)},
        )

    return _check


@dg.asset_check(
    asset=harmonised_factors,
    blocking=True,
    description="Counted conservation: raw rows = curated + quarantined, on every run.",
)
def raw_row_conservation(
    context: dg.AssetCheckExecutionContext, harmonised_factors: dict, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    s = harmonised_factors["summary"]
    return dg.AssetCheckResult(
        passed=bool(s["balanced"]),
        metadata={k: s[k] for k in ("raw_rows", "curated_raw_rows", "quarantined_raw_rows")},
        description=None
        if s["balanced"]
        else f"{s['raw_rows'] - s['curated_raw_rows'] - s['quarantined_raw_rows']} raw rows are neither curated nor quarantined",
    )


suite_checks = [_suite_check(s) for s in load_suites()]
factor_checks = [*suite_checks, raw_row_conservation]
