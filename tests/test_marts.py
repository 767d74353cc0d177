"""Product marts over the example enterprises: totals consistent across stage, gas and contribution
marts; significant contributors; benchmark grade; nothing confidential in the published marts; the
release and catalogue carry them with the release version."""

from __future__ import annotations

import dataclasses

import polars as pl
import pytest

from pipelines.config import PROJECT_ROOT
from pipelines.engine.marts import build_marts
from pipelines.engine.results import compute
from pipelines.enterprise.intake import ingest_upload
from pipelines.enterprise.inventory import build_inventory, in_scope

EXAMPLES_DIR = PROJECT_ROOT / "data" / "raw" / "enterprise" / "examples"


@pytest.fixture(scope="module")
def marts(full_build, tmp_path_factory):
    # enterprise products only: raw_dir without reference models (tests/test_reference_models.py covers those)
    s = dataclasses.replace(
        full_build["settings"],
        restricted_dir=tmp_path_factory.mktemp("restricted"),
        raw_dir=tmp_path_factory.mktemp("raw_without_models"),
    )
    for name in ("aluminium_profile", "nev_battery_pack"):
        ingest_upload(EXAMPLES_DIR / f"{name}.xlsx", s)
    tables = full_build["tables"]
    inv = build_inventory(s, tables["factor"], None, s.gwp_set)
    products = in_scope(s)["product"]
    engine = compute(
        inv["line_emissions"],
        products,
        inv["product_summary"],
        tables["factor"],
        tables["factor_gas"],
        s.gwp_set,
        iterations=1000,
    )
    return s, inv, engine, build_marts(engine)


def test_totals_agree_across_marts_and_with_the_inventory(marts):
    _s, inv, engine, m = marts
    fp = m["product_footprint"]
    assert fp.height == 3
    stage = m["product_footprint_stage"].group_by("product_key").agg(pl.col("co2e_kg").sum().alias("s"))
    # per-line CO2e is exact only in the restricted zone (the engine's contributions); the mart holds shares
    contrib = (
        engine["engine_contributions"]
        .group_by(pl.col("process_id").alias("product_key"))
        .agg(pl.col("co2e_kg").sum().alias("c"))
    )
    gas = m["product_footprint_gas"].group_by("product_key").agg(pl.col("co2e_kg").sum().alias("g"))
    joined = fp.join(stage, on="product_key").join(contrib, on="product_key").join(gas, on="product_key")
    for row in joined.iter_rows(named=True):
        assert row["s"] == pytest.approx(row["co2e_kg"], rel=1e-8)
        assert row["c"] == pytest.approx(row["co2e_kg"], rel=1e-8)
        assert row["g"] == pytest.approx(row["co2e_kg"], rel=1e-8)
    # one level of products over leaf factors: the network total equals the inventory's own sum
    summary = inv["product_summary"]
    for row in fp.iter_rows(named=True):
        expected = summary.filter(pl.col("product_id") == row["product_id"])["co2e_kg_per_declared_unit"].item()
        assert row["co2e_kg"] == pytest.approx(expected, rel=1e-9)


def test_monte_carlo_percentiles_and_quality_fields(marts):
    fp = marts[3]["product_footprint"]
    for row in fp.iter_rows(named=True):
        assert row["co2e_p5_kg"] < row["co2e_p50_kg"] < row["co2e_p95_kg"]
        assert row["mc_iterations"] == 1000 and row["gwp_set"] == "AR6"
        assert 0 <= row["primary_data_share"] <= 1 and 1 <= row["dqr"] <= 5
    pack = fp.filter(pl.col("product_id") == "LFP-PACK-61")
    assert pack["co2e_market_kg"].item() < pack["co2e_kg"].item()  # green certificates


def test_significant_contributors_cover_eighty_percent(marts):
    c = marts[3]["product_contribution"]
    for _key, group in c.group_by("product_key"):
        sig = group.filter(pl.col("significant"))
        assert sig["share"].sum() >= 0.8 - 0.005 * sig.height  # shares are published rounded to whole percent
        largest = group.sort("share", descending=True).row(0, named=True)
        assert largest["significant"]
        assert abs(group["share"].sum() - 1) <= 0.005 * group.height
    pack = c.filter(pl.col("product_key").str.ends_with("LFP-PACK-61")).sort("share", descending=True)
    assert pack.row(0, named=True)["line_id"] == "M1"  # the cells dominate a battery pack
    # the lineage of every contribution says whether a stewards' regional factor took precedence
    assert c.schema["match_precedence"] == pl.String and c["match_precedence"].null_count() == c.height


