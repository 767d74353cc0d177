"""Plausibility of a line per unit of output: an amount per kilogram of product far beyond any real product
of its kind is a typo, a unit mix-up (t for kg, MWh for kWh) or a test of the system, and goes to the
stewards as a held product naming the line, never straight to a label.

Bounds per activity kind and canonical unit, per kg of product (applied where the declared unit is a mass
or the product declares its mass per unit). They are generous on purpose: about two orders of magnitude
above the most intensive products of each kind we know of, so that a real product is never held:
  energy  1e4 kWh/kg   (polysilicon ~1e2 kWh/kg, primary aluminium ~15 kWh/kg)
  fuel    1e2 kg/kg, 1e3 m3/kg, 1e4 kWh/kg (clinker ~0.1 kg coal/kg, flat glass ~0.2 m3 gas/kg)
  material 1e3 kg/kg, 10 m3/kg, 1e3 m2/kg, 1e4 pieces/kg (inputs to a kg of product)
  packaging 1e2 kg/kg, 1e3 m2/kg, 1e4 pieces/kg
  water   1e3 m3/kg, 1e6 kg/kg (rice ~2-3 m3/kg)
  waste   1e3 kg/kg, 1e3 m3/kg
  transport 1e5 t·km/kg
  direct_emission 1e2 kg/kg, refrigerant 1 kg/kg
"""

from __future__ import annotations

import polars as pl

from pipelines.common import units

MAX_PER_KG_OUTPUT = {
    ("energy", "kWh"): 1e4,
    ("fuel", "kg"): 1e2,
    ("fuel", "m**3"): 1e3,
    ("fuel", "kWh"): 1e4,
    ("material", "kg"): 1e3,
    ("material", "m**3"): 10.0,
    ("material", "m**2"): 1e3,
    ("material", "piece"): 1e4,
    ("packaging", "kg"): 1e2,
    ("packaging", "m**2"): 1e3,
    ("packaging", "piece"): 1e4,
    ("water", "m**3"): 1e3,
    ("water", "kg"): 1e6,
    ("waste", "kg"): 1e3,
    ("waste", "m**3"): 1e3,
    ("transport", "t*km"): 1e5,
    ("direct_emission", "kg"): 1e2,
    ("refrigerant", "kg"): 1.0,
}


def _kg_per_declared_unit(product: dict) -> float | None:
    try:
        return units.convert(product["declared_unit_amount"], product["declared_unit_label"], "kg")
    except Exception:  # not a mass: use the declared mass per unit, if any
        mass = product.get("mass_kg_per_unit")
        return (
            mass * product["declared_unit_amount"] / (product.get("declared_units_per_output_unit") or 1.0)
            if mass
            else None
        )


