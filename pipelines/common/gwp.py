"""GWP100 sets (SAR, AR4, AR5, AR6) from the CC0 package ``globalwarmingpotentials`` 0.13.2.

Fossil and non-fossil CH4 differ in AR6: IPCC AR6 WGI (2021) Chapter 7, Table 7.15 gives GWP100
29.8 (fossil CH4, including the CO2 from its oxidation) and 27.0 (non-fossil CH4). The package carries
only the single value 27.9 (Table 7.SM.7), which is kept for CH4 of unstated origin. For SAR, AR4 and
AR5 the warehouse uses the package's single CH4 value for both origins (the GHG Protocol tables those
columns come from do not split them).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import globalwarmingpotentials as gwp_package

from pipelines.config import GWP_SETS

AR6_CH4_FOSSIL = 29.8  # IPCC AR6 WGI (2021), Table 7.15
AR6_CH4_NON_FOSSIL = 27.0  # IPCC AR6 WGI (2021), Table 7.15

# Gas names as sources write them -> species codes: one steward-editable table (IPCC name, formula, CAS,
# Chinese name, trade and refrigerant names), pipelines/reference/gas_synonyms.csv; the package's own
# species codes match too. Names compare normalised (case, spaces, hyphens, commas, brackets ignored).
SYNONYMS_FILE = Path(__file__).parent.parent / "reference" / "gas_synonyms.csv"
_NORMALISE = re.compile(r"[\s\-_,.()\[\]'\"/]+")


def normalise_name(name: str) -> str:
    return _NORMALISE.sub("", unicodedata.normalize("NFKC", str(name))).lower()


@lru_cache(maxsize=1)
def synonym_table() -> dict[str, str]:
    """normalised name -> species code."""
    table: dict[str, str] = {}
    species_codes = set().union(*(gwp_package.data[k] for k in gwp_package.data)) | {"CO2"}
    for code in species_codes:
        table[normalise_name(code)] = code
    with open(SYNONYMS_FILE, encoding="utf-8") as fh:
        rows = csv.DictReader(line for line in fh if not line.startswith("#"))
        for row in rows:
            names = [
                row["species"],
                row["ipcc_name"],
                row["formula"],
                row["cas"],
                row["name_zh"],
                *(row["synonyms"] or "").split("|"),
            ]
            for name in names:
                if name and name.strip():
                    key = normalise_name(name)
                    # a formula shared by several origins (CH4) keeps the first (unspecified) species
                    table.setdefault(key, row["species"])
    return table


def resolve_gas(name: str) -> str | None:
    """A source's gas name -> species code, or None when no name in the table matches."""
    if name is None:
        return None
    return synonym_table().get(normalise_name(name))


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
    species = gas if gas in table else resolve_gas(gas)
    if species is None:
        raise GwpError(f"gas {gas!r} is not a known gas name")
    if species not in table:
        raise GwpError(f"gas {gas!r} ({species}) has no GWP100 in {gwp_set}")
    return table[species]


def gwp_or_none(gas: str, gwp_set: str) -> float | None:
    """GWP100 of a gas in a set (CO2 of any origin is 1), or None where the set has none."""
    if gas in ("CO2", "CO2_fossil", "CO2_biogenic"):
        return 1.0
    try:
        return gwp(gas, gwp_set)
    except GwpError:
        return None


def canonical_gas(name: str) -> str:
    """Source gas name -> the code used in factor_gas (CO2_fossil, CH4, N2O, SF6, HFC134a ...); a name no
    table entry knows is kept as written (validation quarantines it with advice)."""
    return resolve_gas(name) or name


def sets_with(species: str) -> list[str]:
    """The GWP sets that give this species a GWP100."""
    return [s for s in GWP_SETS if species in gwp_table(s)]


def gas_advice(names: list[str], gwp_set: str) -> str:
    """What resolves a row whose gases have no GWP in the selected set."""
    parts = []
    unknown = [n for n in names if resolve_gas(n) is None]
    if unknown:
        parts.append(
            f"gas name(s) {', '.join(repr(n) for n in unknown)} not in the gas synonym table: add each as a "
            f"synonym of its species in pipelines/reference/gas_synonyms.csv (IPCC name, formula, CAS or "
            f"trade name), then rebuild"
        )
    for name in names:
        species = resolve_gas(name)
        if species is None:
            continue
        others = [s for s in sets_with(species) if s != gwp_set]
        parts.append(
            f"{name!r} is {species}, which {gwp_set} gives no GWP100"
            + (f" (IPCC assessed it in {', '.join(others)} only)" if others else "")
            + "; a steward may override the factor's CO2e with a documented value"
        )
    return "; ".join(parts)


def table_rows() -> list[dict]:
    """Rows of the release table ``gwp``: every set and species the warehouse can apply."""
    rows = []
    for s in GWP_SETS:
        for species, value in sorted(gwp_table(s).items()):
            basis = (
                "IPCC AR6 WGI Table 7.15"
                if s == "AR6" and species in ("CH4_fossil", "CH4_biogenic")
                else f"globalwarmingpotentials {gwp_package.__version__} column {s}GWP100"
            )
            rows.append({"gwp_set": s, "species": species, "gwp100": value, "basis": basis})
    return rows
