"""Run summaries: data/curated/runs/<run key>.json, one per run (a scheduled job run, or one `pcf build`
whose steps carry the tag pcf/build_id), written piece by piece by the assets and checks as they go:

  sources      per source: status, files, raw rows
  validation   rows in (staged), passed, quarantined
  harmonised   factors, quarantined, raw-row conservation
  curation     decisions applied / stale, review queue size, steward statuses
  products     products added / changed / removed / unchanged
  release      version, published or why not, factors added / removed / changed against the parent
  checks       every check evaluated: name, passed, blocking, details (rows that failed)
  status       running -> published | unchanged | failed: blocking check <name> | failed: <step>
  started_at, finished_at, duration_seconds

So a run that stops at a blocking check still leaves its summary, saying which check and on what rows.
`pcf runs` lists them; the Dagster UI shows the same figures as asset metadata.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from pipelines.atomic import write_text
from pipelines.config import Settings
from pipelines.filelock import exclusive

BUILD_TAG = "pcf/build_id"


def run_key(context) -> str:
    """The build id tag when the CLI runs the steps, else the Dagster run id (asset and check contexts)."""
    run = context.run
    return (run.tags or {}).get(BUILD_TAG) or run.run_id


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def runs_dir(settings: Settings) -> Path:
    return settings.curated_dir / "runs"


def _update(settings: Settings, key: str, change) -> dict:
    target = runs_dir(settings)
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"{key}.json"
    with exclusive(target / ".lock"):
        summary = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {
            "run": key, "started_at": _now().isoformat(), "status": "running", "checks": []}
        change(summary)
        now = _now()
        summary["finished_at"] = now.isoformat()
        summary["duration_seconds"] = int((now - dt.datetime.fromisoformat(summary["started_at"])).total_seconds())
        write_text(path, json.dumps(summary, ensure_ascii=False, indent=2, sort_keys=True, default=str))
    return summary


def record(settings: Settings, key: str, section: str, data: dict, status: str | None = None) -> dict:
    def change(s: dict) -> None:
        if section == "sources":
            s.setdefault("sources", {}).update(data)
        else:
            s[section] = data
        if status:
            s["status"] = status
    return _update(settings, key, change)


def record_check(settings: Settings, key: str, name: str, passed: bool, blocking: bool, details: dict) -> dict:
    def change(s: dict) -> None:
        s["checks"] = [c for c in s.get("checks", []) if c["name"] != name]
        s["checks"].append({"name": name, "passed": passed, "blocking": blocking, "details": details})
        s["checks_failed"] = sorted(c["name"] for c in s["checks"] if not c["passed"])
        if blocking and not passed:
            s["status"] = f"failed: blocking check {name}"
    return _update(settings, key, change)


def list_runs(settings: Settings) -> list[dict]:
    target = runs_dir(settings)
    runs = [json.loads(p.read_text(encoding="utf-8")) for p in target.glob("*.json")] if target.exists() else []
    return sorted(runs, key=lambda r: (r.get("started_at", ""), r.get("run", "")))
