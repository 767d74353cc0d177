"""Harmonised -> curated, as a plain function (the Dagster asset, the tests and the CLI call it)."""

from __future__ import annotations

import polars as pl

from pipelines.config import Settings
from pipelines.curation.decisions import apply, read_log
from pipelines.curation.queue import baseline_release, build_queue, write_queue


def curate(settings: Settings, harmonised: dict) -> dict:
    """-> {"tables", "summary", "sources", "review_queue", "review_page"}: the decision log applied (raises
    DecisionError on a malformed log line), the review queue built against the baseline release and written."""
    log = read_log(settings)
    tables = dict(harmonised["tables"])
    factor, factor_gas, decisions = apply(tables["factor"], tables["factor_gas"], log)
    tables.update(factor=factor, factor_gas=factor_gas, steward_decision=decisions)
    baseline = baseline_release(settings, factor)
    previous = pl.read_parquet(settings.releases_dir / baseline / "factor.parquet") if baseline else None
    queue = build_queue(factor, previous, decisions)
    page = write_queue(queue, settings.curated_dir / "review",
                       f"compared with release {baseline}" if baseline else "no earlier release: every factor is new")
    summary = {**harmonised["summary"],
               "decisions_logged": decisions.height, "decisions_applied": int(decisions["applied"].sum() or 0),
               "decisions_stale": int((decisions["not_applied_because"] == "content changed since the decision").sum() or 0),
               "review_queue": queue.height, "review_baseline": baseline,
               "steward_status": dict(sorted(factor.group_by("steward_status").len().rows()))}
    return {"tables": tables, "summary": summary, "sources": harmonised["sources"], "review_queue": queue,
            "review_page": page}
