"""Run the SQL models in ``sql/`` on DuckDB over in-memory Arrow/Polars frames.

A model is a SELECT in ``sql/<layer>/<name>.sql`` that reads the frames passed by name; DuckDB reads
Polars frames through Arrow without copying. Keeping the SQL in files lets analysts read the logic and
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
        for table, frame in frames.items():
            con.register(table, frame.to_arrow())
        result = con.execute(model_path(name).read_text(encoding="utf-8")).pl()
        for table in frames:
            con.unregister(table)
        return result
    finally:
        if own:
            con.close()
