"""Enterprise products as network processes.

Each product of the uploads in force becomes a process making one declared unit; each of its
inventory lines is an input: of a factor process (one per warehouse factor used, its gases as
biosphere), of a supplier-specific process (the supplier's declared footprint per unit, as CO2e), or of
another enterprise's product (factor_ref 'product:<credit code>/<product id>'), so a cell's footprint
feeds a pack's, which feeds a car's. Inputs carry their stage and line id (for stage and contribution
marts) and a GSD^2 from the line's pedigree scores (activity-data uncertainty for the Monte Carlo).
"""

from __future__ import annotations

import polars as pl

from pipelines.common import quality

PRODUCT_PREFIX = "product:"


def product_process_id(uscc: str, product_id: str) -> str:
    return f"{PRODUCT_PREFIX}{uscc}/{product_id}"


def build_tables(
    lines: pl.DataFrame, products: pl.DataFrame, factors: pl.DataFrame, factor_gas: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, dict[str, float]]:
    """-> processes, technosphere, biosphere, gas weights (kg CO2e per kg of each gas, from the release)."""
    # built in Polars, not row by row (480,000 products at 10,000 uploads: issue 20)
    product_rows = products.select(
        pl.format("{}{}/{}", pl.lit(PRODUCT_PREFIX), "uscc", "product_id").alias("process_id"),
        pl.col("product_name").cast(pl.String).alias("name"),
        pl.lit("product").alias("kind"),
        pl.col("declared_unit").cast(pl.String).alias("unit"),
        pl.lit(1.0).alias("reference_amount"),
        (pl.col("category") if "category" in products.columns else pl.lit(None)).cast(pl.String).alias("category"),
    )
    known_products = set(product_rows["process_id"].to_list())
    usable = lines.filter(
        pl.col("co2e_kg_per_declared_unit").is_not_null()
        | ((pl.col("match_method") == "supplier_product") & pl.col("amount_per_declared_unit").is_not_null())
    )
    gsd2 = quality.gsd2_expr()
    tech = usable.with_columns(
        pl.format("{}{}/{}", pl.lit(PRODUCT_PREFIX), "uscc", "product_id").alias("consumer"),
        pl.when(pl.col("match_method") == "supplier_specific")
        .then(pl.format("supplier:{}/{}", "upload_id", "line_id"))
        .when(pl.col("match_method") == "supplier_product")
        .then(pl.col("factor_id"))
        .otherwise(pl.format("factor:{}", "factor_id"))
        .alias("provider"),
        pl.col("amount_per_declared_unit").alias("amount"),
        gsd2.alias("gsd2"),
    ).select("consumer", "provider", "amount", "gsd2", "stage", "line_id")
    # Factor processes (leaves) and supplier-specific processes.
    used_factors = usable.filter(~pl.col("match_method").is_in(["supplier_specific", "supplier_product"]))[
        "factor_id"
    ].unique()
    f = factors.filter(pl.col("factor_id").is_in(used_factors.implode()))
    name_zh = pl.col("name_zh").cast(pl.String)
    factor_rows = f.select(
        pl.format("factor:{}", "factor_id").alias("process_id"),
        pl.when(name_zh.is_null() | (name_zh == ""))
        .then(pl.col("name_en"))
        .otherwise(name_zh)
        .cast(pl.String)
        .alias("name"),
        pl.lit("factor").alias("kind"),
        pl.col("unit").cast(pl.String),
        pl.lit(1.0).alias("reference_amount"),
        pl.col("activity_category").cast(pl.String).alias("category"),
    )
    gases = factor_gas.filter(pl.col("factor_id").is_in(used_factors.implode()))
    per_gas_ids = set(gases["factor_id"].unique().to_list())
    bio = [
        gases.select(
            pl.format("factor:{}", "factor_id").alias("process_id"),
            "gas",
            "amount_kg",
            pl.lit(None, dtype=pl.Float64).alias("gsd2"),
        )
    ]
    weights = {g: w for g, w in gases.select("gas", "gwp").unique("gas").rows()}
    co2e_only = f.filter(~pl.col("factor_id").is_in(list(per_gas_ids)))
    bio.append(
        co2e_only.select(
            pl.format("factor:{}", "factor_id").alias("process_id"),
            pl.lit("CO2e").alias("gas"),
            pl.col("co2e_kg").alias("amount_kg"),
            pl.col("gsd2"),
        )
    )
    # factor uncertainty: per factor GSD^2 applies to all its gas rows
    gsd_by_factor = dict(f.select(pl.format("factor:{}", "factor_id"), "gsd2").rows())
    bio[0] = bio[0].with_columns(
        pl.col("process_id").replace_strict(gsd_by_factor, default=None, return_dtype=pl.Float64).alias("gsd2")
    )
    supplier = usable.filter(pl.col("match_method") == "supplier_specific")
    supplier_rows = supplier.select(
        pl.format("supplier:{}/{}", "upload_id", "line_id").alias("process_id"),
        # as Python's f-string gives it (a missing name reads 'None')
        pl.format(
            "{} ({})",
            pl.col("item").cast(pl.String).fill_null("None"),
            pl.col("factor_name").cast(pl.String).fill_null("None"),
        ).alias("name"),
        pl.lit("supplier").alias("kind"),
        pl.col("unit").cast(pl.String),
        pl.lit(1.0).alias("reference_amount"),
        pl.lit("supplier_specific").alias("category"),
    )
    bio.append(
        supplier.select(
            pl.format("supplier:{}/{}", "upload_id", "line_id").alias("process_id"),
            pl.lit("CO2e").alias("gas"),
            pl.col("factor_co2e_per_unit").alias("amount_kg"),
            pl.lit(None, dtype=pl.Float64).alias("gsd2"),
        )
    )
    weights["CO2e"] = 1.0
    missing = set(tech.filter(pl.col("provider").str.starts_with(PRODUCT_PREFIX))["provider"]) - known_products
    if missing:
        raise ValueError(f"lines refer to products not in force: {sorted(missing)[:5]}")
    processes = pl.concat([product_rows, factor_rows, supplier_rows])
    biosphere = pl.concat([b.cast({"amount_kg": pl.Float64, "gsd2": pl.Float64}) for b in bio])
    return processes, tech, biosphere, weights
