"""Steward mappings: a description an enterprise wrote, in its unit, confirmed to mean one factor.

A line the matcher cannot place with confidence (score below PCF_MATCH_THRESHOLD) is never guessed: it is
set aside in the mapping queue (restricted zone: data/restricted/inventory/mapping_queue.parquet) with the
matcher's best candidates. A steward confirms one (`pcf map`), and the confirmation is a decision in the
mapping log, data/restricted/curation/mappings.jsonl: the same append-only, locked, one-JSON-object-per-line
form as the factor decision log, kept in the restricted zone because it holds the enterprise's own words
(the factor decision log is copied into releases; this one never is). The next build uses it for the same
text and unit of the same enterprise (match_method 'steward_mapping', the steward, time and reason in the
line's note). A later decision on the same key replaces an earlier one; `pcf map --remove` withdraws it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from pipelines.common.filelock import exclusive
from pipelines.config import Settings
from pipelines.matching.text import normalise


class MappingError(ValueError):
    pass


class UnusableFactor(MappingError):
    """The factor named is not in the current release or cannot be used (rejected, deprecated, no value)."""


@dataclass(frozen=True)
class Mapping:
    uscc: str
    text: str  # as the enterprise wrote it (shown); the key uses its normalised form
    unit: str
    factor_id: str | None  # None: the mapping was withdrawn
    steward: str
    at: str
    reason: str
    action: str = "map"  # map | remove

    @property
    def key(self) -> tuple[str, str, str]:
        return mapping_key(self.uscc, self.text, self.unit)


def mapping_key(uscc: str, text: str, unit: str | None) -> tuple[str, str, str]:
    return (str(uscc).strip().upper(), normalise(text), normalise(unit or ""))


def log_path(settings: Settings) -> Path:
    return settings.restricted_dir / "curation" / "mappings.jsonl"


def append(settings: Settings, m: Mapping) -> None:
    if m.action == "map" and not m.factor_id:
        raise MappingError("a mapping names a factor (--factor)")
    if not m.reason.strip():
        raise MappingError("a mapping needs a reason (--reason): what makes this factor the right one")
    path = log_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(path.with_name(path.name + ".lock")):
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(asdict(m), ensure_ascii=False, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())


def confirm(
    settings: Settings,
    uscc: str,
    text: str,
    unit: str,
    factor_id: str | None,
    steward: str,
    reason: str,
    remove: bool = False,
) -> Mapping:
    """A steward's mapping (or its withdrawal), checked and logged: `pcf map` and the web platform's mapping
    queue both record through here. The factor must be usable in the current release (a CO2e value, not
    rejected or deprecated); FileNotFoundError when there is no release yet."""
    import polars as pl

    from pipelines.curation.decisions import now_utc
    from pipelines.matching.matcher import usable_factors
    from pipelines.release.manifests import latest_release, read_table

    if not remove:
        if not factor_id:
            raise MappingError("--factor is required (or --remove)")
        latest = latest_release(settings)
        if latest is None:
            raise FileNotFoundError("no release yet: run `pcf build` first")
        found = read_table(settings, latest["version"], "factor").filter(pl.col("factor_id") == factor_id)
        if usable_factors(found).is_empty():
            raise UnusableFactor(f"{factor_id} is not a usable factor of release {latest['version']}")
    m = Mapping(
        uscc.strip().upper(),
        text,
        unit,
        None if remove else factor_id,
        steward,
        now_utc(),
        reason,
        "remove" if remove else "map",
    )
    append(settings, m)
    return m


def read(settings: Settings) -> dict[tuple[str, str, str], Mapping]:
    """The mappings in force: the last decision per (enterprise, text, unit); a withdrawn one is absent.
    A line that is not a mapping (cut by a killed write) is named in the error, nothing is guessed."""
    path = log_path(settings)
    out: dict[tuple[str, str, str], Mapping] = {}
    if not path.exists():
        return out
    data = path.read_text(encoding="utf-8")
    lines = data.split("\n")
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            m = Mapping(**json.loads(line))
        except (ValueError, TypeError) as exc:
            if n == len(lines) and not data.endswith("\n"):
                continue  # the last line of a killed write: not applied
            raise MappingError(f"{path}: line {n} is not a mapping ({exc})") from None
        if m.action == "remove":
            out.pop(m.key, None)
        else:
            out[m.key] = m
    return out
