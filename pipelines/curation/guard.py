"""The release guard: a release that would remove, quarantine or change much of a source is not published
unattended.

Against the current release, per source: factors removed (of which quarantined in this run), factors
whose published values changed (pipelines/factors/factor_diff.py: published CO2e, gases, unit, geography; not a
CO2e recomputed under another GWP set). When the removed and changed factors exceed
PCF_RELEASE_GUARD_SHARE (default 0.1) of the source's factors in the current release, or the whole
source would go, the change is *held*: the blocking asset check `release_guard` fails, the run summary
names the source and the counts, and the review queue carries the change as one item
(factor_id `change:<source_id>`). A steward decides on it as a whole:

    pcf approve --change epa_sef_v1_2 --reason "v1.3.0 reviewed: AR5 basis, USD2022"
    pcf reject  --change epa_sef_v1_2 --reason "..."

The decision goes to the same decision log, bound to the change's signature (source, current release,
new source version, counts): a decision on a different change does not apply. An approved change is
published; a rejected one stays held until the inputs change (fix the edition, or pin the previous one
with PCF_EDITIONS).
"""

from __future__ import annotations

import hashlib
import json

import polars as pl

from pipelines.factors.factor_diff import compare

CHANGE_PREFIX = "change:"
GUARD_SCHEMA = {
    "change_id": pl.String,
    "source_id": pl.String,
    "baseline_version": pl.String,
    "new_source_version": pl.String,
    "baseline_factors": pl.Int64,
    "new_factors": pl.Int64,
    "removed": pl.Int64,
    "quarantined": pl.Int64,
    "changed": pl.Int64,
    "share": pl.Float64,
    "whole_source": pl.Boolean,
    "quarantine_rules": pl.String,
    "signature": pl.String,
    "summary": pl.String,
    "decision": pl.String,
    "held": pl.Boolean,
}


def guard_share() -> float:
    from pipelines.config import settings

    return settings().release_guard_share


def assess(
    factor: pl.DataFrame,
    quarantine: pl.DataFrame,
    baseline: pl.DataFrame | None,
    baseline_version: str | None,
    sources: list[dict],
    decisions: pl.DataFrame,
) -> pl.DataFrame:
    """One row per source whose change exceeds the share (held unless a valid steward decision approves it)."""
    if baseline is None or baseline.is_empty():
        return pl.DataFrame(schema=GUARD_SCHEMA)
    result = compare(baseline, factor)
    versions = {s["source_id"]: s.get("source_version") for s in sources}
    old_n = dict(baseline.group_by("source_id").len().rows())
    new_n = dict(factor.group_by("source_id").len().rows())
    removed = dict(result["removed"].group_by("source_id").len().rows())
    changed = dict(result["changed"].group_by("source_id").len().rows())
    q_keys = quarantine.select("source_id", "natural_key", "rule_id")
    lost = (
        result["removed"].select("source_id", "natural_key").join(q_keys, on=["source_id", "natural_key"], how="inner")
    )
    quarantined = dict(lost.unique(["source_id", "natural_key"]).group_by("source_id").len().rows())
    rules = {
        src: ", ".join(f"{r}: {n}" for r, n in grp.group_by("rule_id").len().sort("len", descending=True).rows())
        for (src,), grp in lost.group_by("source_id")
    }
    share_limit = guard_share()
    rows = []
    for src, n_old in sorted(old_n.items()):
        r, c = removed.get(src, 0), changed.get(src, 0)
        share = (r + c) / n_old if n_old else 0.0
        whole = new_n.get(src, 0) == 0
        if not whole and share <= share_limit:
            continue
        body = {
            "source_id": src,
            "baseline_version": baseline_version,
            "new_source_version": versions.get(src),
            "baseline_factors": n_old,
            "removed": r,
            "quarantined": quarantined.get(src, 0),
            "changed": c,
        }
        signature = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        summary = (
            f"{src}: {r + c} of {n_old} factors in release {baseline_version} would go or change "
            f"({share:.0%} > {share_limit:.0%}{'; the whole source' if whole else ''}): {r} removed "
            f"({quarantined.get(src, 0)} of them quarantined in this run"
            + (f" — {rules[src]}" if rules.get(src) else "")
            + f"), {c} with changed published values; "
            f"new version {versions.get(src)}"
        )
        rows.append(
            {
                "change_id": f"{CHANGE_PREFIX}{src}",
                **body,
                "new_factors": new_n.get(src, 0),
                "share": share,
                "whole_source": whole,
                "quarantine_rules": rules.get(src),
                "signature": signature,
                "summary": summary,
            }
        )
    frame = pl.DataFrame(rows, schema={k: v for k, v in GUARD_SCHEMA.items() if k not in ("decision", "held")})
    return _decide(frame, decisions)


def _decide(frame: pl.DataFrame, decisions: pl.DataFrame) -> pl.DataFrame:
    """The last steward decision on each change whose signature matches this change."""
    verdicts: dict[tuple[str, str], tuple[str, str]] = {}
    if decisions.height:
        for d in (
            decisions.filter(pl.col("factor_id").str.starts_with(CHANGE_PREFIX)).sort("log_line").iter_rows(named=True)
        ):
            verdicts[(d["factor_id"], d["content_sha256"])] = (
                d["action"],
                f"{d['action']} by {d['steward']} at {d['at']}: {d['reason']}",
            )
    decision: list[str | None] = []
    held: list[bool] = []
    for r in frame.iter_rows(named=True):
        action, text = verdicts.get((r["change_id"], r["signature"])) or (None, None)
        decision.append(text)
        held.append(action != "approve")
    return frame.with_columns(
        pl.Series("decision", decision, dtype=pl.String), pl.Series("held", held, dtype=pl.Boolean)
    )


def queue_items(guard: pl.DataFrame) -> pl.DataFrame:
    """Held changes as review-queue rows (one reviewable item per source)."""
    held = guard.filter(pl.col("held"))
    return held.select(
        pl.col("change_id").alias("factor_id"),
        "source_id",
        pl.format("release guard: change of source {}", pl.col("source_id")).alias("name"),
        pl.lit(None, dtype=pl.String).alias("activity_key"),
        pl.lit(None, dtype=pl.String).alias("geography_code"),
        pl.lit(None, dtype=pl.String).alias("unit"),
        pl.lit(None, dtype=pl.Int32).alias("reference_year"),
        pl.lit("held").alias("steward_status"),
        pl.concat_str(
            [pl.col("summary"), pl.when(pl.col("decision").is_not_null()).then(pl.format("; decided: {}", "decision"))],
            ignore_nulls=True,
        ).alias("reasons"),
        pl.lit("release.guard").alias("flags"),
        pl.lit(None, dtype=pl.Float64).alias("old_co2e_kg"),
        pl.lit(None, dtype=pl.Float64).alias("new_co2e_kg"),
        "share",
        pl.lit(None, dtype=pl.String).alias("peers"),
        pl.lit(None, dtype=pl.Float64).alias("dqr"),
        pl.format("approve or reject as a whole: pcf approve --change {} --reason ...", "source_id").alias("document"),
        pl.col("signature").alias("locator"),
        pl.lit(None, dtype=pl.String).alias("url_or_doi"),
        pl.lit(None, dtype=pl.String).alias("stale_decision"),
    ).rename({"share": "relative_change"})
