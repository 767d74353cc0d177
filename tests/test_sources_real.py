"""Every source adapter on the real files in ../shared/data/sources: counts and known values."""

import math

import polars as pl
import pytest

from pipelines.common.gwp import gwp
from pipelines.sources import SOURCES


def _factor(build, source_id, **where):
    f = build["tables"]["factor"].filter(pl.col("source_id") == source_id)
    for k, v in where.items():
        f = f.filter(pl.col(k) == v)
    return f


def test_every_source_loads(full_build):
    status = {b.spec.source_id: b.status for b in full_build["batches"]}
    assert set(status) == set(SOURCES)
    assert all(s == "loaded" for s in status.values()), status


def test_conservation_on_real_data(full_build):
    s = full_build["summary"]
    assert s["balanced"] and s["raw_rows"] == s["curated_raw_rows"] + s["quarantined_raw_rows"]
    assert s["raw_rows"] > 30000


def test_chongqing_grid_factors_2021_2022(full_build):
    f = _factor(full_build, "cn_mee_electricity_co2", geography_code="500000")
    values = dict(f.select("reference_year", "co2e_kg").rows())
    assert values == {2021: 0.4743, 2022: 0.5227}
    assert set(f["factor_purpose"]) == {"scope2_location"} and set(f["gas_basis"]) == {"co2_only"}


def test_scope2_and_life_cycle_electricity_are_kept_apart(full_build):
    f = _factor(full_build, "cn_mee_electricity_co2", geography_code="CN", activity_key="electricity.grid_average")
    by = {(r["reference_year"], r["factor_purpose"]): r["co2e_kg"] for r in f.iter_rows(named=True)}
    assert by[(2022, "scope2_location")] == 0.5366
    assert by[(2023, "life_cycle")] == 0.6205


def test_cpcd_is_internal_only_and_deduplicated(full_build):
    f = _factor(full_build, "cpcd_snapshot")
    assert set(f["steward_status"]) == {"internal_only"} and not f["redistributable"].any()
    q = full_build["tables"]["quarantine"].filter(pl.col("source_id") == "cpcd_snapshot")
    dups = q.filter(pl.col("rule_id") == "duplicate.natural_key")
    # 228 IDs in both files + 19 repeated inside each file (SOURCE.md); exact repeats land here
    assert 228 <= dups.height <= 228 + 19 * 2
    assert f["natural_key"].n_unique() == f.height
    # every one of the 4,224 distinct CPCD ids is curated or quarantined for a reason of its own
    ids = set(f["natural_key"]) | set(q.filter(pl.col("rule_id") != "duplicate.natural_key")["natural_key"])
    assert len(ids) == 4224


def test_epa_sef_co2e_recomputed_from_gases(full_build):
    f = _factor(full_build, "epa_sef_v1_2", natural_key="111110:with_margins").row(0, named=True)
    assert f["published_co2e_kg"] == 1.326 and f["unit"] == "USD_2021" and f["published_gwp_set"] == "AR4"
    gas = full_build["tables"]["factor_gas"].filter(pl.col("factor_id") == f["factor_id"])
    ar6 = sum(
        r["amount_kg"] * (1 if r["gas"].startswith("HFCs") else gwp(r["gas"], "AR6")) for r in gas.iter_rows(named=True)
    )
    assert math.isclose(f["co2e_kg"], ar6, rel_tol=1e-12)
    assert gas.height == 16


def test_desnz_butane_gases_round_trip_under_ar5(full_build):
    f = _factor(full_build, "uk_desnz_ghg_cf_2024", natural_key="1_100_1000_15").row(0, named=True)
    assert f["unit"] == "kg" and f["published_co2e_kg"] == pytest.approx(3.03338067)
    ar5 = f["co2_fossil_kg"] + f["ch4_fossil_kg"] * 28 + f["n2o_kg"] * 265
    assert ar5 == pytest.approx(3.03338067, rel=1e-6)


def test_cn_fuel_defaults_diesel_and_natural_gas(full_build):
    diesel = _factor(full_build, "cn_fuel_defaults", natural_key="diesel:per_unit").row(0, named=True)
    assert diesel["unit"] == "kg" and diesel["co2e_kg"] == pytest.approx(42.652 * 0.0202 * 0.98 * 44 / 12, rel=1e-12)
    gas = _factor(full_build, "cn_fuel_defaults", natural_key="natural gas:per_unit").row(0, named=True)
    assert gas["unit"] == "m**3" and gas["co2e_kg"] == pytest.approx(2.1622, rel=1e-4)


def test_owid_aggregates_quarantined_countries_curated(full_build):
    cn = _factor(full_build, "owid_ember_electricity_intensity", geography_code="CN", reference_year=2024)
    assert cn["co2e_kg"].item() == pytest.approx(0.5595517)
    q = full_build["tables"]["quarantine"].filter(pl.col("source_id") == "owid_ember_electricity_intensity")
    assert set(q["rule_id"]) == {"geography.invalid"}


def test_ipcc_gwp_file_agrees_with_package(full_build):
    f = _factor(full_build, "ipcc_gwp_openclimatedata")
    assert f.filter(pl.col("qa_flags").fill_null("").str.contains("differs")).height == 0
    sf6 = f.filter(pl.col("natural_key") == "release:SF6").row(0, named=True)
    assert sf6["co2e_kg"] == 25200


def test_outlier_flagged_not_dropped(full_build):
    f = full_build["tables"]["factor"].filter(pl.col("qa_flags").fill_null("").str.contains("outlier.cross_source"))
    assert f.height >= 1
    assert "吉林2019年电网排放因子" in f["name_zh"].to_list()  # a t/kWh-vs-kg slip in the CPCD copy


def test_every_factor_traces_to_a_raw_row(full_build):
    t = full_build["tables"]
    assert t["factor"].join(t["factor_lineage"], on="factor_id", how="anti").height == 0
    hashes = set(t["raw_file"]["raw_sha256"])
    assert set(t["factor"]["raw_sha256"]) <= hashes
