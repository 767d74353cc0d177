"""Great Expectations suites kept as JSON in expectations/, run on release tables (as Dagster asset
checks; 'critical' suites block the publish).

GX 1.x runs in an ephemeral context on a pandas frame (the SQL datasource on DuckDB is broken upstream,
and the file context writes into the repository; see ../shared/reference/stack-notes.md). GX is imported
lazily: it takes about 2 s to import.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import polars as pl

from pipelines.common.parts import Parts
from pipelines.config import EXPECTATIONS_DIR


@dataclass
class SuiteResult:
    name: str
    table: str
    severity: str
    success: bool
    failures: list[dict]
    evaluated: int


def load_suites() -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(EXPECTATIONS_DIR.glob("*.json"))]


@lru_cache(maxsize=1)
def _context():
    """An in-memory GX context with analytics and progress bars off, set in its own configuration (the
    process environment is not touched)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        store_backend_defaults=InMemoryStoreBackendDefaults(),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    return gx, context


COLUMN_ARGS = ("column", "column_list", "column_A", "column_B", "column_set")


def suite_columns(suite: dict, frame: pl.DataFrame) -> pl.DataFrame:
    """Only the columns the suite's expectations name cross over to pandas (at 1,000,000 factors the whole
    60-column table costs 1.3 s to convert); a table-level expectation about columns gets them all."""
    if any(e["type"].startswith("expect_table_column") for e in suite["expectations"]):
        return frame
    named: list[str] = []
    for e in suite["expectations"]:
        for arg in COLUMN_ARGS:
            value = e["kwargs"].get(arg)
            for c in [value] if isinstance(value, str) else value or []:
                if c not in named:
                    named.append(c)
    return frame.select([c for c in frame.columns if c in named]) if named else frame


def run_suite_kept(suite: dict, table: pl.DataFrame | Parts, store: Path) -> SuiteResult:
    """A suite's verdict is a function of the suite, the table's content, GX and this module: when none of
    them changed since the last run, the kept verdict is returned without starting GX (creating the GX
    context and validating cost ~2-3 s per build at 20,000 factors, ~35 s at 10,000,000; issue 20)."""
    from importlib import metadata

    from pipelines.common.atomic import write_text
    from pipelines.common.digest import table_digest

    h = hashlib.sha256(json.dumps(suite, sort_keys=True).encode())
    h.update(metadata.version("great_expectations").encode())
    h.update(Path(__file__).read_bytes())
    h.update(table_digest(table).encode())
    key = h.hexdigest()
    path = store / f"{suite['name']}.json"
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
        if kept["key"] == key:
            return SuiteResult(**kept["result"])
    except (OSError, ValueError, KeyError, TypeError):  # none kept, or unreadable: run the suite
        pass
    result = run_suite(suite, table)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, json.dumps({"key": key, "result": dataclasses.asdict(result)}, ensure_ascii=False))
    return result


def run_suite(suite: dict, frame: pl.DataFrame | Parts) -> SuiteResult:
    if isinstance(frame, Parts):
        return _run_suite_parts(suite, frame)
    results = _validate(suite, suite["expectations"], suite_columns(suite, frame))
    failures = [_failure(cfg, res) for cfg, ok, res in results if not ok]
    return SuiteResult(
        name=suite["name"],
        table=suite["table"],
        severity=suite.get("severity", "warning"),
        success=not failures,
        failures=failures,
        evaluated=len(results),
    )


def _failure(cfg, res: dict) -> dict:
    return {
        "expectation": cfg.type,
        "column": cfg.kwargs.get("column"),
        "unexpected_count": res.get("unexpected_count"),
        "examples": [str(x) for x in (res.get("partial_unexpected_list") or [])[:5]],
    }


def _validate(suite: dict, expectations: list[dict], frame: pl.DataFrame) -> list[tuple]:
    """GX on one frame: [(expectation configuration, success, result dict)] in the suite's order."""
    gx, context = _context()
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    name = suite["name"]
    try:
        source = context.data_sources.get(name)
    except Exception:
        source = context.data_sources.add_pandas(name)
    try:
        asset = source.get_asset(suite["table"])
    except Exception:
        asset = source.add_dataframe_asset(suite["table"])
    try:
        batch_def = asset.get_batch_definition("whole")
    except Exception:
        batch_def = asset.add_batch_definition_whole_dataframe("whole")
    batch = batch_def.get_batch(batch_parameters={"dataframe": frame.to_pandas()})
    gx_suite = gx.ExpectationSuite(name=f"{name}-run")
    for exp in expectations:
        gx_suite.add_expectation(ExpectationConfiguration(type=exp["type"], kwargs=exp["kwargs"]).to_domain_obj())
    result = batch.validate(gx_suite)
    return [(r.expectation_config, bool(r.success), r.result or {}) for r in result.results]


UNIQUE = "expect_column_values_to_be_unique"


def _run_suite_parts(suite: dict, parts: Parts) -> SuiteResult:
    """A table in parts (millions of rows): GX on each part, the counts added up and `mostly` judged on the
    sums, as GX judges it on a whole table; uniqueness, which no part can judge alone, is counted over the
    whole column in Polars (nulls ignored, as GX does). The same rules, in bounded memory."""
    per_row = [e for e in suite["expectations"] if e["type"] != UNIQUE]
    unique = [e for e in suite["expectations"] if e["type"] == UNIQUE]
    columns = list(suite_columns(suite, pl.DataFrame(schema=parts.schema)).columns)
    totals: dict[int, dict] = {}
    configs: dict[int, object] = {}
    for frame in parts.frames(columns):
        for i, (cfg, _ok, res) in enumerate(_validate(suite, per_row, frame)):
            configs[i] = cfg
            t = totals.setdefault(i, {"element_count": 0, "unexpected_count": 0, "missing_count": 0, "examples": []})
            for k in ("element_count", "unexpected_count", "missing_count"):
                t[k] += int(res.get(k) or 0)
            t["examples"] += list(res.get("partial_unexpected_list") or [])[: 5 - len(t["examples"])]
    failures = []
    for i, t in totals.items():
        cfg = configs[i]
        if not _passes(cfg.type, cfg.kwargs.get("mostly", 1.0), t):  # type: ignore[attr-defined]
            failures.append(
                _failure(cfg, {"unexpected_count": t["unexpected_count"], "partial_unexpected_list": t["examples"]})
            )
    for e in unique:
        column = e["kwargs"]["column"]
        repeated = (
            parts.scan()
            .select(pl.col(column))
            .drop_nulls()
            .filter(pl.col(column).is_duplicated())
            .collect()
            .to_series()
        )
        if repeated.len():
            failures.append(
                {
                    "expectation": UNIQUE,
                    "column": column,
                    "unexpected_count": repeated.len(),
                    "examples": [str(x) for x in repeated.head(5).to_list()],
                }
            )
    return SuiteResult(
        suite["name"],
        suite["table"],
        suite.get("severity", "warning"),
        not failures,
        failures,
        len(per_row) + len(unique),
    )


def _passes(kind: str, mostly: float, t: dict) -> bool:
    """GX's success rule for column-map expectations on summed counts: the share of expected values among
    the rows judged (every row for the null checks; the non-null rows otherwise) is at least `mostly`."""
    judged = t["element_count"] if kind.endswith("_to_be_null") else t["element_count"] - t["missing_count"]
    if judged == 0:
        return True
    return (judged - t["unexpected_count"]) / judged >= mostly
