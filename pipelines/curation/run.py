"""Harmonised -> curated, as a plain function (the Dagster asset, the tests and the CLI call it)."""

from __future__ import annotations

import json

import polars as pl

from pipelines.common.parts import Parts, lazy, scratch_dir, whole, write_parts
from pipelines.config import Settings
from pipelines.curation.decisions import apply, apply_parts, read_log
from pipelines.curation.guard import CHANGE_PREFIX, assess, queue_items
from pipelines.curation.queue import baseline_release, build_queue, build_queue_parts, write_queue
from pipelines.factors.factor_diff import COLUMNS
from pipelines.release.publish import latest_release, read_table


def curate(settings: Settings, harmonised: dict) -> dict:
    """-> {"tables", "summary", "sources", "review_queue", "review_page", "release_guard"}: the decision log
    applied (raises DecisionError on a malformed log line), the release guard assessed against the current
    release, the review queue built against the baseline release and written."""
    log = read_log(settings)
    tables = dict(harmonised["tables"])
    # a table of millions of factors comes in parts and is curated a part at a time (the guard against the
    # current release still compares the compared columns whole: docs/scale.md)
    in_parts = isinstance(tables["factor"], Parts)
    scratch = scratch_dir(settings.asset_store_dir) if in_parts else None
    factor: pl.DataFrame | Parts
    factor_gas: pl.DataFrame | Parts
    if isinstance(tables["factor"], Parts) and isinstance(tables["factor_gas"], Parts) and scratch:
        factor, factor_gas, decisions = apply_parts(tables["factor"], tables["factor_gas"], log, scratch / "applied")
    else:
        factor, factor_gas, decisions = apply(whole(tables["factor"]), whole(tables["factor_gas"]), log)
    current = latest_release(settings)
    loaded = {}  # factor tables of releases read once here, by version
    if current and (settings.releases_dir / current["version"] / "factor.parquet").exists():
        path = settings.releases_dir / current["version"] / "factor.parquet"
        loaded[current["version"]] = (
            pl.read_parquet(path, columns=_compared(pl.read_parquet_schema(path)))
            if in_parts
            else read_table(settings, current["version"], "factor")
        )
    guard = assess(
        _for_guard(factor, bool(current)),
        tables["quarantine"],
        loaded.get(current["version"]) if current else None,
        current["version"] if current else None,
        harmonised["sources"],
        decisions,
    )
    decisions = _change_decisions(decisions, guard)
    tables.update(factor=factor, factor_gas=factor_gas, steward_decision=decisions)
    baseline = baseline_release(settings, factor, None if in_parts else loaded)
    previous = (
        (loaded.get(baseline) if baseline in loaded else read_table(settings, baseline, "factor")) if baseline else None
    )
    queue: pl.DataFrame | Parts
    if isinstance(factor, Parts) and scratch:
        queue = build_queue_parts(factor, previous, decisions, scratch / "queue")
        if guard.height:  # the held changes first, then the factors' items
            head = pl.concat([queue_items(guard), pl.DataFrame(schema=queue.schema)], how="diagonal_relaxed")
            (scratch / "queue_head").mkdir()
            first = write_parts([head.select(queue.columns).cast(queue.schema)], scratch / "queue_head")
            queue = Parts(first.files + queue.files, queue.schema, first.rows + queue.rows)
    else:
        queue = build_queue(whole(factor), previous, decisions)
        if guard.height:
            queue = pl.concat([queue_items(guard), queue], how="diagonal_relaxed").select(queue.columns)
    page = write_queue(
        queue,
        settings.curated_dir / "review",
        f"compared with release {baseline}" if baseline else "no earlier release: every factor is new",
    )
    summary = {
        **harmonised["summary"],
        "decisions_logged": decisions.height,
        "decisions_applied": int(decisions["applied"].sum() or 0),
        "decisions_stale": int((decisions["not_applied_because"] == "content changed since the decision").sum() or 0),
        "review_queue": queue.height,
        "review_baseline": baseline,
        "release_guard_held": guard.filter(pl.col("held"))["summary"].to_list(),
        "steward_status": dict(sorted(lazy(factor).group_by("steward_status").len().collect().rows())),
    }
    write_guard(settings, guard)
    return {
        "tables": tables,
        "summary": summary,
        "sources": harmonised["sources"],
        "review_queue": queue,
        "review_page": page,
        "release_guard": guard,
    }


def _for_guard(factor: pl.DataFrame | Parts, has_release: bool) -> pl.DataFrame:
    """What the guard compares of this build's factors: factors in parts as their compared columns, and
    nothing when there is no release to compare with."""
    if isinstance(factor, pl.DataFrame):
        return factor
    compared = factor.scan().select(_compared(factor.schema))
    return (compared if has_release else compared.head(0)).collect()


def _compared(schema) -> list[str]:
    """The columns the guard and the queue compare (pipelines/factors/factor_diff.py), of those a table has."""
    return [c for c in COLUMNS if c in schema]


def _change_decisions(decisions: pl.DataFrame, guard: pl.DataFrame) -> pl.DataFrame:
    """Decisions on a held change (factor_id 'change:<source>') apply to that change's signature only."""
    if not decisions.height:
        return decisions
    held = [f"{c}\x1f{s}" for c, s in guard.select("change_id", "signature").rows()] if guard.height else []
    is_change = pl.col("factor_id").str.starts_with(CHANGE_PREFIX)
    last = decisions.filter(is_change).sort("log_line").group_by("factor_id", maintain_order=True).last()["decision_id"]
    matches = pl.concat_str("factor_id", "content_sha256", separator="\x1f").is_in(held)
    why = (
        pl.when(~pl.col("decision_id").is_in(last.implode()))
        .then(pl.lit("superseded by a later decision"))
        .when(~matches)
        .then(pl.lit("no such change held in this build (published, or the change differs)"))
        .otherwise(None)
    )
    return decisions.with_columns(
        pl.when(is_change).then(why).otherwise(pl.col("not_applied_because")).alias("not_applied_because"),
    ).with_columns(pl.col("not_applied_because").is_null().alias("applied"))


def guard_path(settings: Settings):
    return settings.curated_dir / "review" / "release_guard.json"


def write_guard(settings: Settings, guard: pl.DataFrame) -> None:
    """The held changes beside the review queue (what `pcf approve --change` decides on)."""
    from pipelines.common.atomic import write_text

    write_text(guard_path(settings), json.dumps(guard.to_dicts(), ensure_ascii=False, indent=1))


def read_guard(settings: Settings) -> list[dict]:
    """The changes the last curation step assessed (held or approved); [] before any run."""
    path = guard_path(settings)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
