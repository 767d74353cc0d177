"""The factor path a chunk at a time (issue 20): validation and harmonisation of millions of rows in bounded
memory, through Parquet parts (pipelines/common/parts.py).

Both steps are row-wise except for three things that need the whole table, done here over narrow columns:
- duplicate natural keys within a source (the first row in file order is kept): the key hashes of the passed
  rows are gathered (8 bytes a row); only rows whose hash repeats are read again and compared by their keys;
- the cross-source outlier flags: the columns the comparison needs (`comparable`, rows with an activity
  key only) are gathered and compared once (sql/intermediate/int_factor_outliers.sql);
- the row order of the quarantine: each row keeps its position in the whole staged table (`_row`).

Everything else is the in-memory path's own functions (validation.check_rows/split, harmonise.harmonise_rows,
flag_outliers) applied to each chunk, so the release is the same byte for byte (tests/test_streaming.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import polars as pl

from pipelines.common.parts import Parts, PartsWriter, chunks, write_part
from pipelines.factors.harmonise import Harmonised, flag_outliers, harmonise_rows, outlier_ids
from pipelines.factors.schema import (
    FACTOR_GAS_SCHEMA,
    FACTOR_SCHEMA,
    LINEAGE_SCHEMA,
    QUARANTINE_SCHEMA,
    STAGED_SCHEMA,
)
from pipelines.factors.validation import DUPLICATE_MESSAGE, check_rows, quarantine_rows, split

KEY = ["source_id", "natural_key"]


def validate_in_chunks(
    tables: Iterable[pl.DataFrame | Parts], gwp_set: str, assessment_year: int, chunk_rows: int, directory: Path
) -> tuple[Parts, pl.DataFrame, pl.DataFrame, int]:
    """Staged tables (in order) -> passed rows as parts, quarantine (sorted by staged position), the quarantined
    rows' lineage lists, and the number of staged rows."""
    (directory / "passed").mkdir(parents=True)
    writer = PartsWriter(directory / "passed")
    quarantine, lineage, hashes = [], [], []
    offset = 0
    for table in tables:
        for chunk in chunks(table, chunk_rows):
            result = split(check_rows(chunk, gwp_set, assessment_year, offset))
            offset += chunk.height
            written = len(writer.files)
            writer.write(result.passed)  # (an empty frame sets the schema, writes nothing)
            if len(writer.files) > written:
                hashes.append(result.passed.select(pl.struct(KEY).hash()).to_series())
            quarantine.append(result.quarantine)
            lineage.append(result.quarantine_lineage)
    passed = writer.finish()
    passed, dup_quarantine, dup_lineage = _duplicates(passed, hashes)
    q = (
        pl.concat([*quarantine, *dup_quarantine])
        if quarantine or dup_quarantine
        else pl.DataFrame(schema=QUARANTINE_SCHEMA)
    )
    ql = (
        pl.concat([*lineage, *dup_lineage])
        if lineage or dup_lineage
        else pl.DataFrame(schema={"lineage": STAGED_SCHEMA["lineage"]})
    )
    return passed, q.sort("_row").drop("_row", strict=False), ql, offset


def _duplicates(passed: Parts, hashes: list[pl.Series]) -> tuple[Parts, list[pl.DataFrame], list[pl.DataFrame]]:
    """validation.mark_duplicates over parts: the rows whose key an earlier passed row has leave the passed
    parts for the quarantine, with the same message."""
    every = pl.concat(hashes) if hashes else pl.Series(dtype=pl.UInt64)
    if every.n_unique() == every.len():  # distinct hashes: distinct keys
        return passed, [], []
    repeated = every.filter(every.is_duplicated()).unique().implode()
    candidates = []
    for i, (file, h) in enumerate(zip(passed.files, hashes)):
        at = h.is_in(repeated).arg_true()
        if at.len():
            keyed = pl.read_parquet(file, columns=[*KEY, "raw_file", "raw_row", "co2e_published"])[at]
            candidates.append(keyed.with_columns(pl.lit(i).alias("_part"), at.alias("_at")))
    found = pl.concat(candidates).with_columns((~pl.struct(KEY).is_first_distinct()).alias("_dup"))
    dups = found.filter(pl.col("_dup"))
    if not dups.height:  # hash collisions between different keys only
        return passed, [], []
    first = (
        found.filter(~pl.col("_dup"))
        .join(dups.select(KEY).unique(), on=KEY)
        .select(
            *KEY,
            pl.col("raw_file").alias("_first_file"),
            pl.col("raw_row").alias("_first_raw_row"),
            pl.col("co2e_published").alias("_first_value"),
        )
    )
    files, quarantine, lineage = list(passed.files), [], []
    rows, emptied = passed.rows, set()
    for (part,), drop in dups.group_by("_part", maintain_order=True):
        frame = pl.read_parquet(files[part])
        leaving = pl.int_range(pl.len(), dtype=pl.UInt32).is_in(drop["_at"].cast(pl.UInt32).implode())
        bad = (
            frame.filter(leaving)
            .join(first, on=KEY, how="left", maintain_order="left")
            .with_columns(
                pl.lit("duplicate.natural_key").alias("_rule"),
                pl.lit("natural_key").alias("_col"),
                DUPLICATE_MESSAGE.alias("_msg"),
            )
        )
        quarantine.append(quarantine_rows(bad))
        lineage.append(bad.select("lineage"))
        kept = frame.filter(~leaving)
        rows -= bad.height
        if kept.height:
            write_part(kept, files[part])
        else:
            emptied.add(part)
    return Parts([f for i, f in enumerate(files) if i not in emptied], passed.schema, rows), quarantine, lineage


def harmonise_in_chunks(passed: Parts, gwp_set: str, assessment_year: int, directory: Path) -> Harmonised:
    """Passed parts -> factor, factor_gas and factor_lineage parts (as `Harmonised`, each a Parts)."""
    for name in ("factor", "factor_gas", "factor_lineage"):
        (directory / name).mkdir(parents=True)
    factor = PartsWriter(directory / "factor", FACTOR_SCHEMA)
    gas = PartsWriter(directory / "factor_gas", FACTOR_GAS_SCHEMA)
    lineage = PartsWriter(directory / "factor_lineage", LINEAGE_SCHEMA)
    comparable = []
    for chunk in passed.frames():
        rows = harmonise_rows(chunk, gwp_set, assessment_year)
        factor.write(rows.factor)
        gas.write(rows.factor_gas)
        lineage.write(rows.factor_lineage)
        comparable.append(rows.comparable)
    factors = factor.finish()
    ids = outlier_ids(pl.concat(comparable))
    if ids.len():  # only the parts holding a flagged factor are written again
        for file in factors.files:
            frame = pl.read_parquet(file)
            if frame["factor_id"].is_in(ids.implode()).any():
                write_part(flag_outliers(frame, ids), file)
    return Harmonised(factors, gas.finish(), lineage.finish())  # type: ignore[arg-type]
