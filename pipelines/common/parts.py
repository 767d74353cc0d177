"""A large table as ordered Parquet parts on disk: the factor path's out-of-core form (issue 20).

A source of millions of rows is staged, validated and harmonised a chunk at a time; what passes from one
step to the next is a `Parts` (the files, in row order, and the schema), never the whole frame. Readers
scan it lazily (`scan`), go through it a chunk at a time (`frames`), or collect it when they need it whole
(`collect`). The Dagster IO manager (pipelines/asset_store.py) moves the files into the step's stored output,
so parts live and die with the output that holds them.

The same inputs give the same frames in the same order whatever the chunk size: `frames()` concatenated
equals the in-memory table, which is what keeps the release byte-identical (tests/test_streaming.py).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.common.processes import alive


def write_part(frame: pl.DataFrame, path: Path | str) -> None:
    """One part between steps: fast codec, no statistics (parts are read whole, in order); the release is
    written from them with the release's own settings (pipelines/release/publish.py)."""
    frame.write_parquet(path, compression="lz4", statistics=False)


@dataclass
class Parts:
    files: list[str]
    schema: pl.Schema
    rows: int
    # the writer settings the files were written with, when a reader can take the bytes as they are (a release
    # table written once in the release's own form: pipelines/release/publish.py `release_parts`)
    encoded_as: str | None = None

    @property
    def height(self) -> int:
        return self.rows

    @property
    def columns(self) -> list[str]:
        return list(self.schema)

    def scan(self) -> pl.LazyFrame:
        if not self.files:
            return pl.LazyFrame(schema=self.schema)
        return pl.scan_parquet(self.files, schema=self.schema)

    def frames(self, columns: list[str] | None = None) -> Iterator[pl.DataFrame]:
        """Each part in order (an empty table gives one empty frame, so that callers always see the schema)."""
        if not self.files:
            yield pl.DataFrame(schema=self.schema).select(columns or list(self.schema))
        for f in self.files:
            yield pl.read_parquet(f, columns=columns) if columns else pl.read_parquet(f)

    def collect(self) -> pl.DataFrame:
        return self.scan().collect() if self.files else pl.DataFrame(schema=self.schema)


SCRATCH_MARKER = ".pcf-scratch"  # what the IO manager looks for before it removes a directory parts came from


def scratch_dir(base: Path) -> Path:
    """A new directory for one step's parts, named by this process (removed when the step's output is stored,
    or reclaimed when no process of that id runs: `reclaim_scratch`)."""
    path = base / "scratch" / f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
    path.mkdir(parents=True)
    (path / SCRATCH_MARKER).touch()
    return path


class PartsWriter:
    """Append frames; `finish()` -> Parts. Empty frames are not written (they add nothing to the rows)."""

    def __init__(self, directory: Path, schema: pl.Schema | dict | None = None):
        self.directory = directory
        self.schema = pl.Schema(schema) if schema is not None else None
        self.files: list[str] = []
        self.rows = 0

    def write(self, frame: pl.DataFrame) -> None:
        if self.schema is None:
            self.schema = frame.schema
        elif frame.schema != self.schema:
            frame = frame.select(list(self.schema)).cast(self.schema)
        if frame.height == 0:
            return
        path = self.directory / f"part-{len(self.files):05d}.parquet"
        write_part(frame, path)
        self.files.append(str(path))
        self.rows += frame.height

    def finish(self) -> Parts:
        return Parts(self.files, self.schema if self.schema is not None else pl.Schema(), self.rows)


def write_parts(frames: Iterable[pl.DataFrame], directory: Path, schema: pl.Schema | dict | None = None) -> Parts:
    writer = PartsWriter(directory, schema)
    for frame in frames:
        writer.write(frame)
    return writer.finish()


def whole(table: pl.DataFrame | Parts) -> pl.DataFrame:
    """The table as one frame (for the steps that still need it whole)."""
    return table.collect() if isinstance(table, Parts) else table


def lazy(table: pl.DataFrame | Parts) -> pl.LazyFrame:
    return table.scan() if isinstance(table, Parts) else table.lazy()


def chunks(table: pl.DataFrame | Parts, rows: int = 0, columns: list[str] | None = None) -> Iterator[pl.DataFrame]:
    """The table a chunk at a time: a Parts by its parts, a frame by slices of `rows` (one slice if 0)."""
    if isinstance(table, Parts):
        yield from table.frames(columns)
        return
    if columns:
        table = table.select(columns)
    if rows <= 0 or table.height <= rows:
        yield table
    else:
        yield from table.iter_slices(rows)


def reclaim_scratch(base: Path) -> list[str]:
    """Remove scratch directories of processes that no longer run (a killed build's parts)."""
    removed = []
    root = base / "scratch"
    for path in sorted(root.iterdir()) if root.is_dir() else []:
        pid = path.name.split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return removed
