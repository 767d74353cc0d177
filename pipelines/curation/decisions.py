"""Steward decisions: an append-only log in data/raw/curation/decisions.jsonl, replayed on every run.

One JSON object per line: decision_id, action (approve | reject | override | deprecate), factor_id,
content_sha256 (the factor's content when the steward decided), steward, at (UTC), reason, and for an
override value_co2e_kg, unit and source (the document the steward's value comes from). The log lives
under data/raw/ because it is an input: reviewable in git, and replaying it over the same raw files
gives the same release.

A decision applies only while the factor's content is what the steward saw. When the content has
changed since (a new edition of the source, a corrected row), the decision is not applied: the factor
becomes `pending` and returns to the review queue with the stale decision as evidence. The last valid
decision per factor wins.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipelines.common.filelock import exclusive
from pipelines.common.parts import Parts, write_parts
from pipelines.common.sqlmodels import as_arrow_batches
from pipelines.config import Settings

ACTIONS = ("approve", "reject", "override", "deprecate")
STATUS_BY_ACTION = {"approve": "approved", "reject": "rejected", "override": "approved", "deprecate": "deprecated"}

# What a steward judges: the published content, not what this pipeline derives from it (CO2e under a GWP
# set, pedigree scores against an assessment year) nor the source's version tag (which moves when any
# other row of the source changes).
CONTENT_COLUMNS = (
    "source_id",
    "natural_key",
    "name_zh",
    "name_en",
    "activity_key",
    "factor_purpose",
    "unit",
    "co2_fossil_kg",
    "co2_biogenic_kg",
    "ch4_fossil_kg",
    "ch4_biogenic_kg",
    "ch4_unspecified_kg",
    "n2o_kg",
    "fgas_co2e_kg",
    "published_co2e_kg",
    "geography_code",
    "reference_year",
    "valid_from",
    "valid_to",
    "technology",
    "system_boundary",
    "data_type",
    "publisher",
    "document",
    "locator",
    "url",
    "doi",
)

DECISION_SCHEMA: dict[str, Any] = {
    "decision_id": pl.String,
    "action": pl.String,
    "factor_id": pl.String,
    "content_sha256": pl.String,
    "steward": pl.String,
    "at": pl.String,
    "reason": pl.String,
    "value_co2e_kg": pl.Float64,
    "unit": pl.String,
    "source": pl.String,
}


class DecisionError(ValueError):
    pass


@dataclass
class Decision:
    action: str
    factor_id: str
    content_sha256: str
    steward: str
    at: str
    reason: str
    value_co2e_kg: float | None = None
    unit: str | None = None
    source: str | None = None
    decision_id: str = ""

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise DecisionError(f"action {self.action!r}: expected one of {', '.join(ACTIONS)}")
        if not (self.reason or "").strip():
            raise DecisionError(f"{self.action} {self.factor_id}: a reason is required")
        if self.action == "override":
            if self.value_co2e_kg is None or not self.value_co2e_kg >= 0:
                raise DecisionError(f"override {self.factor_id}: a value (kg CO2e per unit, >= 0) is required")
            if not (self.source or "").strip():
                raise DecisionError(f"override {self.factor_id}: the source of the steward's value is required")
        if not self.decision_id:
            # the fields are plain values: a shallow copy gives what dataclasses.asdict() gives, 20x faster
            body = json.dumps({k: v for k, v in vars(self).items() if k != "decision_id"}, sort_keys=True)
            self.decision_id = hashlib.sha256(body.encode()).hexdigest()[:16]


def log_path(settings: Settings) -> Path:
    return settings.raw_dir / "curation" / "decisions.jsonl"


def current_steward() -> str:
    from pipelines.config import settings

    return settings().steward or getpass.getuser()


def content_hashes(factor: pl.DataFrame) -> pl.DataFrame:
    """factor_id -> content_sha256 (SHA-256 of the content columns, in DuckDB: fast and stable)."""
    cols = [c for c in CONTENT_COLUMNS if c in factor.columns]
    con = duckdb.connect()
    try:
        con.register("f", as_arrow_batches(factor.select("factor_id", *cols)))
        parts = ", ".join(f"coalesce(cast({c} as varchar), '\u2400')" for c in cols)
        return con.execute(f"select factor_id, sha256(concat_ws('\u241f', {parts})) as content_sha256 from f").pl()
    finally:
        con.close()


def append(settings: Settings, decision: Decision) -> Decision:
    return append_many(settings, [decision])[0]


def append_many(settings: Settings, decisions: list[Decision]) -> list[Decision]:
    """One lock, one write, one fsync for a batch (a steward approving a whole reviewed file). All or nothing:
    every line of a batch carries the batch id and size, and a batch counts only when all its lines are there
    (a killed write leaves an incomplete batch, which is never applied). A torn tail left by such a write is
    moved aside first, so the new batch never continues a cut line."""
    path = log_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    bodies = [json.dumps(dict(vars(d)), ensure_ascii=False, sort_keys=True) for d in decisions]
    batch = hashlib.sha256("\n".join(bodies).encode()).hexdigest()[:16] if len(decisions) > 1 else None
    lines = "".join(
        (body[:-1] + f', "batch": "{batch}", "batch_size": {len(decisions)}}}' if batch else body) + "\n"
        for body in bodies
    )
    with exclusive(path.with_suffix(".lock")):
        isolate_torn_tail(settings)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(lines)
            fh.flush()
            os.fsync(fh.fileno())
    return decisions


def torn_path(settings: Settings) -> Path:
    return log_path(settings).with_name("decisions.torn.jsonl")


def skipped_path(settings: Settings) -> Path:
    return log_path(settings).with_name("decisions.skipped.jsonl")


def isolate_torn_tail(settings: Settings) -> str | None:
    """A log that does not end with a newline was cut mid-line: the cut line and any incomplete batch before it
    move to decisions.torn.jsonl (kept, never applied) and the log ends at its last complete batch. Caller
    holds the log's lock. -> what was moved, or None."""
    path = log_path(settings)
    if not path.exists():
        return None
    data = path.read_bytes()
    lines = data.split(b"\n")
    cut = lines.pop() if not data.endswith(b"\n") else b""
    # trailing lines of a batch that is not complete (the write that tore also left them)
    tail: list[bytes] = []
    while lines and lines[-1]:
        try:
            rec = json.loads(lines[-1])
        except ValueError:
            break
        size, batch = rec.get("batch_size"), rec.get("batch")
        if not batch or sum(1 for ln in lines if batch.encode() in ln) >= size:
            break
        tail.insert(0, lines.pop())
    if not cut and not tail:
        return None
    moved = [*tail, cut] if cut else tail
    with open(torn_path(settings), "ab") as fh:
        fh.write(b"".join(m + b"\n" for m in moved))
        fh.flush()
        os.fsync(fh.fileno())
    keep = b"\n".join(lines)
    with open(path, "r+b") as fh:
        fh.truncate(len(keep) + (1 if lines and keep else 0) if keep else 0)
        fh.flush()
        os.fsync(fh.fileno())
    return f"{len(moved)} torn or incomplete line(s) moved to {torn_path(settings).name}"


