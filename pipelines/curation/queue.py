"""The review queue: what a steward must look at, with the evidence to decide.

A factor is in the queue when no valid steward decision covers its current content and
  - it is `pending` (a source that needs a steward: literature; or a decision gone stale), or
  - it is flagged: `outlier` (more than 10x from the median of the same activity across sources),
    `change.large` (CO2e moved by more than PCF_REVIEW_CHANGE_SHARE, default 0.2, against the baseline
    release), `provenance.weak` (no URL or DOI, or no table/page locator; not raised on internal_only
    rows, whose licence-restricted origin is documented per source), `quality.low` (DQR above
    PCF_REVIEW_MAX_DQR, default 3.5).
Rejected and deprecated factors, and factors a valid decision covers, leave the queue. Each row gives
old (baseline release) and new value, the relative change, the flags with why, the other sources' values
for the same activity, unit and geography side by side, the source document and the stale decision if any.

The baseline is the newest release whose factor table differs from this run's (so a re-run with
nothing changed shows the same queue). The queue is a steward's worklist, written beside the releases
(data/curated/review/: queue.parquet and a read-only index.html), not inside them: a release depends on
the raw files and the decision log only.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipelines.common.parts import Parts, lazy, write_parts

QUEUE_COLUMNS = [
    "factor_id",
    "source_id",
    "name",
    "activity_key",
    "geography_code",
    "unit",
    "reference_year",
    "steward_status",
    "reasons",
    "flags",
    "old_co2e_kg",
    "new_co2e_kg",
    "relative_change",
    "peers",
    "dqr",
    "document",
    "locator",
    "url_or_doi",
    "stale_decision",
]


def change_share() -> float:
    from pipelines.config import settings

    return settings().review_change_share


def max_dqr() -> float:
    from pipelines.config import settings

    return settings().review_max_dqr


def build_queue(
    factor: pl.DataFrame, baseline: pl.DataFrame | None, decisions: pl.DataFrame, pool: pl.DataFrame | None = None
) -> pl.DataFrame:
    """factor: this run's curated factors (or a chunk of them); baseline: the baseline release's factor table
    (or None); pool: the factors peers are looked up in (`peer_pool`; default: `factor`). Row by row except
    the peers, so the queue of a table in parts is the parts' queues one after the other (build_queue_parts)."""
    # Only the columns the queue shows or tests: a 1M-factor upload is otherwise copied whole at each step.
    live = factor.select(
        "factor_id",
        *(["series_id"] if "series_id" in factor.columns else []),
        "source_id",
        "name_zh",
        "name_en",
        "activity_key",
        "factor_purpose",
        "geography_code",
        "unit",
        "reference_year",
        "steward_status",
        "co2e_kg",
        "qa_flags",
        "url",
        "doi",
        "locator",
        "document",
        "dqr",
    ).filter(~pl.col("steward_status").is_in(["rejected", "deprecated"]))
    covered = decisions.filter(pl.col("applied"))["factor_id"].unique().to_list() if decisions.height else []
    stale = (
        decisions.filter(pl.col("not_applied_because") == "content changed since the decision")
        .sort("log_line")
        .group_by("factor_id", maintain_order=True)
        .last()
        .select(
            "factor_id",
            pl.format(
                "{} by {} at {} ({}): content was {}",
                "action",
                "steward",
                "at",
                "reason",
                pl.col("content_sha256").str.slice(0, 12),
            ).alias("stale_decision"),
        )
        if decisions.height
        else pl.DataFrame(schema={"factor_id": pl.String, "stale_decision": pl.String})
    )
    if baseline is not None and baseline.height:
        live = live.join(
            baseline.select("factor_id", pl.col("co2e_kg").alias("old_co2e_kg")), on="factor_id", how="left"
        )
        in_baseline = pl.col("factor_id").is_in(baseline["factor_id"].implode())
        if "series_id" in baseline.columns and "series_id" in live.columns:
            # a new year of a series: shown as its next value (the latest earlier year in the baseline)
            prev = baseline.filter(pl.col("series_id").is_not_null()).select(
                "series_id", pl.col("reference_year").alias("_prev_year"), pl.col("co2e_kg").alias("_prev_value")
            )
            live = _series_previous(live, prev)
    else:
        live = live.with_columns(pl.lit(None, dtype=pl.Float64).alias("old_co2e_kg"))
        in_baseline = pl.lit(False)
    if "_prev_year" not in live.columns:
        live = live.with_columns(
            pl.lit(None, dtype=pl.Int32).alias("_prev_year"), pl.lit(None, dtype=pl.Float64).alias("_prev_value")
        )
    # a new year of a series is compared with the series' previous value (so a jump is flagged change.large)
    new, old = pl.col("co2e_kg"), pl.coalesce("old_co2e_kg", "_prev_value")
    rel = (
        pl.when(new == old)
        .then(pl.lit(0.0))  # also 0 -> 0: no NaN (NaN compares above every number)
        .when(old == 0)
        .then(pl.lit(float("inf")))
        .otherwise((new - old) / old.abs())
    )
    live = live.with_columns(rel.alias("relative_change"), in_baseline.alias("_in_baseline"))
    flags = [
        (pl.col("qa_flags").str.contains("outlier.cross_source").fill_null(False), "outlier"),
        ((pl.col("relative_change").abs() > change_share()).fill_null(False), "change.large"),
        # internal_only rows (a licence-restricted copy) are documented as such in their SOURCE.md; flagging
        # each of them would bury the queue
        (
            ((pl.col("url").is_null() & pl.col("doi").is_null()) | pl.col("locator").is_null())
            & (pl.col("steward_status") != "internal_only"),
            "provenance.weak",
        ),
        ((pl.col("dqr") > max_dqr()).fill_null(False), "quality.low"),
    ]
    live = live.with_columns(
        pl.concat_str([pl.when(c).then(pl.lit(name)) for c, name in flags], separator=", ", ignore_nulls=True).alias(
            "flags"
        )
    )
    reasons = [
        (pl.col("steward_status") == "pending", pl.lit("pending: needs a steward's decision")),
        (~pl.col("_in_baseline") & pl.col("_prev_year").is_null(), pl.lit("new: not in the baseline release")),
        (
            ~pl.col("_in_baseline") & pl.col("_prev_year").is_not_null(),
            pl.format(
                "new year of a series: {} {} -> {} {} ({}%)",
                pl.col("_prev_year"),
                pl.col("_prev_value").round_sig_figs(6),
                pl.col("reference_year"),
                pl.col("co2e_kg").round_sig_figs(6),
                ((pl.col("co2e_kg") - pl.col("_prev_value")) / pl.col("_prev_value").abs() * 100).round(1),
            ),
        ),
        (
            pl.col("_in_baseline") & (pl.col("relative_change") != 0).fill_null(False),
            pl.format(
                "changed: {} -> {} ({}%)",
                pl.col("old_co2e_kg").round_sig_figs(6),
                pl.col("co2e_kg").round_sig_figs(6),
                (pl.col("relative_change") * 100).round(1),
            ),
        ),
        (pl.col("flags") != "", pl.format("flagged: {}", pl.col("flags"))),
    ]
    live = live.with_columns(
        pl.concat_str([pl.when(c).then(m) for c, m in reasons], separator="; ", ignore_nulls=True).alias("reasons")
    )
    queue = live.filter(
        ~pl.col("factor_id").is_in(covered) & ((pl.col("steward_status") == "pending") | (pl.col("flags") != ""))
    )
    peers = _peers(peer_pool(factor) if pool is None else pool, queue)
    # In the factor table's order (source, raw file, row: the order of the upload a steward checks against);
    # sorting 1,000,000 hashed ids would cost 0.4-0.6 s and mean nothing to a reader.
    return (
        queue.join(peers, on="factor_id", how="left", maintain_order="left")
        .join(stale, on="factor_id", how="left", maintain_order="left")
        .select(
            "factor_id",
            "source_id",
            pl.coalesce("name_zh", "name_en").alias("name"),
            "activity_key",
            "geography_code",
            "unit",
            "reference_year",
            "steward_status",
            "reasons",
            "flags",
            "old_co2e_kg",
            pl.col("co2e_kg").alias("new_co2e_kg"),
            "relative_change",
            "peers",
            "dqr",
            "document",
            "locator",
            pl.coalesce("url", pl.format("doi:{}", "doi")).alias("url_or_doi"),
            "stale_decision",
        )
    )


