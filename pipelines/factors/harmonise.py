"""Harmonisation: reference units to canonical pint units, geography to codes, gases to kg and CO2e under
the selected GWP set; data-quality scores and uncertainty; stable ids; cross-source outlier flags.

Input: the rows that passed validation. Output: the release tables factor, factor_gas, factor_lineage.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pipelines.common import quality
from pipelines.common.gwp import gwp_or_none
from pipelines.common.sqlmodels import run_model
from pipelines.factors.schema import (
    BIOGENIC_GASES,
    FACTOR_GAS_SCHEMA,
    FACTOR_SCHEMA,
    GAS_COLUMNS,
    LINEAGE_SCHEMA,
    STAGED_GAS_COLUMNS,
)


@dataclass
class Harmonised:
    factor: pl.DataFrame
    factor_gas: pl.DataFrame
    factor_lineage: pl.DataFrame


@dataclass
class HarmonisedRows:
    """Row-wise part of harmonisation: factors before the cross-source outlier flags, the columns the
    outlier comparison needs (`comparable`), gases and lineage."""

    factor: pl.DataFrame
    comparable: pl.DataFrame
    factor_gas: pl.DataFrame
    factor_lineage: pl.DataFrame


def harmonise(passed: pl.DataFrame, gwp_set: str, assessment_year: int) -> Harmonised:
    """The whole of harmonisation on one frame (the in-memory path; pipelines/factors/streaming.py runs the
    same three functions a chunk at a time)."""
    rows = harmonise_rows(passed, gwp_set, assessment_year)
    return Harmonised(flag_outliers(rows.factor, outlier_ids(rows.comparable)), rows.factor_gas, rows.factor_lineage)


def outlier_ids(comparable: pl.DataFrame) -> pl.Series:
    """Factor ids that sit more than a factor of 10 from their group's median (sql/intermediate)."""
    return run_model("intermediate/int_factor_outliers", factors=comparable)["factor_id"]


def flag_outliers(factor: pl.DataFrame, ids: pl.Series) -> pl.DataFrame:
    if ids.len() == 0:
        return factor
    return factor.with_columns(
        pl.when(pl.col("factor_id").is_in(ids.implode()))
        .then(pl.concat_str([pl.col("qa_flags"), pl.lit("outlier.cross_source")], separator=",", ignore_nulls=True))
        .otherwise(pl.col("qa_flags"))
        .alias("qa_flags")
    )


COMPARABLE_COLUMNS = [
    "factor_id",
    "source_id",
    "co2e_kg",
    "activity_key",
    "factor_purpose",
    "unit",
    "activity_category",
    "geography_country",
]