def acknowledge_bad_line(settings: Settings, line_no: int, steward: str, reason: str) -> dict:
    """A steward's explicit decision to skip one unreadable line of the log (nothing is skipped silently)."""
    if not reason.strip():
        raise DecisionError("a reason is required")
    lines = log_path(settings).read_bytes().split(b"\n")
    if not 1 <= line_no <= len(lines) or not lines[line_no - 1].strip():
        raise DecisionError(f"the log has no line {line_no}")
    record = {
        "line": line_no,
        "sha256": hashlib.sha256(lines[line_no - 1]).hexdigest(),
        "steward": steward,
        "at": now_utc(),
        "reason": reason,
    }
    with exclusive(log_path(settings).with_suffix(".lock")):
        with open(skipped_path(settings), "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
    return record


def _acknowledged(settings: Settings) -> set[tuple[int, str]]:
    path = skipped_path(settings)
    if not path.exists():
        return set()
    return {
        (r["line"], r["sha256"])
        for r in (json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip())
    }


BATCH_FIELDS = ("batch", "batch_size")  # on every line of a multi-decision batch (all or nothing)
REQUIRED_FIELDS = ("action", "factor_id", "content_sha256", "steward", "at", "reason")


def read_log(settings: Settings) -> pl.DataFrame:
    """Every decision in log order; a malformed line is an error naming the line (the log is hand-reviewable).

    Fast path: the whole log read by Polars and checked column-wise (2,000,000 decisions: 5 s instead of
    18 s); anything it does not clearly accept (blank lines, unknown or missing fields, a rule
    broken) is read line by line, which names the offending line."""
    path = log_path(settings)
    if not path.exists():
        return pl.DataFrame(schema={**DECISION_SCHEMA, "log_line": pl.Int64})
    fast = _read_log_fast(path)
    return fast if fast is not None else _read_log_lines(path, _acknowledged(settings))


def _read_log_fast(path: Path) -> pl.DataFrame | None:
    data = path.read_bytes()
    if not data or b"\n\n" in data or data.startswith(b"\n") or not data.endswith(b"\n"):
        return None  # blank lines (numbering) or a torn tail: the line reader decides
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    try:
        frame = pl.read_ndjson(data, infer_schema_length=None)
    except Exception:
        return None
    if (
        frame.height != lines
        or not set(frame.columns) <= set(DECISION_SCHEMA) | set(BATCH_FIELDS)
        or not set(REQUIRED_FIELDS) <= set(frame.columns)
    ):
        return None
    if "batch" in frame.columns:
        sizes = (
            frame.filter(pl.col("batch").is_not_null())
            .group_by("batch")
            .agg(pl.len().alias("n"), pl.col("batch_size").first())
        )
        if sizes.filter(pl.col("n") != pl.col("batch_size")).height:
            return None  # an incomplete batch: the line reader leaves it out
    try:
        frame = (
            frame.with_columns(
                [pl.lit(None, dtype=t).alias(c) for c, t in DECISION_SCHEMA.items() if c not in frame.columns]
            )
            .select(list(DECISION_SCHEMA))
            .cast(DECISION_SCHEMA)  # type: ignore[arg-type]
        )
    except Exception:
        return None
    override = pl.col("action") == "override"
    broken = frame.select(
        pl.any_horizontal(
            *[pl.col(c).is_null() for c in REQUIRED_FIELDS],
            ~pl.col("action").is_in(list(ACTIONS)),
            pl.col("reason").str.strip_chars() == "",
            override & ~(pl.col("value_co2e_kg") >= 0).fill_null(False),
            override & pl.col("value_co2e_kg").is_nan().fill_null(False),  # NaN sorts above every number in Polars
            override & (pl.col("source").str.strip_chars().fill_null("") == ""),
        ).any()
    ).item()
    if broken:
        return None
    return frame.with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("log_line"))


