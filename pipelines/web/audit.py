"""The web platform's audit log: every write (login, logout, failed login, upload, decision, mapping, build
request, account change) as one JSON line in the restricted zone (`web/audit.jsonl`): who, when, what, from
which address, and the outcome. Append-only: lines are added under a lock and never rewritten; `pcf user
audit` and the steward's runs page read it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from pipelines.common.filelock import exclusive
from pipelines.config import Settings


def path(settings: Settings) -> Path:
    return settings.restricted_dir / "web" / "audit.jsonl"


def record(settings: Settings, who: str | None, action: str, address: str | None, **what) -> dict:
    entry = {
        "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
        "who": who or "-",
        "action": action,
        "address": address or "-",
        **what,
    }
    target = path(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(target.with_suffix(".lock")):
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, ensure_ascii=False, sort_keys=True, default=str) + "\n")
    return entry


def read(settings: Settings, last: int | None = None) -> list[dict]:
    target = path(settings)
    if not target.exists():
        return []
    lines = [json.loads(x) for x in target.read_text(encoding="utf-8").splitlines() if x.strip()]
    return lines[-last:] if last else lines
