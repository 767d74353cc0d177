"""One enterprise's problem never stops everyone's footprints.

`compute_isolated` runs the network solve (engine/results.py) for all products in force. When the solve
fails (a singular or unproductive sub-network, a reference that cannot be built), each enterprise's
products are solved on their own with what they draw on; the enterprises whose part fails are *held*
with the solver's reason, and so is every product that draws on a held one (its footprint would be
incomplete). A product with a line far beyond its kind's plausible amount per kg of output
(enterprise/plausibility.py) is held before anything is solved. A solved product whose footprint is not a finite number, or beyond the plausibility bound
(PCF_MAX_KGCO2E_PER_DECLARED_UNIT, default 1e7 kg CO2e per declared unit: heavier than any product a
label is printed for), is held too. Held products are not in the marts, hence in no release, label or
export; the list with reasons is written to the restricted zone (inventory/product_hold.parquet, view
inventory_product_hold) for the enterprise and the stewards, and the run says how many.
"""

from __future__ import annotations

import math

import polars as pl

from pipelines.engine.foreground import PRODUCT_PREFIX, product_process_id
from pipelines.engine.network import NetworkError
from pipelines.engine.results import compute

HOLD_SCHEMA = {"product_key": pl.String, "uscc": pl.String, "product_id": pl.String, "reason": pl.String}


def max_per_declared_unit() -> float:
    from pipelines.config import settings

    return settings().max_kgco2e_per_declared_unit


def _keys(frame: pl.DataFrame) -> list[str]:
    return [product_process_id(u, p) for u, p in frame.select("uscc", "product_id").rows()]


def _without(lines: pl.DataFrame, products: pl.DataFrame, summary: pl.DataFrame, held: set[str]):
    if not held:  # the frames themselves: the caller can tell by identity that nothing was taken out
        return lines, products, summary
    keep = ~pl.format("{}{}/{}", pl.lit(PRODUCT_PREFIX), "uscc", "product_id").is_in(list(held))
    return lines.filter(keep), products.filter(keep), summary.filter(keep)


def _consumers(lines: pl.DataFrame, held: set[str]) -> dict[str, str]:
    """Products that draw (directly or through others) on a held product -> which one."""
    edges = (
        lines.filter(pl.col("match_method") == "supplier_product")
        .select(
            pl.format("{}{}/{}", pl.lit(PRODUCT_PREFIX), "uscc", "product_id").alias("consumer"),
            pl.col("factor_id").alias("provider"),
        )
        .unique()
        .rows()
    )
    out: dict[str, str] = {}
    frontier = set(held)
    while frontier:
        new = {c: p for c, p in edges if p in frontier and c not in held and c not in out}
        out.update(new)
        frontier = set(new)
    return out


def _upstream(lines: pl.DataFrame, keys: set[str]) -> set[str]:
    edges = (
        lines.filter(pl.col("match_method") == "supplier_product")
        .select(pl.format("{}{}/{}", pl.lit(PRODUCT_PREFIX), "uscc", "product_id"), "factor_id")
        .unique()
        .rows()
    )
    closure, frontier = set(keys), set(keys)
    while frontier:
        frontier = {p for c, p in edges if c in frontier and p not in closure}
        closure |= frontier
    return closure


def compute_isolated(
    lines: pl.DataFrame,
    products: pl.DataFrame,
    summary: pl.DataFrame,
    factors: pl.DataFrame,
    factor_gas: pl.DataFrame,
    gwp_set: str,
    **kwargs,
) -> tuple[dict, pl.DataFrame]:
    """-> (the engine's tables for the products that solve, the held products with their reasons)."""
    from pipelines.enterprise.plausibility import holds_of, implausible

    # a line far beyond what its kind needs per kg of product holds the product before anything is solved
    # (judged with the inventory's summary, which keeps the verdicts; judged here when it has none)
    verdicts = holds_of(summary)
    if verdicts is None:
        verdicts = implausible(lines, products)
    held: dict[str, str] = {product_process_id(u, p): why for (u, p), why in verdicts.items()}
    if held:
        held.update({c: f"draws on held product {p}" for c, p in _consumers(lines, set(held)).items()})
    for _ in range(3):  # a hold can expose another (a consumer's result); a few passes settle it
        l2, p2, s2 = _without(lines, products, summary, set(held))
        try:
            engine = compute(l2, p2, s2, factors, factor_gas, gwp_set, **kwargs)
        except (NetworkError, ValueError) as exc:
            found = _isolate(l2, p2, s2, factors, factor_gas, gwp_set)
            if not found:
                raise NetworkError(f"{exc} (not attributable to one enterprise's products)") from None
            held.update(found)
            held.update({c: f"draws on held product {p}" for c, p in _consumers(l2, set(found)).items()})
            continue
        bound = max_per_declared_unit()
        bad = {
            k: (
                f"implausible footprint {v:.3g} kg CO2e per declared unit (bound {bound:.3g}, "
                f"PCF_MAX_KGCO2E_PER_DECLARED_UNIT): check the amounts and units of its lines"
            )
            for k, v in (engine["engine_products"].select("process_id", "co2e_kg").rows() if engine else [])
            if v is None or not math.isfinite(v) or abs(v) > bound
        }
        if not bad:
            return engine, _hold_frame(held, products)
        held.update(bad)
        held.update({c: f"draws on held product {p}" for c, p in _consumers(l2, set(bad)).items()})
    l2, p2, s2 = _without(lines, products, summary, set(held))
    return compute(l2, p2, s2, factors, factor_gas, gwp_set, **kwargs), _hold_frame(held, products)


def _isolate(lines, products, summary, factors, factor_gas, gwp_set) -> dict[str, str]:
    """Solve each enterprise's products with their upstream alone; -> product key -> reason for those that fail."""
    found: dict[str, str] = {}
    for (uscc,), own in products.group_by("uscc", maintain_order=True):
        inside = pl.format("{}{}/{}", pl.lit(PRODUCT_PREFIX), "uscc", "product_id").is_in(
            list(_upstream(lines, set(_keys(own))))
        )
        try:
            compute(
                lines.filter(inside),
                products.filter(inside),
                summary.filter(inside),
                factors,
                factor_gas,
                gwp_set,
                iterations=2,
            )
        except (NetworkError, ValueError) as exc:
            found.update({k: f"the product network of enterprise {uscc} cannot be solved: {exc}" for k in _keys(own)})
    return found


def _hold_frame(held: dict[str, str], products: pl.DataFrame) -> pl.DataFrame:
    if not held:
        return pl.DataFrame(schema=HOLD_SCHEMA)
    names = {product_process_id(u, p): (u, p) for u, p in products.select("uscc", "product_id").rows()}
    return pl.DataFrame(
        [
            {
                "product_key": k,
                "uscc": names.get(k, (None, None))[0],
                "product_id": names.get(k, (None, None))[1],
                "reason": r,
            }
            for k, r in sorted(held.items())
        ],
        schema=HOLD_SCHEMA,
    )