def _read_log_lines(path: Path, acknowledged: Collection[tuple[int, str]] = frozenset()) -> pl.DataFrame:
    """Line by line: a bad line is an error naming it (the log is hand-reviewable), unless a steward
    acknowledged skipping exactly that line; a cut last line (no newline: a write that was killed) and the
    lines of an incomplete batch are never applied (log_problems names them)."""
    data = path.read_bytes()
    raw = data.split(b"\n")
    torn = None if data.endswith(b"\n") or not data else len(raw)
    rows = []
    for n, line in enumerate(raw, start=1):
        if not line.strip() or n == torn:
            continue
        try:
            record = json.loads(line.decode("utf-8"))
            Decision(**{k: v for k, v in record.items() if k not in BATCH_FIELDS})  # validates
        except (UnicodeDecodeError, json.JSONDecodeError, TypeError, AttributeError, DecisionError) as exc:
            if (n, hashlib.sha256(line).hexdigest()) in acknowledged:
                continue
            raise DecisionError(
                f"{path}: line {n}: {exc}; fix the line, or skip it explicitly with "
                f"`pcf verify --skip-log-line {n} --reason ...`"
            ) from None
        rows.append({**{k: None for k in DECISION_SCHEMA}, **record, "log_line": n})
    # Appends are serialised and a torn tail is moved aside before the next one, so a write that was killed
    # can only leave an incomplete batch at the end: that batch is not applied. (A batch short of a line in the
    # middle is damage, reported line by line above.)
    tail = rows[-1].get("batch") if rows else None
    if tail and sum(1 for r in rows if r.get("batch") == tail) < rows[-1].get("batch_size", 0):
        rows = [r for r in rows if r.get("batch") != tail]
    rows = [{k: v for k, v in r.items() if k not in BATCH_FIELDS} for r in rows]
    return pl.DataFrame(rows, schema={**DECISION_SCHEMA, "log_line": pl.Int64})