def harmonise_rows(passed: pl.DataFrame, gwp_set: str, assessment_year: int) -> HarmonisedRows:
    passed = passed.drop("_row", "published_sum", "missing_gwp")
    ids = run_model(
        "intermediate/int_factor_keyed",
        passed=passed.select(
            "source_id",
            "natural_key",
            "activity_key",
            "classification_code",
            "name_en",
            "name_zh",
            "geography_code",
            "unit",
            "factor_purpose",
        ),
    )
    keyed = passed.with_columns(ids["factor_id"], ids["series_id"]).with_row_index("_i")
    scale = pl.col("value_scale").fill_null(1.0) * pl.col("unit_factor")

    # factor_gas: the six main gases from their columns, the others from the list column; per factor, its main
    # gases in column order, then its others in list order (an order that does not depend on how the factors
    # are chunked). One slice per main gas, so that the gas name, its GWP and the biogenic flag are constants
    # per slice rather than looked up on millions of rows.
    others = (
        keyed.filter(pl.col("gases").list.len() > 0)
        .select("_i", "factor_id", "gases", scale.alias("_scale"))
        .explode("gases")
        .unnest("gases")
        .select("_i", "factor_id", "_scale", "gas", "amount", "as_co2e")
        .with_row_index("_k")
    )
    gwps = {g: gwp_or_none(g, gwp_set) for g in [*GAS_COLUMNS, *others["gas"].unique().to_list()]}
    lazy = keyed.lazy()
    main = [
        lazy.filter(pl.col(c).is_not_null()).select(
            "_i",
            pl.lit(n, dtype=pl.Int32).alias("_g"),
            pl.lit(0, dtype=pl.UInt32).alias("_k"),
            "factor_id",
            pl.lit(g).alias("gas"),
            (pl.col(c) * scale).alias("amount_kg"),
            pl.lit(gwps[g], dtype=pl.Float64).alias("gwp"),
            pl.lit(g in BIOGENIC_GASES).alias("biogenic"),
        )
        for n, (g, c) in enumerate(STAGED_GAS_COLUMNS.items())
    ]
    other = others.lazy().select(
        "_i",
        pl.lit(len(STAGED_GAS_COLUMNS), dtype=pl.Int32).alias("_g"),
        pl.col("_k").cast(pl.UInt32),
        "factor_id",
        "gas",
        (pl.col("amount") * pl.col("_scale")).alias("amount_kg"),
        pl.when(pl.col("as_co2e"))
        .then(pl.lit(1.0))
        .otherwise(pl.col("gas").replace_strict(gwps, default=None, return_dtype=pl.Float64))
        .alias("gwp"),
        pl.col("gas").is_in(list(BIOGENIC_GASES)).alias("biogenic"),
    )
    gas_rows = pl.concat([*main, other]).select(
        "_i",
        "_g",
        "_k",
        "factor_id",
        "gas",
        "amount_kg",
        "gwp",
        (pl.col("amount_kg") * pl.col("gwp")).alias("co2e_kg"),
        pl.lit(gwp_set).alias("gwp_set"),
        "biogenic",
    )
    factor_gas = (
        gas_rows.sort("_i", "_g", "_k").drop("_i", "_g", "_k").collect().cast(FACTOR_GAS_SCHEMA)  # type: ignore[arg-type]
    )
    # (the product as a column first, then the sum: the same floating-point steps as the gas rows' co2e_kg)
    other_co2e = (
        other.filter(~pl.col("gas").is_in(list(GAS_COLUMNS)))
        .select("factor_id", (pl.col("amount_kg") * pl.col("gwp")).alias("co2e_kg"))
        .collect()
        .group_by("factor_id", maintain_order=True)
        .agg(pl.col("co2e_kg").sum().alias("fgas_co2e_kg"))
    )
    keyed = keyed.drop("_i")

    # Per factor, vectorised over the gas columns; only the few rows with other gases are grouped (above).
    main_kg = {g: pl.col(c) * scale for g, c in STAGED_GAS_COLUMNS.items()}
    any_gas = (
        pl.any_horizontal([pl.col(c).is_not_null() for c in STAGED_GAS_COLUMNS.values()])
        | pl.col("fgas_co2e_kg").is_not_null()
    )
    main_co2e = pl.sum_horizontal([e.fill_null(0.0) * gwps[g] for g, e in main_kg.items()])
    per_factor_columns = [
        *[e.alias(GAS_COLUMNS[g]) for g, e in main_kg.items()],
        pl.when(any_gas).then(main_co2e + pl.col("fgas_co2e_kg").fill_null(0.0)).alias("_gas_co2e"),
        pl.sum_horizontal([main_kg[g].fill_null(0.0) * gwps[g] for g in BIOGENIC_GASES]).alias("co2e_biogenic_kg"),
    ]
    # Joins over every factor only when there is something to join (usually a few rows, often none).
    keyed = (
        keyed.join(other_co2e, on="factor_id", how="left", maintain_order="left")
        if other_co2e.height
        else keyed.with_columns(pl.lit(None, dtype=pl.Float64).alias("fgas_co2e_kg"))
    )

    frame = (
        keyed.with_columns(*per_factor_columns)
        .with_columns(
            (pl.col("co2e_published") * scale).alias("published_co2e_kg"),
            (scale).alias("unit_scale_from_published"),
        )
        .with_columns(
            pl.when(pl.col("gas_basis") == "co2e_only")
            .then(pl.col("published_co2e_kg"))
            .otherwise(pl.col("_gas_co2e"))
            .alias("co2e_kg"),
            pl.col("co2e_biogenic_kg").fill_null(0.0),
            pl.lit(gwp_set).alias("gwp_set"),
            pl.col("valid_from").fill_null(pl.date(pl.col("reference_year"), 1, 1)),
            pl.coalesce(pl.col("dq_reliability"), pl.lit(4)).cast(pl.Int8).alias("dq_reliability"),
            pl.coalesce(pl.col("dq_completeness"), pl.lit(3)).cast(pl.Int8).alias("dq_completeness"),
            pl.coalesce(pl.col("dq_technological"), pl.lit(3)).cast(pl.Int8).alias("dq_technological"),
            quality.temporal_score(pl.lit(assessment_year) - pl.col("reference_year")).alias("dq_temporal"),
            quality.geographical_score(pl.col("geography_level"), pl.col("geography_country")).alias("dq_geographical"),
            pl.col("unit_raw").alias("unit_label"),
            pl.lit("lognormal").alias("uncertainty_distribution"),
            # a row whose own licence forbids redistribution is internal_only, whatever its source's default
            pl.when(pl.col("redistributable").fill_null(True))
            .then(pl.col("steward_default"))
            .otherwise(pl.lit("internal_only"))
            .alias("steward_status"),
        )
        .with_columns(
            quality.dqr_expr().alias("dqr"),
            pl.coalesce(pl.col("gsd2_published"), quality.gsd2_expr()).alias("gsd2"),
            (
                pl.col("publisher").is_not_null()
                & pl.col("document").is_not_null()
                & pl.col("locator").is_not_null()
                & pl.col("publication_date").is_not_null()
                & (
                    pl.col("url").is_not_null()
                    | pl.col("doi").is_not_null()
                    | pl.col("licence").str.starts_with("CN-official")
                )
            ).alias("metrological_traceability"),
        )
    )
    comparable = frame.filter(pl.col("activity_key").is_not_null()).select(COMPARABLE_COLUMNS)
    # Row order is the sources' own (load order, then file order): deterministic for the same inputs,
    # so no sort is needed for byte-identical releases.
    factor = frame.select([pl.col(c).cast(t) for c, t in FACTOR_SCHEMA.items()]).with_columns(
        pl.col("qa_flags").replace("", None)
    )
    lineage = (
        keyed.select("factor_id", "lineage")
        .explode("lineage")
        .unnest("lineage")
        .select(list(LINEAGE_SCHEMA))
        .cast(LINEAGE_SCHEMA)  # type: ignore[arg-type]
    )
    return HarmonisedRows(factor, comparable, factor_gas, lineage)