def test_public_marts_do_not_give_away_quantities(marts):
    """Issue 14 #5: the division attack. A published per-line CO2e divided by the (public) factor value gave the
    enterprise's quantity per declared unit exactly (0.732421875 kg aluminium per kWh). The release holds no
    per-line CO2e, and the share rounded to whole percent times the total recovers no quantity."""
    _s, inv, _engine, m = marts
    c, fp = m["product_contribution"], m["product_footprint"]
    assert "co2e_kg" not in c.columns and set(c["share"].round(2)) == set(c["share"])
    lines = inv["line_emissions"].filter(
        pl.col("factor_co2e_per_unit").is_not_null() & (pl.col("factor_co2e_per_unit") > 0)
    )
    recovered = 0
    for line in lines.iter_rows(named=True):
        key = f"product:{line['uscc']}/{line['product_id']}"
        row = c.filter((pl.col("product_key") == key) & (pl.col("line_id") == line["line_id"]))
        total = fp.filter(pl.col("product_key") == key)["co2e_kg"]
        if row.height and total.len():
            guess = row["share"].item() * total.item() / line["factor_co2e_per_unit"]
            recovered += abs(guess - line["amount_per_declared_unit"]) <= 1e-6 * abs(line["amount_per_declared_unit"])
    assert lines.height > 10 and recovered == 0


def test_benchmark_grade(marts):
    b = marts[3]["product_benchmark"]
    profiles = b.filter(pl.col("category") == "aluminium_profile").sort("category_rank")
    assert profiles["category_rank"].to_list() == [1, 2] and set(profiles["category_products"]) == {2}
    for row in b.iter_rows(named=True):
        ratio = row["co2e_kg"] / row["benchmark_kgco2e"]
        expected = "A" if ratio <= 0.8 else "B" if ratio <= 1.0 else "C" if ratio <= 1.2 else "D"
        assert row["grade"] == expected


def test_published_marts_hold_nothing_confidential(marts):
    _s, inv, _engine, m = marts
    text = " ".join(str(v) for frame in m.values() for row in frame.iter_rows() for v in row)
    for secret in ("示例水电铝厂", "示例电芯厂", "磷酸铁锂电芯 3.2V 300Ah", "10800000", "1280000", "CERT-0001"):
        assert secret not in text, secret
    assert "supplier-specific footprint" in text


def test_release_and_catalogue_carry_the_marts(marts, tmp_path):
    from pipelines.release.analyst_sql import run_readonly
    from pipelines.release.publish import publish

    s = dataclasses.replace(marts[0], curated_dir=tmp_path / "curated")
    tables = dict(marts[3])
    result = publish(s, tables, {"gwp_set": "AR6"}, [])
    out = run_readonly(s, "select product_id, co2e_kg, release_version from product_footprint order by product_id")
    assert out.height == 3 and set(out["release_version"]) == {result.version}


def test_the_marts_check_finds_inconsistent_marts(marts):
    """The blocking asset check on product_marts: sums, shares and percentile order."""
    from pipelines.assets.checks import mart_problems

    m = marts[3]
    assert mart_problems(m) == []
    broken = dict(m)
    broken["product_footprint_stage"] = m["product_footprint_stage"].with_columns(pl.col("co2e_kg") * 1.01)
    broken["product_footprint"] = m["product_footprint"].with_columns(pl.col("co2e_p95_kg").alias("co2e_p5_kg"))
    problems = mart_problems(broken)
    assert any("product_footprint_stage" in p for p in problems) and any("out of order" in p for p in problems)
    assert not any("product_footprint_gas" in p or "product_contribution" in p for p in problems)
    # contribution shares of one product halved: their sum is named for that product alone; a share above 1
    # is named with its line
    c = m["product_contribution"]
    one = c["product_key"][0]
    halved = dict(
        m,
        product_contribution=c.with_columns(
            pl.when(pl.col("product_key") == one).then(pl.col("share") / 2).otherwise(pl.col("share")).alias("share")
        ),
    )
    assert [p for p in mart_problems(halved) if "product_contribution" in p] == [
        f"product_contribution: shares of {one} sum to {c.filter(pl.col('product_key') == one)['share'].sum() / 2:.4g}"
    ]
    above = dict(m, product_contribution=c.with_columns(pl.lit(1.5).alias("share")))
    named = mart_problems(above)
    assert (
        sum("outside [0, 1]" in p for p in named) == c.height
        and sum("sum to" in p for p in named) == c["product_key"].n_unique()
    )
