"""A table's content as a digest: what keys kept work (matched lines, suite verdicts) to the data it came from."""

from __future__ import annotations

import hashlib
import io
from typing import IO, cast

import polars as pl

from pipelines.common.parts import Parts


class _HashingSink(io.RawIOBase):
    """A write-only file that only hashes what is written (no copy of a large table in memory)."""

    def __init__(self) -> None:
        self.sha = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # noqa: ANN001 - bytes-like
        self.sha.update(data)
        return len(data)


def update(h, table: pl.DataFrame | Parts | None) -> None:
    """Feed `h` the table's values and types (a table in parts: part after part; the chunking is a setting)."""
    if table is None:
        h.update(b"none")
        return
    if isinstance(table, Parts):
        for part in table.frames():
            update(h, part)
        return
    # the values and types in a canonical layout: Parquet without compression or statistics in fixed row
    # groups encodes only what is there (IPC also carries the bytes under null slots and string-view buffers,
    # which depend on how the frame was built: the same table hashed differently after a round trip)
    sink = _HashingSink()
    table.write_parquet(cast(IO[bytes], sink), compression="uncompressed", statistics=False, row_group_size=65536)
    h.update(sink.sha.digest())


def table_digest(table: pl.DataFrame | Parts | None) -> str:
    h = hashlib.sha256()
    update(h, table)
    return h.hexdigest()
