"""Two frames in one sort order made one, without sorting again: the rows kept from the last build and the few
recomputed ones (issue 20: sorting millions of rows to place one upload's was a second or more per table)."""

from __future__ import annotations

import polars as pl

MAX_GROUPS = 10_000  # beyond this many fresh keys a full sort is as cheap


def spliced(
    kept: pl.DataFrame, fresh: pl.DataFrame, key: str, by: list[str], descending: list[bool] | bool = False
) -> pl.DataFrame:
    """kept + fresh in the order `sort(by, descending, maintain_order=True)` of their concatenation gives, when
    `by` starts with `key`, the two share no `key` value and each is already in that order: each fresh key's
    rows are spliced in where the key sorts among the kept ones. Otherwise (or with many fresh keys) they are
    concatenated and sorted."""
    fresh_keys = fresh[key] if fresh.height else None
    if (
        fresh_keys is None
        or not kept.height
        or by[0] != key
        or fresh_keys.n_unique() > MAX_GROUPS
        or not kept[key].is_sorted()
        or not fresh_keys.is_sorted()
    ):
        return pl.concat([kept, fresh], how="diagonal_relaxed").sort(by, descending=descending, maintain_order=True)
    groups = fresh.partition_by(key, maintain_order=True)
    at = kept[key].search_sorted(pl.Series([g[key][0] for g in groups], dtype=kept.schema[key]), side="left")
    pieces, start = [], 0
    for group, end in zip(groups, at.to_list()):
        pieces += [kept.slice(start, end - start), group]
        start = end
    pieces.append(kept.slice(start))
    return pl.concat(pieces, how="diagonal_relaxed")


def without(frame: pl.DataFrame, key: str, drop: pl.Series) -> pl.DataFrame:
    """`frame` without the rows whose `key` is in `drop`, in the same order. When `frame` is sorted by `key`
    and `drop` is small, their ranges are cut out (found by binary search) instead of testing every row."""
    if drop.is_empty() or not frame.height:
        return frame
    if drop.n_unique() > MAX_GROUPS or not frame[key].is_sorted():
        return frame.filter(~pl.col(key).is_in(drop.implode()))
    targets = drop.unique().sort().cast(frame.schema[key])
    low = frame[key].search_sorted(targets, side="left").to_list()
    high = frame[key].search_sorted(targets, side="right").to_list()
    pieces, start = [], 0
    for a, b in zip(low, high):
        if a > start:
            pieces.append(frame.slice(start, a - start))
        start = max(start, b)
    pieces.append(frame.slice(start))
    return pl.concat(pieces)