def implausible(lines: pl.DataFrame, products: pl.DataFrame) -> dict[tuple[str, str], str]:
    """(uscc, product_id) -> why, for products with a line beyond its kind's bound per kg of output (the
    first such line in line order). Column expressions over the lines, one conversion per distinct unit and
    per distinct declared unit: a Python loop over 336,000 lines was 2.4 s of every build at 1,000 uploads."""
    needed = {"amount", "unit", "kind", "allocation_share", "declared_units_in_period"}
    if lines.is_empty() or not needed <= set(lines.columns) or products.is_empty():
        return {}
    mass = _mass_table(products)
    unit_rows = []
    for u in lines["unit"].drop_nulls().unique().to_list():
        try:
            canonical = units.unit_info(u).canonical
            unit_rows.append({"unit": u, "_canonical": canonical, "_to_canonical": units.convert(1.0, u, canonical)})
        except Exception:  # a unit the registry cannot read: its lines are not judged here
            continue
    unit_table = pl.DataFrame(
        unit_rows, schema={"unit": pl.String, "_canonical": pl.String, "_to_canonical": pl.Float64}
    )
    bounds = pl.DataFrame(
        [{"kind": k, "_canonical": c, "_bound": b} for (k, c), b in MAX_PER_KG_OUTPUT.items()],
        schema={"kind": pl.String, "_canonical": pl.String, "_bound": pl.Float64},
    )
    distance = pl.col("distance_km") if "distance_km" in lines.columns else pl.lit(None, dtype=pl.Float64)
    amount = pl.col("amount").cast(pl.Float64) * pl.col("_to_canonical")
    per_ton_km = (pl.col("kind") == "transport") & (pl.col("_canonical") == "kg") & (distance.fill_null(0) != 0)
    flagged = (
        lines.select(
            "uscc",
            "product_id",
            "line_id",
            "kind",
            "unit",
            "amount",
            "allocation_share",
            "declared_units_in_period",
            distance.cast(pl.Float64).alias("distance_km"),
        )
        .with_row_index("_order")
        .join(mass, on=["uscc", "product_id"], how="inner")
        .join(unit_table, on="unit", how="inner")
        .with_columns(
            pl.when(per_ton_km).then(amount / 1000 * pl.col("distance_km")).otherwise(amount).alias("_amount"),
            pl.when(per_ton_km).then(pl.lit("t*km")).otherwise(pl.col("_canonical")).alias("_canonical"),
        )
        .join(bounds, on=["kind", "_canonical"], how="inner")
        .filter((pl.col("_kg") != 0) & (pl.col("declared_units_in_period").fill_null(0) != 0))
        .with_columns(
            (pl.col("_amount") * pl.col("allocation_share") / pl.col("declared_units_in_period") / pl.col("_kg")).alias(
                "_per_kg"
            )
        )
        .filter(pl.col("_per_kg") > pl.col("_bound"))
        .sort("_order")
        .unique(["uscc", "product_id"], keep="first", maintain_order=True)
    )
    return {
        (u, p): (
            f"line {line_id} ({kind}): {per_kg:.3g} {canonical} per kg of product, beyond the "
            f"plausible {bound:g} (enterprise/plausibility.py): check its amount and unit, and the "
            f"product's annual output"
        )
        for u, p, line_id, kind, per_kg, canonical, bound in flagged.select(
            "uscc", "product_id", "line_id", "kind", "_per_kg", "_canonical", "_bound"
        ).rows()
    }


HOLD_COLUMN = "plausibility_hold"  # in the product summary: why the product is held (null: plausible)


def with_holds(summary: pl.DataFrame, lines: pl.DataFrame, products: pl.DataFrame) -> pl.DataFrame:
    """The product summary with `plausibility_hold` (see `implausible`). Computed with the summary, so it is kept
    with it between builds (enterprise/matched_cache.py): a product's verdict depends only on its own lines
    and product row, and judging 3.4 million lines again was 0.8 s of every one-upload build (issue 20)."""
    found = implausible(lines, products)
    holds = pl.DataFrame(
        [(u, p, why) for (u, p), why in found.items()],
        schema={"uscc": pl.String, "product_id": pl.String, HOLD_COLUMN: pl.String},
        orient="row",
    )
    return summary.drop(HOLD_COLUMN, strict=False).join(
        holds, on=["uscc", "product_id"], how="left", maintain_order="left"
    )


def holds_of(summary: pl.DataFrame) -> dict[tuple[str, str], str] | None:
    """(uscc, product_id) -> why, from a summary `with_holds` made; None when it has no such column."""
    if HOLD_COLUMN not in summary.columns:
        return None
    return {
        (u, p): why
        for u, p, why in summary.filter(pl.col(HOLD_COLUMN).is_not_null())
        .select("uscc", "product_id", HOLD_COLUMN)
        .rows()
    }


def _mass_table(products: pl.DataFrame) -> pl.DataFrame:
    """(uscc, product_id) -> kg per declared unit (null where neither the unit nor a declared mass gives it),
    one conversion per distinct declared unit."""
    cols = ["declared_unit_amount", "declared_unit_label", "mass_kg_per_unit", "declared_units_per_output_unit"]
    present = [c for c in cols if c in products.columns]
    frame = products.select("uscc", "product_id", *present).unique(["uscc", "product_id"], keep="last")
    distinct = frame.select(present).unique()
    kg = [_kg_per_declared_unit(row) for row in distinct.iter_rows(named=True)]
    table = distinct.with_columns(pl.Series("_kg", kg, dtype=pl.Float64))
    return (
        frame.join(table, on=present, how="left", nulls_equal=True)
        .select("uscc", "product_id", "_kg")
        .drop_nulls("_kg")
    )