def _series_previous(live: pl.DataFrame, prev: pl.DataFrame) -> pl.DataFrame:
    """Per live factor, the latest earlier year of its series in the baseline (year and value)."""
    pairs = (
        live.select("factor_id", "series_id", "reference_year")
        .join(prev, on="series_id")
        .filter(pl.col("_prev_year") < pl.col("reference_year"))
        .sort("_prev_year", descending=True)
        .group_by("factor_id", maintain_order=True)
        .first()
        .select("factor_id", "_prev_year", "_prev_value")
    )
    return live.join(pairs, on="factor_id", how="left", maintain_order="left")


PEER_KEY = ["activity_key", "factor_purpose", "unit", "geography_code"]


def peer_pool(factor: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """The factors a queue item's peers come from: with an activity key, not rejected or deprecated (only the
    columns the peers show)."""
    columns = ["factor_id", "source_id", "co2e_kg", "reference_year", *PEER_KEY]
    pool = factor.filter(
        pl.col("activity_key").is_not_null() & ~pl.col("steward_status").is_in(["rejected", "deprecated"])
    ).select(*columns, *(["authority"] if "authority" in factor.collect_schema() else []))
    return pool.collect() if isinstance(pool, pl.LazyFrame) else pool


def build_queue_parts(factor: Parts, baseline: pl.DataFrame | None, decisions: pl.DataFrame, directory: Path) -> Parts:
    """The review queue of factors in parts, a part at a time (the peers from the whole table's pool)."""
    pool = peer_pool(factor.scan())
    directory.mkdir(parents=True)
    return write_parts((build_queue(f, baseline, decisions, pool) for f in factor.frames()), directory)


def _peers(pool: pl.DataFrame, queue: pl.DataFrame) -> pl.DataFrame:
    """Other sources' values for the same activity, purpose, unit and geography: side by side, in the order the
    selection precedence would take them (authority tier, then the newest year; pipelines/matching/selection.py)."""
    from pipelines.matching.selection import AUTHORITY_RANK

    key = PEER_KEY
    authority = (
        pl.col("authority").replace_strict(AUTHORITY_RANK, default=5, return_dtype=pl.Int8)
        if "authority" in pool.columns
        else pl.lit(5, dtype=pl.Int8)
    )
    q = queue.filter(pl.col("activity_key").is_not_null()).select("factor_id", "source_id", *key)
    joined = q.join(
        pool.select(
            pl.col("factor_id").alias("peer_id"),
            pl.col("source_id").alias("peer_source"),
            authority.alias("_tier"),
            "co2e_kg",
            "reference_year",
            *key,
        ),
        on=key,
    ).filter(pl.col("peer_id") != pl.col("factor_id"))
    return (
        joined.sort(
            "factor_id",
            "_tier",
            "reference_year",
            "peer_source",
            "peer_id",
            descending=[False, False, True, False, False],
        )
        .group_by("factor_id", maintain_order=True)
        .agg(
            pl.format("{} {}: {}", "peer_source", "reference_year", pl.col("co2e_kg").round_sig_figs(4))
            .head(8)
            .str.join("; ")
            .alias("peers")
        )
    )


def narrow(
    q: pl.DataFrame, source: str = "", flag: str = "", status: str = "", geography: str = "", text: str = ""
) -> pl.DataFrame:
    """The review queue narrowed as a steward asks (`pcf review` and the web queue): source, flag, steward
    status, geography, and text in the name or reasons (or the exact factor id)."""
    if q.height == 0:
        return q
    if source:
        q = q.filter(pl.col("source_id") == source)
    if flag:
        q = q.filter(pl.col("flags").str.contains(flag, literal=True))
    if status:
        q = q.filter(pl.col("steward_status") == status)
    if geography:
        q = q.filter(pl.col("geography_code") == geography)
    if text:
        q = q.filter(
            pl.col("name").str.contains(text, literal=True)
            | pl.col("reasons").str.contains(text, literal=True)
            | (pl.col("factor_id") == text)
        )
    return q


def baseline_release(
    settings, factor: pl.DataFrame | Parts, loaded: dict[str, pl.DataFrame] | None = None
) -> str | None:
    """The newest release whose factor table differs from this run's. `loaded`: factor tables already read,
    by version (the caller's copy of the current release is not read again). Factors in parts are compared a
    part at a time with the same rows of the release's file."""
    from pipelines.release.publish import list_releases

    for release in reversed(list_releases(settings)):
        version = release["version"]
        path = settings.releases_dir / version / "factor.parquet"
        if not path.exists():
            return version
        if isinstance(factor, Parts):
            if not _equal_in_parts(path, factor):
                return version
            continue
        table = (loaded or {}).get(version)
        if not (table if table is not None else pl.read_parquet(path)).equals(factor):
            return version
    return None


def _equal_in_parts(path: Path, factor: Parts) -> bool:
    import pyarrow.parquet as pq

    if pq.ParquetFile(path).metadata.num_rows != factor.height:
        return False
    release = pl.scan_parquet(path)
    if dict(release.collect_schema()) != dict(factor.schema):
        return False
    offset = 0
    for part in factor.frames():
        if not release.slice(offset, part.height).collect().equals(part):
            return False
        offset += part.height
    return True


def write_queue(queue: pl.DataFrame | Parts, target: Path, release_note: str) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    from pipelines.common.atomic import replacing, write_text

    # a worklist, not a release table: lz4 without statistics (0.2 s instead of 0.28 s at 1M rows)
    with replacing(target / "queue.parquet") as tmp:
        if isinstance(queue, Parts):
            queue.scan().sink_parquet(tmp, compression="lz4", statistics=False)
        else:
            queue.write_parquet(tmp, compression="lz4", statistics=False)
    write_text(target / "index.html", render_html(queue, release_note))
    return target / "index.html"


def page_rows() -> int:
    from pipelines.config import settings

    return settings().review_page_rows


def render_html(queue: pl.DataFrame | Parts, release_note: str) -> str:
    """A read-only page: counts by source and flag, one table, a filter box (plain JavaScript, no server,
    nothing fetched). The table holds at most PCF_REVIEW_PAGE_ROWS rows (default 2,000), flagged factors
    first, each group in upload order: a 1,000,000-row upload would otherwise make a page of ~370 MB that no browser opens; the whole
    queue stays in queue.parquet and `pcf review`."""
    from pipelines.common.templating import render

    flagged = pl.col("flags") != ""
    lq = lazy(queue)  # a queue in parts is read a part at a time by the lazy engine
    shown = (
        pl.concat([lq.filter(flagged).head(page_rows()), lq.filter(~flagged).head(page_rows())])
        .head(page_rows())
        .collect()
    )
    by_source = ", ".join(f"{src}: {n}" for src, n in sorted(lq.group_by("source_id").len().collect().rows()))
    by_flag = lq.select(pl.col("flags").str.split(", ").explode()).filter(pl.col("flags") != "")
    counts = ", ".join(f"{f}: {n}" for f, n in sorted(by_flag.group_by("flags").len().collect().rows())) or "none"
    rows = [
        ["" if v is None else f"{v:.6g}" if isinstance(v, float) else str(v) for v in r]
        for r in shown.select(QUEUE_COLUMNS).iter_rows()
    ]
    return render(
        "review_queue.html",
        release_note=release_note,
        total=queue.height,
        shown=shown.height,
        by_source=by_source,
        counts=counts,
        columns=QUEUE_COLUMNS,
        rows=rows,
    )
