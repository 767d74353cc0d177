"""GWP100 sets (SAR, AR4, AR5, AR6) from the CC0 package ``globalwarmingpotentials`` 0.13.2.

Fossil and non-fossil CH4 differ in AR6: IPCC AR6 WGI (2021) Chapter 7, Table 7.15 gives GWP100
29.8 (fossil CH4, including the CO2 from its oxidation) and 27.0 (non-fossil CH4). The package carries
only the single value 27.9 (Table 7.SM.7), which is kept for CH4 of unstated origin. For SAR, AR4 and
AR5 the warehouse uses the package's single CH4 value for both origins (the GHG Protocol tables those
columns come from do not split them).
"""

from __future__ import annotations

from functools import lru_cache

import globalwarmingpotentials as gwp_package

from pipelines.config import GWP_SETS

AR6_CH4_FOSSIL = 29.8   # IPCC AR6 WGI (2021), Table 7.15
AR6_CH4_NON_FOSSIL = 27.0  # IPCC AR6 WGI (2021), Table 7.15

# Source names of gases -> package species names.
GAS_ALIASES = {
    "Carbon dioxide": "CO2", "CO2": "CO2",
    "Methane": "CH4", "CH4": "CH4",
    "Nitrous oxide": "N2O", "N2O": "N2O", "Dinitrogen monoxide": "N2O",
    "Sulfur hexafluoride": "SF6", "SF6": "SF6",
    "Nitrogen trifluoride": "NF3", "NF3": "NF3",
    "Carbon tetrafluoride": "CF4", "CF4": "CF4", "PFC-14": "CF4",
    "Hexafluoroethane": "C2F6", "C2F6": "C2F6", "PFC-116": "C2F6",
    "Perfluoropropane": "C3F8", "C3F8": "C3F8", "PFC-218": "C3F8",
    "Perfluorocyclobutane": "cC4F8", "c-C4F8": "cC4F8", "PFC-318": "cC4F8",
    "HFC-23": "HFC23", "HFC-32": "HFC32", "HFC-125": "HFC125", "HFC-134a": "HFC134a",
    "HFC-143a": "HFC143a", "HFC-236fa": "HFC236fa", "HFC-152a": "HFC152a", "HFC-227ea": "HFC227ea",
    "Trifluoromethane": "HFC23", "Difluoromethane": "HFC32", "Pentafluoroethane": "HFC125",
    "1,1,1,2-Tetrafluoroethane": "HFC134a", "1,1,1-Trifluoroethane": "HFC143a",
    "1,1,1,3,3,3-Hexafluoropropane": "HFC236fa",
}


class GwpError(KeyError):
    pass


@lru_cache(maxsize=8)
def gwp_table(gwp_set: str) -> dict[str, float]:
    """Species -> GWP100 for one set, with CO2 = 1 and the fossil/biogenic splits added."""
    if gwp_set not in GWP_SETS:
        raise GwpError(f"unknown GWP set {gwp_set!r}; expected one of {GWP_SETS}")
    values = dict(gwp_package.data[f"{gwp_set}GWP100"])
    table = {k: float(v) for k, v in values.items() if v == v}
    table["CO2"] = 1.0
    table["CO2_fossil"] = 1.0
    table["CO2_biogenic"] = 1.0
    ch4 = table["CH4"]
    table["CH4_fossil"] = AR6_CH4_FOSSIL if gwp_set == "AR6" else ch4
    table["CH4_biogenic"] = AR6_CH4_NON_FOSSIL if gwp_set == "AR6" else ch4
    return table


def gwp(gas: str, gwp_set: str) -> float:
    table = gwp_table(gwp_set)
    species = GAS_ALIASES.get(gas, gas)
    if species not in table:
        raise GwpError(f"gas {gas!r} has no GWP100 in {gwp_set}")
    return table[species]


def canonical_gas(name: str) -> str:
    """Source gas name -> the code used in factor_gas (CO2_fossil, CH4, N2O, SF6, HFC134a ...)."""
    return GAS_ALIASES.get(name, name)


def table_rows() -> list[dict]:
    """Rows of the release table ``gwp``: every set and species the warehouse can apply."""
    rows = []
    for s in GWP_SETS:
        for species, value in sorted(gwp_table(s).items()):
            basis = "IPCC AR6 WGI Table 7.15" if s == "AR6" and species in ("CH4_fossil", "CH4_biogenic") else \
                f"globalwarmingpotentials {gwp_package.__version__} column {s}GWP100"
            rows.append({"gwp_set": s, "species": species, "gwp100": value, "basis": basis})
    return rows
