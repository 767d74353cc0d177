"""A fuel's quantity in any sensible unit: mass, volume or energy, converted through the fuel's net
calorific value (the Chinese national defaults in `fuel_property`, cn_fuel_defaults) and, for liquids
given by volume, its density (pipelines/reference/fuel_density.csv, UK DESNZ 2024 "Fuel properties").

Used by matching when a line's unit and the factor's unit differ in dimension (12 t of diesel against a
factor per GJ; 1,000 L of diesel against a factor per t; 5 万Nm³ of natural gas against a factor per GJ).
Each conversion says which values it used; one that needs a property the warehouse lacks (the density of
a gas given in tonnes, the NCV of an unknown fuel) is an error naming it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import polars as pl

from pipelines.common import units

DENSITY_FILE = Path(__file__).parent.parent / "reference" / "fuel_density.csv"
MASS, VOLUME, ENERGY = "[mass]", "[length] ** 3", "[mass] * [length] ** 2 / [time] ** 2"


class FuelConversionError(ValueError):
    pass


@lru_cache(maxsize=1)
def densities() -> dict[str, float]:
    with open(DENSITY_FILE, encoding="utf-8") as fh:
        return {
            r["activity_key"]: float(r["density_kg_m3"]) for r in csv.DictReader(x for x in fh if not x.startswith("#"))
        }


@dataclass(frozen=True)
class Fuel:
    key: str
    ncv_gj: float  # GJ per physical unit
    physical_unit: str  # 't' or '10^4 Nm3'
    source: str

    def to_gj(self, amount: float, unit: str) -> tuple[float, str]:
        dim = units._normalise_dimension(units.unit_info(unit).dimension)
        if dim == ENERGY:
            return units.convert(amount, unit, "GJ"), ""
        physical, how = self._to_physical(amount, unit, dim)
        return physical * self.ncv_gj, f"{how}NCV {self.ncv_gj:g} GJ/{self.physical_unit} ({self.source})"

    def from_gj(self, gj: float, unit: str) -> float:
        """GJ -> `unit` (the factor's unit)."""
        dim = units._normalise_dimension(units.unit_info(unit).dimension)
        if dim == ENERGY:
            return units.convert(gj, "GJ", unit)
        one, _ = self._to_physical(1.0, unit, dim)  # physical units in one `unit`
        return gj / self.ncv_gj / one

    def _to_physical(self, amount: float, unit: str, dim: str) -> tuple[float, str]:
        phys_unit = "t" if self.physical_unit == "t" else "m**3"
        scale = 1.0 if self.physical_unit == "t" else 1e4  # 10^4 Nm3
        phys_dim = MASS if phys_unit == "t" else VOLUME
        if dim == phys_dim:
            return units.convert(amount, unit, phys_unit) / scale, ""
        density = densities().get(self.key)
        if density is None:
            raise FuelConversionError(
                f"{self.key}: no density in pipelines/reference/fuel_density.csv to turn "
                f"{unit} into {self.physical_unit}; give the amount in "
                f"{'t' if phys_dim == MASS else 'm3'} or GJ"
            )
        if dim == VOLUME and phys_dim == MASS:
            t = units.convert(amount, unit, "m**3") * density / 1000
            return t, f"density {density:g} kg/m3 (UK DESNZ 2024), "
        if dim == MASS and phys_dim == VOLUME:
            m3 = units.convert(amount, unit, "kg") / density
            return m3 / scale, f"density {density:g} kg/m3 (UK DESNZ 2024), "
        raise FuelConversionError(f"{self.key}: cannot convert {unit} to {self.physical_unit}")


def fuels_from(table: pl.DataFrame | None) -> dict[str, Fuel]:
    """activity_key -> Fuel, from the release's fuel_property table."""
    if table is None or table.is_empty() or "activity_key" not in table.columns:
        return {}
    out = {}
    for r in table.iter_rows(named=True):
        if r.get("activity_key") and r.get("ncv"):
            out[r["activity_key"]] = Fuel(
                r["activity_key"],
                float(r["ncv"]),
                r.get("physical_unit") or "t",
                f"{r.get('document') or ''} {r.get('table') or ''} {r.get('year') or ''}".strip()[:120],
            )
    return out
