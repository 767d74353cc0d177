"""First-failing-rule evaluation for millions of rows.

Conditions are cheap booleans; messages are string formatting. So the index of the first failing rule
is computed for every row, and rule id, column and message only for the rows that failed.
"""

from __future__ import annotations

import polars as pl

Rule = tuple[pl.Expr, pl.Expr, pl.Expr, pl.Expr]  # condition, rule id, column, message


def first_failure(frame: pl.DataFrame, rules: list[Rule], row_key: str) -> pl.DataFrame:
    """Add _rule, _col, _msg (null where every rule holds). `row_key` must be unique per row."""
    index = pl.coalesce(
        [pl.when(cond.fill_null(False)).then(pl.lit(i, pl.Int32)) for i, (cond, *_rest) in enumerate(rules)]
    )
    # with_columns, not select: a rule whose condition is a literal (a whole file's error) holds on every row
    fail = frame.with_columns(index.alias("_fail"))["_fail"]
    at = fail.is_not_null().arg_true()
    rule_s, col_s, msg_s = (
        pl.select(pl.repeat(None, frame.height, dtype=pl.String).alias(name)).to_series()
        for name in ("_rule", "_col", "_msg")
    )
    if len(at):
        # Details only for the failing rows, then scattered back by position (no join over all rows).
        rule = col = msg = pl.lit(None, dtype=pl.String)
        for i, (_cond, r, c, m) in reversed(list(enumerate(rules))):
            hit = pl.col("_fail") == i
            rule = pl.when(hit).then(r).otherwise(rule)
            col = pl.when(hit).then(c).otherwise(col)
            msg = pl.when(hit).then(m).otherwise(msg)
        details = (
            frame[at]
            .with_columns(fail.gather(at))
            .select(
                rule.cast(pl.String).alias("_rule"),
                col.cast(pl.String).alias("_col"),
                msg.cast(pl.String).alias("_msg"),
            )
        )
        rule_s = rule_s.scatter(at, details["_rule"])
        col_s = col_s.scatter(at, details["_col"])
        msg_s = msg_s.scatter(at, details["_msg"])
    return frame.with_columns(rule_s, col_s, msg_s)
