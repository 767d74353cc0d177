"""Allocation of plant-level lines to products (GB/T 24067-2024 6.4.6 / ISO 14067:2018 6.4.6).

The standard's hierarchy: avoid allocation where possible (lines metered per product are not
allocated at all), otherwise partition by a physical relationship (a declared one, mass, count), and
only then by another relationship such as economic value. The enterprise declares the basis per line;
the share of each product is stored with the line so a reviewer sees exactly what was applied.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.common import units
from pipelines.enterprise.codes import ALLOCATION_PREFERENCE


@dataclass(frozen=True)
class Allocated:
    line_id: str
    product_id: str
    basis: str  # none (product-level) | mass | count | declared_physical | revenue
    basis_value: float | None
    share: float
    basis_rank: int  # position of the basis in the standard's preference order (0 = most preferred)


class AllocationError(ValueError):
    def __init__(self, rule: str, zh: str, en: str, column: str = "allocation_basis"):
        super().__init__(en)
        self.rule, self.zh, self.en, self.column = rule, zh, en, column


def _basis_value(product: dict, basis: str) -> float | None:
    if basis == "mass":
        mass = product.get("mass_kg_per_unit")
        if mass is None and units._normalise_dimension(units.unit_info(product["unit"]).dimension) == "[mass]":
            mass = units.convert(1.0, product["unit"], "kg")
        return None if mass is None else product["annual_output"] * mass
    if basis == "count":
        dim = units._normalise_dimension(units.unit_info(product["unit"]).dimension)
        return product["annual_output"] if dim == "[count]" else None
    if basis == "revenue":
        return product.get("revenue_cny")
    if basis == "declared_physical":
        return product.get("declared_allocation_share")
    raise ValueError(basis)


def allocate(line: dict, products: list[dict]) -> list[Allocated]:
    """Shares of one line over the products (product-level lines: share 1 to their product)."""
    if line["product_id"] != "PLANT":
        return [Allocated(line["line_id"], line["product_id"], "none", None, 1.0, -1)]
    basis = line["allocation_basis"]
    at_facility = [p for p in products if p["facility_id"] == line["facility_id"]]
    if not at_facility:
        raise AllocationError(
            "allocation.no_products",
            f"设施 {line['facility_id']} 没有产品可分配",
            f"no product is made at facility {line['facility_id']} to allocate this line to",
            "facility_id",
        )
    values = {p["product_id"]: _basis_value(p, basis) for p in at_facility}
    missing = [pid for pid, value in values.items() if value is None]
    if missing:
        need = {
            "mass": "mass_kg_per_unit",
            "count": "a count unit (台, 个 ...)",
            "revenue": "revenue_cny",
            "declared_physical": "declared_allocation_share",
        }[basis]
        raise AllocationError(
            "allocation.basis_data_missing",
            f"按{basis}分配需要产品 {', '.join(missing)} 的 {need}",
            f"allocation by {basis} needs {need} for product(s) {', '.join(missing)}",
        )
    amounts = {pid: float(v) for pid, v in values.items() if v is not None}  # none missing (checked above)
    total = sum(amounts.values())
    if basis == "declared_physical" and abs(total - 1.0) > 1e-6:
        raise AllocationError(
            "allocation.shares_not_one",
            f"声明的分配比例合计为 {total:g}，应为 1",
            f"declared allocation shares at facility {line['facility_id']} sum to {total:g}, not 1",
        )
    if total <= 0:
        raise AllocationError("allocation.zero_total", "分配基础合计为 0", f"allocation basis {basis} sums to 0")
    rank = ALLOCATION_PREFERENCE.index(basis)
    return [
        Allocated(line["line_id"], pid, basis, value, value / total, rank) for pid, value in sorted(amounts.items())
    ]
