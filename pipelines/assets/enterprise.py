"""Enterprise uploads: one dynamic partition per upload (file path + content hash), a sensor on
data/raw/enterprise/, and the product inventories built from the uploads in force.

Confidential values never go through the IO manager (which writes under data/curated): the assets
write to the restricted zone themselves and return only counts and rule ids as metadata.
"""

import json

import dagster as dg

from pipelines.config import settings
from pipelines.enterprise import matched_cache, store
from pipelines.enterprise.intake import ingest_upload, upload_id_for, upload_ids
from pipelines.enterprise.inventory import build_inventory, in_scope, write_inventory
from pipelines.enterprise.reference_models import load_models

enterprise_upload_partitions = dg.DynamicPartitionsDefinition(name="enterprise_uploads")
UPLOAD_SUFFIXES = (".xlsx", ".xlsm", ".csv")


def partition_key_for(path, upload_id: str | None = None) -> str:
    """'<path under data/raw/enterprise>@<first 12 hex of its SHA-256>': a corrected file under the same
    name is a new partition, and the old one stays in the history."""
    s = settings()
    rel = path.resolve().relative_to(s.enterprise_raw_dir.resolve()).as_posix()
    return f"{rel}@{(upload_id or upload_id_for(path)[0])[:12]}"


def upload_files() -> list:
    root = settings().enterprise_raw_dir
    if not root.is_dir():
        return []
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() in UPLOAD_SUFFIXES and not p.name.startswith((".", "~$"))
    )


