"""Source freshness: has a source been refreshed within its expected period (SourceSpec.expected_refresh_days)?

The latest date a source can show for itself: the newest publication date of its rows (YYYY-MM-DD,
YYYY-MM taken as the 1st, YYYY as 1 January: conservative) or its edition when that is a date (a
snapshot). Stale when today is more than expected_refresh_days after it. Rolling submissions
(literature, regional stewards' files) have no edition to wait for and are not judged. A missing
source fails the check. The check warns; it never blocks a release (old data is still data).
"""

from __future__ import annotations

import datetime as dt
import re

import polars as pl

from pipelines.common.parts import lazy
from pipelines.sources.base import SourceBatch


def _as_date(text: str | None) -> dt.date | None:
    if not text:
        return None
    m = re.match(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", str(text).strip())
    if not m:
        return None
    try:
        return dt.date(int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1))
    except ValueError:
        return None


def assess(batch: SourceBatch, today: dt.date) -> dict:
    spec = batch.spec
    if batch.status == "missing":
        return {
            "passed": False,
            "reason": f"missing: {batch.message}",
            "latest": None,
            "age_days": None,
            "expected_refresh_days": spec.expected_refresh_days,
        }
    if batch.edition == "rolling":
        return {
            "passed": True,
            "reason": "rolling submissions: no edition to wait for",
            "latest": None,
            "age_days": None,
            "expected_refresh_days": spec.expected_refresh_days,
        }
    published = lazy(batch.staged).select(pl.col("publication_date").drop_nulls().unique()).collect().to_series()
    dates = [d for d in (_as_date(x) for x in published.to_list()) if d]
    edition = _as_date(batch.edition) if re.match(r"^\d{4}-\d{2}-\d{2}$", batch.edition or "") else None
    latest = max([*dates, *([edition] if edition else [])], default=None)
    if latest is None:
        return {
            "passed": False,
            "reason": "no publication date or dated edition to judge by",
            "latest": None,
            "age_days": None,
            "expected_refresh_days": spec.expected_refresh_days,
        }
    age = (today - latest).days
    passed = age <= spec.expected_refresh_days
    return {
        "passed": passed,
        "latest": latest.isoformat(),
        "age_days": age,
        "expected_refresh_days": spec.expected_refresh_days,
        "reason": f"latest {latest.isoformat()}, {age} days ago; expected every {spec.expected_refresh_days} days"
        + ("" if passed else ": look for a newer edition"),
    }
