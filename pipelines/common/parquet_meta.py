"""Parquet files that carry a small JSON record in their schema metadata, replaced atomically: work a build
keeps for the next (matched lines, the tables of the uploads in force) stored with the key it was computed
under in the same file as its rows, so the rows and their key can never disagree."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from pipelines.common.atomic import replacing

KEY = b"pcf"


def write(path: Path, frame: pl.DataFrame, meta: dict) -> None:
    table = frame.to_arrow()
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), KEY: json.dumps(meta)})
    with replacing(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def read_meta(path: Path) -> dict | None:
    """The record, without reading the rows; None when the file is missing, damaged or has none."""
    try:
        return json.loads(pq.read_schema(path).metadata[KEY])
    except (FileNotFoundError, KeyError, TypeError, ValueError, OSError):
        return None