@dg.asset(
    partitions_def=enterprise_upload_partitions,
    group_name="enterprise",
    kinds={"excel", "parquet"},
    tags={"layer": "restricted"},
    description="One enterprise upload checked line by line: accepted lines to the restricted zone "
    "(data/restricted/), rejected ones to its quarantine with sheet, row, column, rule and a "
    "message in Chinese and English.",
)
def enterprise_upload(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    s = settings()
    rel, _, digest = context.partition_key.rpartition("@")
    path = s.enterprise_raw_dir / rel
    if not path.exists() or upload_id_for(path)[0][:12] != digest:
        known = [e for e in store.registry(s) if e["upload_id"].startswith(digest)]
        if known:
            return dg.MaterializeResult(
                metadata={"status": known[0]["status"], "note": "already ingested; file since replaced"}
            )
        raise dg.Failure(
            f"{rel}: the file changed or disappeared since the sensor saw it (expected content "
            f"{digest}); the sensor will pick up the new version"
        )
    result = ingest_upload(path, s)
    rules: dict[str, int] = {}
    for issue in result.quarantine:
        rules[issue.rule] = rules.get(issue.rule, 0) + 1
    context.log.info(
        f"{rel}: {result.status}, {result.accepted_lines} lines accepted, {len(result.quarantine)} quarantined"
    )
    return dg.MaterializeResult(
        metadata={
            "upload_id": result.upload_id,
            "status": result.status,
            "rows_read": result.rows_read,
            "accepted": dg.MetadataValue.json(result.accepted),
            "quarantined": len(result.quarantine),
            "quarantine_by_rule": dg.MetadataValue.json(dict(sorted(rules.items()))),
            "notices": len(result.notices),
            "already_ingested": result.already_ingested,
        }
    )


@dg.asset(
    deps=[enterprise_upload],
    group_name="enterprise",
    kinds={"parquet"},
    tags={"layer": "restricted"},
    description="Per product of the uploads in force: lines allocated, matched to the harmonised factors "
    "(the release being built), per declared unit, with primary data share and pedigree scores "
    "(restricted zone; metadata holds counts only).",
)
def enterprise_inventory(context: dg.AssetExecutionContext, curated_factors: dict) -> dg.MaterializeResult:
    s = settings()
    tables = build_inventory(
        s,
        curated_factors["tables"]["factor"],
        None,
        curated_factors["summary"]["gwp_set"],
        curated_factors["tables"].get("fuel_property"),
        cache=True,  # enterprises whose uploads and factors did not change are not matched again
    )
    # the matched lines were just kept for the next build: the inventory's line table is the same file
    write_inventory(s, tables, same_as={"line_emissions": matched_cache.lines_path(s)})
    summary = tables["product_summary"]
    models = load_models(s.models_dir)
    for err in models.errors:  # a bad model file is skipped whole; the others and the uploads go on
        context.log.error(f"reference model skipped: {err}")
    return dg.MaterializeResult(
        metadata={
            "reference_model_files": dg.MetadataValue.json(models.files),
            "reference_model_errors": dg.MetadataValue.json([str(e) for e in models.errors]),
            "uploads_in_force": len(store.current_uploads(s)),
            "products": summary.height,
            "lines": tables["line_emissions"].height,
            "lines_unmatched": int(summary["lines_unmatched"].sum()) if summary.height else 0,
            "lines_text_matched": int((tables["line_emissions"]["match_method"] == "text_match").sum())
            if tables["line_emissions"].height
            else 0,
            "mapping_queue": tables["mapping_queue"].height,
        }
    )


@dg.asset(
    deps=[enterprise_inventory],
    group_name="footprints",
    kinds={"scipy", "duckdb"},
    tags={"layer": "marts"},
    description="The network of enterprise products, factors and suppliers solved for every product at once "
    "(sparse adjoint solve), a seeded Monte Carlo, and the SQL marts in sql/marts/ "
    "(product_footprint, _stage, _gas, product_contribution, product_benchmark) for the release.",
)
def product_marts(context: dg.AssetExecutionContext, curated_factors: dict) -> dict:
    from pipelines.common.parts import scratch_dir
    from pipelines.engine.incremental import (
        load_state,
        merge_with_previous,
        previous_marts,
        recomputed_only,
        reusable,
        save_state,
    )
    from pipelines.engine.isolation import compute_isolated
    from pipelines.engine.marts import build_marts
    from pipelines.release.publish import latest_release, release_dir, release_parts

    s = settings()
    inv = s.restricted_dir / "inventory"
    if not (inv / "line_emissions.parquet").exists():
        context.log.info("no enterprise products in force: no product marts")
        return {}
    import polars as pl

    from pipelines.common.parts import lazy

    lines = pl.read_parquet(inv / "line_emissions.parquet")
    summary = pl.read_parquet(inv / "product_summary.parquet")
    products = in_scope(s, ("product",))["product"].join(
        summary.select("uscc", "product_id"), on=["uscc", "product_id"]
    )
    tables = curated_factors["tables"]
    latest = latest_release(s)
    previous = previous_marts(release_dir(s, latest["version"]) if latest else None)
    # products whose inputs fingerprint equals the previous release's get no Monte Carlo and no mart SQL:
    # their rows are carried over (engine/incremental.py)
    reuse = reusable(previous)
    # the engine reads only the factors the lines drew on (a release of millions of factors is not read whole)
    used = lines["factor_id"].drop_nulls().unique().implode()
    engine, held = compute_isolated(
        lines,
        products,
        summary,
        lazy(tables["factor"]).filter(pl.col("factor_id").is_in(used)).collect(),
        lazy(tables["factor_gas"]).filter(pl.col("factor_id").is_in(used)).collect(),
        curated_factors["summary"]["gwp_set"],
        reuse=reuse,
        kept=load_state(s),  # only the products whose closure changed since the last build are digested
    )
    save_state(s, engine.get("fingerprint_state") if engine else None)
    # lines drawing on other enterprise products now carry their CO2e; held products and why, for the
    # enterprise and the stewards (restricted zone only)
    resolved = dict(engine["inventory"]) if engine else {}
    for name, before in (("line_emissions", lines), ("product_summary", summary)):
        # no linked line, none held: the same frame (or equal rows), already on disk
        if name in resolved and (resolved[name] is before or resolved[name].equals(before)):
            del resolved[name]
    write_inventory(s, {**resolved, "product_hold": held})
    if held.height:
        context.log.warning(
            f"{held.height} product(s) held (not published): "
            + "; ".join(f"{k}: {r}" for k, r in held.select("product_key", "reason").head(5).rows())
        )
    if not engine:  # products in force but no line with a usable amount: nothing to publish
        context.log.info("no product with usable lines: no product marts")
        return {}
    shas = engine["engine_products"].select(pl.col("process_id").alias("product_key"), "inputs_sha256")
    fresh = build_marts(recomputed_only(engine, reuse))
    marts, changes = merge_with_previous(fresh, previous, shas)
    context.log.info(
        f"products: {len(changes['added'])} added, {len(changes['changed'])} changed, "
        f"{len(changes['removed'])} removed, {changes['unchanged']} unchanged (rows carried over)"
    )
    context.add_output_metadata(
        {
            **{name: frame.height for name, frame in marts.items()},
            "product_changes": dg.MetadataValue.json(changes),
            "products_held": held.height,
            "products_recomputed": len(changes["added"]) + len(changes["changed"]) + changes["recomputed_same_result"],
        }
    )
    # written once, as the release holds them: the check scans them, the release links them
    return release_parts(marts, scratch_dir(s.asset_store_dir))


enterprise_intake_job = dg.define_asset_job(
    "enterprise_intake_job",
    selection=dg.AssetSelection.assets(enterprise_upload),
    partitions_def=enterprise_upload_partitions,
    executor_def=dg.in_process_executor,
    description="Ingest one enterprise upload (one partition).",
)


@dg.sensor(
    job=enterprise_intake_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="New or changed files in data/raw/enterprise/: add a partition and ingest it.",
)
def enterprise_upload_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    seen = set(json.loads(context.cursor)) if context.cursor else set()
    keys = [partition_key_for(p, upload_id) for p, upload_id in upload_ids(settings(), upload_files()).items()]
    new = [k for k in keys if k not in seen]
    return dg.SensorResult(
        run_requests=[dg.RunRequest(partition_key=k, run_key=k) for k in new],
        dynamic_partitions_requests=[enterprise_upload_partitions.build_add_request(new)] if new else [],
        cursor=json.dumps(sorted(seen | set(new))),
    )
