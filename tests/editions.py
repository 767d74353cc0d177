"""Later editions of real shared sources, written as fixtures from the real files at test time (nothing of
../shared is copied into the project).

`write_epa_sef_next` writes what the next EPA SEF edition looks like: files named v1.3.0 / USD2022, a
data.gov record with its own title, date, DOI and data year, gases named differently from v1.2
("Perfluoromethane" for CF4, "PFC-318" for c-C4F8) plus a gas v1.2 did not have ("Perfluorobutane",
C4F10), amounts 5 % higher and the published CO2e computed with AR5 GWP100 (as v1.3 does), rounded like
the real files. `all_fail=True` gives every gas an unknown name, so that every row fails.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl

from pipelines.common.gwp import gwp

V12 = "epa_sef_v1_2"
RENAMED = {"Carbon tetrafluoride": "Perfluoromethane", "Perfluorocyclobutane": "PFC-318"}
VALUE_COLUMNS = (
    "Supply Chain Emission Factors without Margins",
    "Margins of Supply Chain Emission Factors",
    "Supply Chain Emission Factors with Margins",
)
FIXTURE_DOI = "10.99999/fixture-sef-v1-3-0"  # a fixture's DOI: deliberately not a real one


def copy_sources(shared: Path, target: Path, *names: str) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copytree(shared / name, target / name)
    return target


def write_epa_sef_next(sources: Path, all_fail: bool = False, name: str = "epa_sef_v1_3_0") -> Path:
    old = sources / V12
    target = sources / name
    target.mkdir(parents=True, exist_ok=True)
    ghg = pl.read_csv(old / "SupplyChainGHGEmissionFactors_v1.2_NAICS_byGHG_USD2021.csv", infer_schema_length=0)
    co2e = pl.read_csv(old / "SupplyChainGHGEmissionFactors_v1.2_NAICS_CO2e_USD2021.csv", infer_schema_length=0)
    ghg = ghg.with_columns([(pl.col(c).cast(pl.Float64) * 1.05) for c in VALUE_COLUMNS])
    c4f10 = ghg.filter(pl.col("GHG") == "Perfluoropropane").with_columns(
        pl.lit("Perfluorobutane").alias("GHG"), *[(pl.col(c) * 0.1) for c in VALUE_COLUMNS]
    )
    ghg = pl.concat([ghg, c4f10]).sort("2017 NAICS Code", maintain_order=True)
    names = (
        pl.col("GHG").replace(RENAMED)
        if not all_fail
        else pl.when(pl.col("GHG").is_in(["Carbon dioxide", "Methane", "Nitrous oxide", "HFCs and PFCs, unspecified"]))
        .then(pl.col("GHG"))
        .otherwise(pl.format("Unobtainium-{}", pl.col("GHG")))
    )
    ghg = ghg.with_columns(names.alias("GHG"), pl.lit("kg/2022 USD, purchaser price").alias("Unit"))
    # the published CO2e under AR5 (gases as written in v1.2, so the weights are the true ones)
    weights = {
        g: (1.0 if g in ("Carbon dioxide", "HFCs and PFCs, unspecified") else gwp(g, "AR5"))
        for g in ["Perfluorobutane", *RENAMED, *ghg["GHG"].unique().to_list()]
        if not g.startswith("Unobtainium")
    }
    weights.update({RENAMED[k]: weights[k] for k in RENAMED})
    w = pl.col("GHG").str.replace("^Unobtainium-", "").replace_strict(weights, default=None, return_dtype=pl.Float64)
    totals = ghg.group_by("2017 NAICS Code").agg([(pl.col(c) * w).sum().round(3).alias(c) for c in VALUE_COLUMNS])
    co2e = (
        co2e.drop(*VALUE_COLUMNS)
        .join(totals, on="2017 NAICS Code", how="left")
        .with_columns(pl.lit("kg CO2e/2022 USD, purchaser price").alias("Unit"))
        .select(co2e.columns)
    )
    ghg = ghg.with_columns(
        [pl.col(c).map_elements(lambda x: f"{x:.2e}", return_dtype=pl.String) for c in VALUE_COLUMNS]
    )
    ghg.write_csv(target / "SupplyChainGHGEmissionFactors_v1.3.0_NAICS_byGHG_USD2022.csv", quote_style="non_numeric")
    co2e.write_csv(target / "SupplyChainGHGEmissionFactors_v1.3.0_NAICS_CO2e_USD2022.csv", quote_style="non_numeric")
    record = {
        "title": "Supply Chain Greenhouse Gas Emission Factors v1.3 by NAICS-6",
        "modified": "2024-05-20",
        "identifier": f"https://doi.org/{FIXTURE_DOI}",
        "description": "GHG emission factors for 1,016 U.S. commodities. The Factors are based on GHG data "
        "representing 2022. Fixture written by tests/editions.py.",
        "distribution": [
            {
                "downloadURL": "https://example.org/fixture/sef-v1.3.0/"
                "SupplyChainGHGEmissionFactors_v1.3.0_NAICS_CO2e_USD2022.csv"
            }
        ],
    }
    (target / "provenance_datagov.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
    return target
