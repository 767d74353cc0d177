"""A steward's decisions on factors and on held changes: validated, then written to the decision log in one
locked write. The CLI (`pcf approve|reject|deprecate|override`) and the web platform (steward queue) call
these same functions; neither writes the log any other way. Problems raise DecisionError with the message a
steward reads (which id, which release, which unit)."""

from __future__ import annotations

import polars as pl

from pipelines.config import Settings
from pipelines.curation.decisions import Decision, DecisionError, append, append_many, content_hashes, now_utc

FACTOR_ACTIONS = ("approve", "reject", "deprecate", "override")


def decide(
    settings: Settings,
    action: str,
    factor_ids: list[str],
    reason: str,
    steward: str,
    value: float | None = None,
    unit: str | None = None,
    source_doc: str | None = None,
) -> list[Decision]:
    """One decision per factor of the latest release, all or nothing. `unit`: the unit of an override's
    `value` when it is not the factor's own (converted: a value per MWh is 1/1000 of it per kWh)."""
    from pipelines.release.publish import latest_release, read_table

    if action not in FACTOR_ACTIONS:
        raise DecisionError(f"action {action!r}: expected one of {', '.join(FACTOR_ACTIONS)}")
    factor_ids = list(dict.fromkeys(factor_ids))
    if not factor_ids:
        raise DecisionError("no factor selected")
    latest = latest_release(settings)
    if latest is None:
        raise DecisionError("no release yet: run `pcf build` first")
    factor = read_table(settings, latest["version"], "factor")
    found = factor.filter(pl.col("factor_id").is_in(factor_ids))
    missing = sorted(set(factor_ids) - set(found["factor_id"]))
    if missing:
        raise DecisionError(f"not in release {latest['version']}: {', '.join(missing)}")
    hashes = dict(content_hashes(found).rows())
    units = dict(found.select("factor_id", "unit").rows())
    written = []
    for fid in factor_ids:
        v = value
        if action == "override" and unit and unit != units[fid]:
            from pipelines.common import units as unit_module

            if value is None:
                raise DecisionError(f"override {fid}: a value (kg CO2e per unit, >= 0) is required")
            try:
                v = value * unit_module.convert(1.0, units[fid], unit)
            except Exception as exc:
                raise DecisionError(
                    f"override {fid}: --unit {unit} does not convert to the factor's unit {units[fid]} ({exc})"
                ) from None
        written.append(
            Decision(
                action,
                fid,
                hashes[fid],
                steward,
                now_utc(),
                reason,
                v,
                units[fid] if action == "override" else None,
                source_doc,
            )
        )
    return append_many(settings, written)  # one locked write after every decision validated


def held_changes(settings: Settings) -> list[dict]:
    """Changes the release guard holds (mass changes to published data), as the last run left them."""
    from pipelines.curation.run import read_guard

    return read_guard(settings)


def decide_change(settings: Settings, action: str, source_id: str, reason: str, steward: str) -> tuple[Decision, dict]:
    """Approve or reject a change the release guard holds, bound to that change's signature (a different
    change later is held again)."""
    from pipelines.curation.guard import CHANGE_PREFIX

    if action not in ("approve", "reject"):
        raise DecisionError("a held change takes approve or reject")
    held = held_changes(settings)
    change_id = source_id if source_id.startswith(CHANGE_PREFIX) else CHANGE_PREFIX + source_id
    item = next((c for c in held if c["change_id"] == change_id), None)
    if item is None:
        raise DecisionError(
            f"no change held for {source_id!r} by the last run; held: "
            f"{', '.join(c['source_id'] for c in held) or 'none'}"
        )
    d = append(settings, Decision(action, change_id, item["signature"], steward, now_utc(), reason))
    return d, item
