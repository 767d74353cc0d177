"""Great Expectations suites kept as JSON in expectations/, run on release tables (as Dagster asset
checks; 'critical' suites block the publish).

GX 1.x runs in an ephemeral context on a pandas frame (the SQL datasource on DuckDB is broken upstream,
and the file context writes into the repository; see ../shared/reference/stack-notes.md). GX is imported
lazily: it takes about 2 s to import.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

import polars as pl

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


def run_suite(suite: dict, frame: pl.DataFrame) -> SuiteResult:
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
    batch = batch_def.get_batch(batch_parameters={"dataframe": suite_columns(suite, frame).to_pandas()})
    gx_suite = gx.ExpectationSuite(name=f"{name}-run")
    for exp in suite["expectations"]:
        gx_suite.add_expectation(ExpectationConfiguration(type=exp["type"], kwargs=exp["kwargs"]).to_domain_obj())
    result = batch.validate(gx_suite)
    failures = []
    for r in result.results:
        if not r.success:
            cfg = r.expectation_config
            res = r.result or {}
            failures.append(
                {
                    "expectation": cfg.type,
                    "column": cfg.kwargs.get("column"),
                    "unexpected_count": res.get("unexpected_count"),
                    "examples": [str(x) for x in (res.get("partial_unexpected_list") or [])[:5]],
                }
            )
    return SuiteResult(
        name, suite["table"], suite.get("severity", "warning"), bool(result.success), failures, len(result.results)
    )
