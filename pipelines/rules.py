"""First-failing-rule evaluation for millions of rows.

Conditions are cheap booleans; messages are string formatting. So the index of the first failing rule
is computed for every row, and rule id, column and message only for the rows that failed.
"""

from __future__ import annotations

import polars as pl

Rule = tuple[pl.Expr, pl.Expr, pl.Expr, pl.Expr]  # condition, rule id, column, message


def first_failure(frame: pl.DataFrame, rules: list[Rule], row_key: str) -> pl.DataFrame:
    """Add _rule, _col, _msg (null where every rule holds). `row_key` must be unique per row."""
    index = pl.coalesce([pl.when(cond.fill_null(False)).then(pl.lit(i, pl.Int32)) for i, (cond, *_rest) in enumerate(rules)])
    frame = frame.with_columns(index.alias("_fail"))
    failed = frame.filter(pl.col("_fail").is_not_null())
    rule = col = msg = pl.lit(None, dtype=pl.String)
    for i, (_cond, r, c, m) in reversed(list(enumerate(rules))):
        hit = pl.col("_fail") == i
        rule = pl.when(hit).then(r).otherwise(rule)
        col = pl.when(hit).then(c).otherwise(col)
        msg = pl.when(hit).then(m).otherwise(msg)
    details = failed.select(row_key, rule.cast(pl.String).alias("_rule"), col.cast(pl.String).alias("_col"),
                            msg.cast(pl.String).alias("_msg"))
    return frame.drop("_fail").join(details, on=row_key, how="left", maintain_order="left")
