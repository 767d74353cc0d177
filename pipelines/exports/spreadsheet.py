"""Text cells that a spreadsheet would run as a formula (=, +, -, @, or a leading tab / carriage return)
are written with a leading apostrophe in every CSV or XLSX export, so that opening an export in Excel or
WPS never executes anything a source or an upload wrote. Parquet and JSON keep the values as they are."""

from __future__ import annotations

import polars as pl

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(frame: pl.DataFrame) -> pl.DataFrame:
    text = [c for c, t in frame.schema.items() if t == pl.String]
    risky = pl.col(text).str.slice(0, 1).is_in(list(FORMULA_START))
    return (
        frame.with_columns(pl.when(risky).then(pl.lit("'") + pl.col(text)).otherwise(pl.col(text)).name.keep())
        if text
        else frame
    )
