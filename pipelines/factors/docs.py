"""Generate docs/factor_record.md from the canonical schema (one source of truth for the columns).
Run: python -m pipelines.factors.docs"""

from __future__ import annotations

from pipelines.config import PROJECT_ROOT
from pipelines.factors.schema import FACTOR_COLUMNS, FACTOR_PURPOSES, SYSTEM_BOUNDARIES

TARGET = PROJECT_ROOT / "docs" / "factor_record.md"


def render() -> str:
    lines = [
        "# The canonical factor record (`latest.factor`)",
        "",
        "Generated from `pipelines/factors/schema.py` by `python -m pipelines.factors.docs`; a test fails when they differ.",
        "One row per factor. All CO2e amounts are **kg CO2e per one reference unit** (`unit`).",
        "Per-gas amounts are also in `factor_gas` (one row per factor and gas, with the GWP applied);",
        "every raw row behind a factor is in `factor_lineage`.",
        "",
        "| group | column | type | meaning |",
        "|---|---|---|---|",
    ]
    for c in FACTOR_COLUMNS:
        lines.append(f"| {c.group} | `{c.name}` | {c.dtype} | {c.doc.replace('|', '/')} |")
    lines += ["", "## Code lists", "", "`system_boundary`:", ""]
    lines += [f"- `{k}` ({v})" for k, v in SYSTEM_BOUNDARIES.items()]
    lines += ["", "`factor_purpose`:", ""]
    lines += [f"- `{k}`: {v}" for k, v in FACTOR_PURPOSES.items()]
    lines += [
        "",
        "`data_type`: `primary`, `site_specific`, `secondary`.",
        "",
        "`steward_status`: `approved` (national / international published sources approved by "
        "configuration), `pending` (literature awaiting a steward), `internal_only` (licence does not allow "
        "redistribution: used for computation, never exported), `rejected`, `deprecated`.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET}")
