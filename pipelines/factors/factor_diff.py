"""What changed between two factor tables, judged on what the source publishes.

A factor has *changed* when a value the publisher states changed: the published CO2e (scaled only for the
unit, never recomputed under a GWP set), any published gas amount, the reference unit (canonical or as
written: a currency-year change of "2021 USD" to "2022 USD" is a change) or the geography. A CO2e that
moves only because the GWP set applied by the warehouse moved is reported apart (`co2e_recomputed`), so
`pcf diff` counts published-value changes exactly.

Series: factors of the same series_id (source, activity, geography, unit, purpose) across reference
years. A factor added in the new table whose series already had an earlier year is also shown as the
next value of that series (previous year, previous value, change).
"""

from __future__ import annotations

import polars as pl

PUBLISHED_VALUE_COLUMNS = (
    "published_co2e_kg",
    "co2_fossil_kg",
    "co2_biogenic_kg",
    "ch4_fossil_kg",
    "ch4_biogenic_kg",
    "ch4_unspecified_kg",
    "n2o_kg",
)
COLUMNS = [
    "factor_id",
    "series_id",
    "source_id",
    "natural_key",
    "name_zh",
    "name_en",
    "co2e_kg",
    "gwp_set",
    "unit",
    "unit_label",
    "geography_code",
    "reference_year",
    "source_version",
    "steward_status",
    *PUBLISHED_VALUE_COLUMNS,
]
REL_TOL = 1e-9


def compared_columns(frame: pl.DataFrame) -> pl.DataFrame:
    missing = [c for c in COLUMNS if c not in frame.columns]  # a release written before a column existed
    return frame.with_columns([pl.lit(None, dtype=pl.String).alias(c) for c in missing]).select(COLUMNS)


def _differs(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    both = a.is_not_null() & b.is_not_null()
    numeric_change = both & ((a - b).abs() > REL_TOL * pl.max_horizontal(a.abs(), b.abs()))
    return (numeric_change | (a.is_null() != b.is_null())).fill_null(False)


def compare(old: pl.DataFrame, new: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """-> added, removed, changed (published values), co2e_recomputed (only the applied GWP moved), series
    (added factors that continue a series)."""
    a, b = compared_columns(old), compared_columns(new)
    added = b.join(a, on="factor_id", how="anti").sort("factor_id")
    removed = a.join(b, on="factor_id", how="anti").sort("factor_id")
    both = a.join(b, on="factor_id", suffix="_new")
    reasons = [
        (_differs(pl.col(c).cast(pl.Float64), pl.col(f"{c}_new").cast(pl.Float64)), c) for c in PUBLISHED_VALUE_COLUMNS
    ]
    reasons += [
        ((pl.col(c) != pl.col(f"{c}_new")).fill_null(pl.col(c).is_null() != pl.col(f"{c}_new").is_null()), c)
        for c in ("unit", "unit_label", "geography_code")
    ]
    fields = pl.concat_str(
        [pl.when(cond).then(pl.lit(name)) for cond, name in reasons], separator=",", ignore_nulls=True
    )
    both = both.with_columns(fields.alias("changed_fields"))
    shared: list[pl.Expr | str] = [
        "factor_id",
        "source_id",
        "natural_key",
        pl.coalesce("name_zh", "name_en").alias("name"),
        pl.col("published_co2e_kg").alias("old_published_co2e_kg"),
        pl.col("published_co2e_kg_new").alias("new_published_co2e_kg"),
        pl.col("unit_label").alias("old_unit_label"),
        pl.col("unit_label_new").alias("new_unit_label"),
        pl.col("unit").alias("old_unit"),
        pl.col("unit_new").alias("new_unit"),
        pl.col("co2e_kg").alias("old_co2e_kg"),
        pl.col("co2e_kg_new").alias("new_co2e_kg"),
        pl.col("gwp_set").alias("old_gwp_set"),
        pl.col("gwp_set_new").alias("new_gwp_set"),
        ((pl.col("co2e_kg_new") - pl.col("co2e_kg")) / pl.col("co2e_kg").abs()).alias("relative_change_co2e"),
        ((pl.col("published_co2e_kg_new") - pl.col("published_co2e_kg")) / pl.col("published_co2e_kg").abs()).alias(
            "relative_change_published"
        ),
        pl.col("source_version").alias("old_source_version"),
        pl.col("source_version_new").alias("new_source_version"),
    ]
    changed = both.filter(pl.col("changed_fields") != "").select(*shared, "changed_fields").sort("factor_id")
    recomputed = (
        both.filter((pl.col("changed_fields") == "") & _differs(pl.col("co2e_kg"), pl.col("co2e_kg_new")))
        .select(*shared)
        .sort("factor_id")
    )
    # series: the latest earlier year of the same series in the old table
    previous = a.filter(pl.col("series_id").is_not_null()).select(
        "series_id",
        pl.col("factor_id").alias("previous_factor_id"),
        pl.col("reference_year").alias("previous_year"),
        pl.coalesce("published_co2e_kg", "co2e_kg").alias("previous_value"),
        pl.col("unit_label").alias("previous_unit_label"),
    )
    series = (
        added.filter(pl.col("series_id").is_not_null())
        .join(previous, on="series_id")
        .filter(pl.col("previous_year") < pl.col("reference_year"))
        .sort("factor_id", "previous_year", descending=[False, True])
        .group_by("factor_id", maintain_order=True)
        .first()
        .select(
            "factor_id",
            "series_id",
            "source_id",
            pl.coalesce("name_zh", "name_en").alias("name"),
            "previous_factor_id",
            "previous_year",
            "previous_value",
            "previous_unit_label",
            pl.col("reference_year").alias("year"),
            pl.coalesce("published_co2e_kg", "co2e_kg").alias("value"),
            pl.col("unit_label"),
            (
                (pl.coalesce("published_co2e_kg", "co2e_kg") - pl.col("previous_value"))
                / pl.col("previous_value").abs()
            ).alias("relative_change"),
        )
    )
    added = added.join(
        series.select(
            "factor_id",
            "previous_factor_id",
            "previous_year",
            "previous_value",
            pl.col("relative_change").alias("series_change"),
        ),
        on="factor_id",
        how="left",
    ).sort("factor_id")
    return {"added": added, "removed": removed, "changed": changed, "co2e_recomputed": recomputed, "series": series}


def counts(result: dict[str, pl.DataFrame]) -> dict[str, int]:
    return {k: v.height for k, v in result.items()}
