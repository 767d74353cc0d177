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
    product_rows = [
        {
            "process_id": product_process_id(r["uscc"], r["product_id"]),
            "name": r["product_name"],
            "kind": "product",
            "unit": r["declared_unit"],
            "reference_amount": 1.0,
            "category": r.get("category"),
        }
        for r in products.iter_rows(named=True)
    ]
    known_products = {r["process_id"] for r in product_rows}
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
    factor_rows = [
        {
            "process_id": f"factor:{r['factor_id']}",
            "name": r["name_zh"] or r["name_en"],
            "kind": "factor",
            "unit": r["unit"],
            "reference_amount": 1.0,
            "category": r["activity_category"],
        }
        for r in f.iter_rows(named=True)
    ]
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
    supplier_rows = [
        {
            "process_id": f"supplier:{r['upload_id']}/{r['line_id']}",
            "name": f"{r['item']} ({r['factor_name']})",
            "kind": "supplier",
            "unit": r["unit"],
            "reference_amount": 1.0,
            "category": "supplier_specific",
        }
        for r in supplier.iter_rows(named=True)
    ]
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
    processes = pl.DataFrame(product_rows + factor_rows + supplier_rows)
    biosphere = pl.concat([b.cast({"amount_kg": pl.Float64, "gsd2": pl.Float64}) for b in bio])
    return processes, tech, biosphere, weights
