"""Run history, read from Dagster's run storage (the instance `pcf build`, the schedule and `dagster dev`
share; pipelines/cli.py `instance()`). Nothing is written beside it: every figure below is the metadata an
asset or check already gave Dagster, so `pcf runs` and the Dagster UI show the same history.

A run's summary:

  sources      per source: status, version, raw files, raw rows, unreadable rows
  validation   rows in (staged), passed, quarantined, GWP set
  harmonised   factors, raw rows, curated / quarantined raw rows, balanced, outliers flagged
  curation     review queue, decisions applied / stale, steward statuses
  products     added / changed / removed / unchanged / recomputed
  release      version, published or why not, factors added / removed / changed against the parent
  checks       every check evaluated: name, passed, blocking, details (its metadata: rows that failed)
  status       running | published | unchanged | failed: blocking check <name> | failed: <step> | <run status>
  started_at, finished_at, duration_seconds

Runs of single upload partitions (enterprise intake) are not listed: their figures are the upload's.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import dagster as dg

from pipelines.sources import SOURCES

BUILD_TAG = "pcf/build_id"  # one `pcf build` (its one run) carries its build id


def _value(v: Any) -> Any:
    return v.value if hasattr(v, "value") else v


def _meta(metadata) -> dict:
    return {k: _value(v) for k, v in (metadata or {}).items()}


def _iso(ts: float | None) -> str | None:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).replace(microsecond=0).isoformat() if ts else None


def summarise(instance: dg.DagsterInstance, record) -> dict:
    """One run record -> its summary (the figures its assets and checks reported)."""
    run = record.dagster_run
    out: dict[str, Any] = {
        "run": (run.tags or {}).get(BUILD_TAG) or run.run_id,
        "run_id": run.run_id,
        "job": run.job_name,
        "checks": [],
    }
    started, finished = record.start_time, record.end_time
    out["started_at"], out["finished_at"] = _iso(started), _iso(finished)
    out["duration_seconds"] = int(finished - started) if started and finished else None
    failed_steps: list[str] = []
    for entry in instance.all_logs(
        run.run_id,
        of_type={
            dg.DagsterEventType.ASSET_MATERIALIZATION,
            dg.DagsterEventType.ASSET_CHECK_EVALUATION,
            dg.DagsterEventType.STEP_FAILURE,
        },
    ):
        event: Any = entry.dagster_event  # typed as a union of every event's data; each branch knows which
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            failed_steps.append(str(event.step_key))
            continue
        if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            ev = event.event_specific_data
            key = ev.asset_key.to_user_string()
            name = f"{ev.check_name}_{key}" if ev.check_name == "freshness" else ev.check_name
            blocking = bool(ev.blocking) if ev.blocking is not None else ev.severity == dg.AssetCheckSeverity.ERROR
            out["checks"] = [c for c in out["checks"] if c["name"] != name]
            out["checks"].append(
                {
                    "name": name,
                    "asset": key,
                    "passed": bool(ev.passed),
                    "blocking": blocking,
                    "description": ev.description,
                    "details": _meta(ev.metadata),
                }
            )
            continue
        key = event.asset_key.to_user_string()
        m = _meta(event.event_specific_data.materialization.metadata)
        if key in SOURCES:
            out.setdefault("sources", {})[key] = {
                "status": m.get("status"),
                "version": m.get("source_version"),
                "raw_files": m.get("raw_files"),
                "raw_rows": m.get("raw_rows"),
                "unreadable_rows": m.get("unreadable_rows"),
            }
        elif key == "validated_factors":
            out["validation"] = {
                "rows_in": m.get("staged_rows"),
                "passed": m.get("passed"),
                "quarantined": m.get("quarantined"),
                "gwp_set": m.get("gwp_set"),
            }
        elif key == "harmonised_factors":
            out["harmonised"] = {
                k: m.get(k)
                for k in (
                    "factors",
                    "raw_rows",
                    "curated_raw_rows",
                    "quarantined_raw_rows",
                    "balanced",
                    "outliers_flagged",
                )
            }
        elif key == "curated_factors":
            out["curation"] = {
                k: m.get(k) for k in ("review_queue", "decisions_applied", "decisions_stale", "steward_status")
            }
        elif key == "product_marts":
            changes = m.get("product_changes") or {}
            out["products"] = {
                "added": len(changes.get("added", [])),
                "changed": len(changes.get("changed", [])),
                "removed": len(changes.get("removed", [])),
                "unchanged": changes.get("unchanged", 0),
                "recomputed": m.get("products_recomputed"),
                "held": m.get("products_held"),
            }
        elif key == "factor_release":
            out["release"] = {
                "version": m.get("version"),
                "published": m.get("published"),
                "reason": m.get("reason"),
                "factors": m.get("factors_changed") or {},
            }
    out["checks_failed"] = sorted(c["name"] for c in out["checks"] if not c["passed"])
    out["status"] = _status(run.status, out, failed_steps)
    return out


def _status(status: dg.DagsterRunStatus, summary: dict, failed_steps: list[str]) -> str:
    blocked = [c["name"] for c in summary["checks"] if c["blocking"] and not c["passed"]]
    if blocked:
        return f"failed: blocking check {blocked[0]}"
    if status == dg.DagsterRunStatus.FAILURE:
        return f"failed: {failed_steps[0]}" if failed_steps else "failed"
    if "release" in summary:
        return "published" if summary["release"]["published"] else "unchanged"
    return {
        dg.DagsterRunStatus.STARTED: "running",
        dg.DagsterRunStatus.QUEUED: "queued",
        dg.DagsterRunStatus.SUCCESS: "succeeded",
    }.get(status, status.value.lower())


def list_runs(instance: dg.DagsterInstance, last: int | None = None) -> list[dict]:
    """Warehouse runs, oldest first (the last `last` of them)."""
    records = [r for r in instance.get_run_records(limit=None) if "dagster/partition" not in (r.dagster_run.tags or {})]
    records.sort(key=lambda r: (r.create_timestamp, r.dagster_run.run_id))
    if last is not None:
        records = records[-last:]
    return [summarise(instance, r) for r in records]


def instance_home(settings) -> Path:
    """Where the Dagster instance (run storage, event log, schedules) lives: DAGSTER_HOME when set, else
    <curated dir>/dagster beside the releases it produced: persistent, and the same for `pcf build`,
    `pcf runs`, `make dev` and the web app."""
    home = os.environ.get("DAGSTER_HOME")
    return Path(home) if home else settings.curated_dir / "dagster"


def instance(settings) -> dg.DagsterInstance:
    """The persistent Dagster instance; its dagster.yaml (one writer pool) is written when absent."""
    home = instance_home(settings)
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    ours = (Path(__file__).parent / "dagster.yaml").read_text(encoding="utf-8")
    current = target.read_text(encoding="utf-8") if target.exists() else ""
    # absent, empty, or written by an earlier version of this file (its first line): the current settings;
    # a dagster.yaml of the operator's own is left as it is
    if not current.strip() or (current != ours and current.splitlines()[0] == ours.splitlines()[0]):
        target.write_text(ours, encoding="utf-8")
    return dg.DagsterInstance.from_config(str(home))
