"""Run the SQL models in ``sql/`` on DuckDB over in-memory Arrow/Polars frames.

A model is a SELECT in ``sql/<layer>/<name>.sql`` that reads the frames passed by name. Frames go in
as Arrow tables cut into record batches, which DuckDB scans on all threads (a registered Polars frame is
one stream, scanned on one thread: 0.32 s instead of 0.19 s for the factor ids of 1,000,000 rows), and
come back as Arrow with string views (Polars' own string layout), so strings are not rebuilt on the way
out (0.3 s instead of 0.9 s). Keeping the SQL in files lets analysts read the logic and lets the tests
transpile it (sqlglot) to other engines.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa

from pipelines.config import SQL_DIR

SCAN_BATCH_ROWS = 131_072  # one DuckDB scan task per batch


def as_arrow_batches(frame: pl.DataFrame) -> pa.Table:
    table = frame.to_arrow()
    return pa.Table.from_batches(table.to_batches(max_chunksize=SCAN_BATCH_ROWS), schema=table.schema)


def model_path(name: str) -> Path:
    return SQL_DIR / f"{name}.sql"


def run_model(name: str, con: duckdb.DuckDBPyConnection | None = None, **frames: pl.DataFrame) -> pl.DataFrame:
    own = con is None
    con = con or duckdb.connect()
    try:
        con.execute("set produce_arrow_string_view = true")
        for table, frame in frames.items():
            con.register(table, as_arrow_batches(frame))
        result = con.sql(model_path(name).read_text(encoding="utf-8")).pl()
        for table in frames:
            con.unregister(table)
        return result
    finally:
        if own:
            con.close()