def log_problems(settings: Settings) -> list[str]:
    """What of the decision log is not applied and why: a cut last line, incomplete batches (pcf verify)."""
    path = log_path(settings)
    if not path.exists():
        return []
    data = path.read_bytes()
    out = []
    if data and not data.endswith(b"\n"):
        cut = data.count(b"\n") + 1
        out.append(f"{path}: line {cut} is cut (a write that was killed): not applied")
    sizes: dict[str, list[int]] = {}
    expected: dict[str, int | None] = {}
    last: str | None = None  # the batch of the last readable line: only it can be cut short by a killed write
    for n, line in enumerate(data.split(b"\n"), start=1):
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if not isinstance(rec, dict):
            continue
        last = rec.get("batch")
        if last:
            sizes.setdefault(last, []).append(n)
            expected[last] = rec.get("batch_size")
    for batch, lines in sizes.items():
        if batch == last and len(lines) != expected[batch]:
            out.append(
                f"{path}: lines {lines[0]}-{lines[-1]}: batch {batch} has {len(lines)} of its "
                f"{expected[batch]} decisions (a write that was killed): none of them applied"
            )
    return out


def apply(
    factor: pl.DataFrame, factor_gas: pl.DataFrame, log: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """-> factor and factor_gas with decisions applied, and the decision table (every logged decision,
    whether it applied, and why not)."""
    # Only factors that have a decision need their content hash (a 1M-factor upload with no decisions
    # yet costs nothing here).
    decisions, effects = decide(log, _decided_hashes(factor.lazy(), log))
    return apply_effects(factor, effects), apply_gas_effects(factor_gas, effects), decisions


def apply_parts(
    factor: Parts, factor_gas: Parts, log: pl.DataFrame, directory: Path
) -> tuple[Parts, Parts, pl.DataFrame]:
    """`apply` on tables in parts, a part at a time; parts no decision touches are kept as they are."""
    decisions, effects = decide(log, _decided_hashes(factor.scan(), log))
    if effects.empty:
        return factor, factor_gas, decisions
    (directory / "factor").mkdir(parents=True)
    (directory / "factor_gas").mkdir(parents=True)
    new_factor = write_parts((apply_effects(f, effects) for f in factor.frames()), directory / "factor", factor.schema)
    new_gas = write_parts(
        (apply_gas_effects(g, effects) for g in factor_gas.frames()), directory / "factor_gas", factor_gas.schema
    )
    return new_factor, new_gas, decisions


def _decided_hashes(factor: pl.LazyFrame, log: pl.DataFrame) -> pl.DataFrame:
    if not log.height:
        return pl.DataFrame(schema={"factor_id": pl.String, "content_sha256": pl.String})
    return content_hashes(factor.filter(pl.col("factor_id").is_in(log["factor_id"].unique().implode())).collect())


@dataclass
class Effects:
    """What the valid decisions do: a steward status per factor, override values, stale decisions."""

    status: dict
    override_value: dict
    stale_ids: list

    @property
    def empty(self) -> bool:
        return not (self.status or self.override_value or self.stale_ids)


def decide(log: pl.DataFrame, hashes: pl.DataFrame) -> tuple[pl.DataFrame, Effects]:
    """The decision table (whether each applied, and why not) and the effects of the valid ones, from the log
    and the current content hash of every factor a decision names."""
    decided = log.join(hashes.rename({"content_sha256": "current_sha256"}), on="factor_id", how="left")
    decided = decided.with_columns(
        pl.when(pl.col("current_sha256").is_null())
        .then(pl.lit("factor not in this build"))
        .when(pl.col("current_sha256") != pl.col("content_sha256"))
        .then(pl.lit("content changed since the decision"))
        .otherwise(None)
        .alias("not_applied_because")
    )
    last = decided.sort("log_line").group_by("factor_id", maintain_order=True).last()
    valid = last.filter(pl.col("not_applied_because").is_null())
    stale = last.filter(pl.col("not_applied_because") == "content changed since the decision")
    superseded = set(decided["decision_id"]) - set(last["decision_id"])
    decisions = (
        decided.with_columns(
            pl.when(pl.col("decision_id").is_in(list(superseded)))
            .then(pl.lit("superseded by a later decision"))
            .otherwise(pl.col("not_applied_because"))
            .alias("not_applied_because"),
        )
        .with_columns(pl.col("not_applied_because").is_null().alias("applied"))
        .drop("current_sha256")
        .sort("log_line")
    )
    status = dict(valid.select("factor_id", pl.col("action").replace_strict(STATUS_BY_ACTION)).rows())
    overrides = valid.filter(pl.col("action") == "override")
    return decisions, Effects(
        status, dict(overrides.select("factor_id", "value_co2e_kg").rows()), stale["factor_id"].to_list()
    )


def apply_effects(factor: pl.DataFrame, effects: Effects) -> pl.DataFrame:
    status, override_value, stale_ids = effects.status, effects.override_value, effects.stale_ids
    return factor.with_columns(
        # licence first: a steward can approve a factor for use, never for redistribution
        pl.when(pl.col("steward_status") == "internal_only")
        .then(pl.lit("internal_only"))
        .when(pl.col("factor_id").is_in(stale_ids))
        .then(pl.lit("pending"))
        .otherwise(pl.col("factor_id").replace_strict(status, default=pl.col("steward_status")))
        .alias("steward_status"),
        pl.when(pl.col("factor_id").is_in(list(override_value)))
        .then(pl.col("factor_id").replace_strict(override_value, default=None, return_dtype=pl.Float64))
        .otherwise(pl.col("co2e_kg"))
        .alias("co2e_kg"),
        pl.when(pl.col("factor_id").is_in(list(override_value)))
        .then(pl.concat_str([pl.col("qa_flags"), pl.lit("steward.override")], separator=";", ignore_nulls=True))
        .when(pl.col("factor_id").is_in(stale_ids))
        .then(pl.concat_str([pl.col("qa_flags"), pl.lit("steward.decision_stale")], separator=";", ignore_nulls=True))
        .otherwise(pl.col("qa_flags"))
        .alias("qa_flags"),
    )


def apply_gas_effects(factor_gas: pl.DataFrame, effects: Effects) -> pl.DataFrame:
    # An overridden factor is a CO2e value now: its per-gas rows would contradict it.
    return factor_gas.filter(~pl.col("factor_id").is_in(list(effects.override_value)))


def now_utc() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
