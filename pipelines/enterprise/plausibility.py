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
    """(uscc, product_id) -> why, for products with a line beyond its kind's bound per kg of output."""
    needed = {"amount", "unit", "kind", "allocation_share", "declared_units_in_period"}
    if lines.is_empty() or not needed <= set(lines.columns):
        return {}
    mass = {(p["uscc"], p["product_id"]): _kg_per_declared_unit(p) for p in products.iter_rows(named=True)}
    out: dict[tuple[str, str], str] = {}
    wanted = ["uscc", "product_id", "line_id", "kind", "unit", *sorted(needed - {"kind", "unit"})]
    rows = lines.select(wanted + (["distance_km"] if "distance_km" in lines.columns else []))
    for line in rows.iter_rows(named=True):  # only the columns read: a line has ~45
        key = (line["uscc"], line["product_id"])
        kg = mass.get(key)
        if not kg or not line["declared_units_in_period"] or key in out:
            continue
        try:
            info = units.unit_info(line["unit"])
            amount = units.convert(line["amount"], line["unit"], info.canonical)
        except Exception:
            continue
        canonical = info.canonical
        if line["kind"] == "transport" and canonical == "kg" and line.get("distance_km"):
            amount, canonical = amount / 1000 * line["distance_km"], "t*km"
        bound = MAX_PER_KG_OUTPUT.get((line["kind"], canonical))
        per_kg = amount * line["allocation_share"] / line["declared_units_in_period"] / kg
        if bound is not None and per_kg > bound:
            out[key] = (
                f"line {line['line_id']} ({line['kind']}): {per_kg:.3g} {canonical} per kg of product, beyond the "
                f"plausible {bound:g} (enterprise/plausibility.py): check its amount and unit, and the "
                f"product's annual output"
            )
    return out
