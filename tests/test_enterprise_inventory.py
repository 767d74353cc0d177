"""Product inventories from enterprise uploads: matching, allocation applied, primary data share,
pedigree; and confidentiality of the restricted zone."""

from __future__ import annotations

import dataclasses
import json

import dagster as dg
import polars as pl
import pytest
from typer.testing import CliRunner

from pipelines.config import PROJECT_ROOT
from pipelines.enterprise import store
from pipelines.enterprise.intake import ingest_upload
from pipelines.enterprise.inventory import build_inventory
from pipelines.release.analyst_sql import AnalystSqlError, run_readonly
from pipelines.release.publish import read_table

EXAMPLES_DIR = PROJECT_ROOT / "data" / "raw" / "enterprise" / "examples"


@pytest.fixture(scope="module")
def inventory(full_build, tmp_path_factory):
    s = dataclasses.replace(full_build["settings"], restricted_dir=tmp_path_factory.mktemp("restricted"))
    for name in ("aluminium_profile", "nev_battery_pack"):
        ingest_upload(EXAMPLES_DIR / f"{name}.xlsx", s)
    factors = read_table(s, "v0001", "factor")
    tables = build_inventory(s, factors, "v0001", s.gwp_set)
    return s, factors, tables


def test_lines_matched_with_fallback_and_allocation(inventory):
    _s, factors, t = inventory
    lines = t["line_emissions"]
    # The plant's electricity, allocated by mass. Chongqing has MEE CO2-only (Scope 2) factors and a CPCD copy's
    # life-cycle factor; the precedence (docs/factor_selection.md) gives the official life-cycle factor
    # (MEE/NBS/NEA 2023 electricity carbon-footprint factor, national) and says why.
    p1 = lines.filter(pl.col("line_id") == "P1").sort("product_id")
    assert p1["allocation_share"].to_list() == pytest.approx([0.25, 0.75])
    assert set(p1["geography_used"]) == {"CN"} and set(p1["geography_fallback"]) == {"country"}
    grid = factors.filter(pl.col("factor_id") == p1["factor_id"][0])
    assert grid["activity_key"].item() == "electricity.grid_average" and grid["factor_purpose"].item() == "life_cycle"
    assert grid["source_id"].item() == "cn_mee_electricity_co2" and grid["reference_year"].item() == 2023
    assert p1["selection_rule"][0].startswith("won on authority (official_cn before third_party)")
    assert "scope2_location (CO2-only) factor(s) set aside" in p1["match_note"][0]
    # per declared unit (1 kg of profile): kWh x share / kg produced x factor
    expected = 10_800_000 * 0.75 / 9_000_000 * grid["co2e_kg"].item()
    assert p1.filter(pl.col("product_id") == "AP-6063")["co2e_kg_per_declared_unit"].item() == pytest.approx(expected)
    # Fujian has no provincial factor of that year? whichever: the fallback taken is recorded
    e1 = lines.filter(pl.col("line_id") == "E1")
    assert e1["geography_requested"].item() == "350000" and e1["geography_fallback"].item() in (
        "requested",
        "grid_region",
        "country",
    )
    # transport given as tonnes x km is matched in t*km
    a4 = lines.filter(pl.col("line_id") == "A4")
    assert a4["factor_unit"].item() == "t*km"
    assert a4["co2e_kg_per_declared_unit"].item() == pytest.approx(
        7_650 * 3_200 * a4["factor_co2e_per_unit"].item() / 9_000_000
    )


def test_market_based_electricity_reported_separately(inventory):
    lines = inventory[2]["line_emissions"]
    e2 = lines.filter(pl.col("line_id") == "E2")
    assert e2["electricity_contract"].item() == "green_certificate"
    assert e2["co2e_kg_per_declared_unit"].item() > 0 and e2["co2e_market_kg_per_declared_unit"].item() == 0
    summary = inventory[2]["product_summary"].filter(pl.col("product_id") == "LFP-PACK-61")
    assert summary["co2e_kg_per_declared_unit"].item() - summary[
        "co2e_market_kg_per_declared_unit"
    ].item() == pytest.approx(e2["co2e_kg_per_declared_unit"].item())


def test_primary_data_share_and_pedigree(inventory):
    lines = inventory[2]["line_emissions"]
    pack = lines.filter(pl.col("product_id") == "LFP-PACK-61")
    by_line = {r["line_id"]: r for r in pack.iter_rows(named=True)}
    assert by_line["M1"]["match_method"] == "supplier_specific" and by_line["M1"]["primary_fraction"] == 0.65
    assert by_line["E1"]["primary_fraction"] == 1.0 and by_line["M2"]["primary_fraction"] == 0.0
    assert by_line["E1"]["dq_reliability"] == 1 and by_line["M2"]["dq_reliability"] == 3
    assert by_line["D1"]["dq_reliability"] == 3  # secondary data
    matched = pack.filter(pl.col("co2e_kg_per_declared_unit").is_not_null())
    e = matched["co2e_kg_per_declared_unit"].to_list()
    pf = matched["primary_fraction"].to_list()
    expected = sum(a * b for a, b in zip(e, pf)) / sum(e)
    summary = inventory[2]["product_summary"].filter(pl.col("product_id") == "LFP-PACK-61")
    assert summary["primary_data_share"].item() == pytest.approx(expected)
    assert 0.3 < expected < 0.9  # cells dominate, at the supplier's 65 %
    assert 1 <= summary["dqr"].item() <= 5


def test_analyst_cannot_read_the_restricted_zone(inventory):
    s = inventory[0]
    activity = next(s.restricted_dir.glob("uploads/*/activity.parquet"))
    for query in (
        f"select * from read_parquet('{activity}')",
        f"select * from '{activity}'",
        f"select * from read_csv('{s.restricted_dir / 'registry.jsonl'}')",
    ):
        with pytest.raises(AnalystSqlError):
            run_readonly(s, query)
    with pytest.raises(AnalystSqlError):
        run_readonly(s, f"attach '{s.restricted_dir / 'restricted.duckdb'}' as r")
    tables = run_readonly(s, "select table_schema, table_name from information_schema.tables")
    assert not set(tables["table_name"]) & {"activity", "allocation", "line_emissions", "product_summary", "enterprise"}
    # the catalogue itself holds no enterprise value
    release = s.releases_dir / "v0001"
    uscc = "91500113MA5UEXAM1C"
    assert not any(uscc.encode() in p.read_bytes() for p in release.iterdir())


def test_sensor_adds_partitions_and_the_asset_ingests(tmp_path, make_settings, monkeypatch):
    raw = tmp_path / "raw"
    (raw / "enterprise").mkdir(parents=True)
    for name in ("aluminium_profile", "nev_battery_pack"):
        (raw / "enterprise" / f"{name}.xlsx").write_bytes((EXAMPLES_DIR / f"{name}.xlsx").read_bytes())
    monkeypatch.setenv("PCF_RAW_DIR", str(raw))
    monkeypatch.setenv("PCF_RESTRICTED_DIR", str(tmp_path / "restricted"))
    from pipelines.assets.enterprise import enterprise_upload, enterprise_upload_partitions, enterprise_upload_sensor

    instance = dg.DagsterInstance.ephemeral()
    result = enterprise_upload_sensor(dg.build_sensor_context(instance=instance))
    keys = [r.partition_key for r in result.run_requests]
    assert len(keys) == 2 and all("@" in k for k in keys)
    again = enterprise_upload_sensor(dg.build_sensor_context(instance=instance, cursor=result.cursor))
    assert again.run_requests == []  # nothing new
    instance.add_dynamic_partitions(enterprise_upload_partitions.name, keys)
    out = dg.materialize([enterprise_upload], partition_key=keys[0], instance=instance)
    meta = out.get_asset_materialization_events()[0].materialization.metadata
    assert meta["status"].value == "accepted"
    s = make_settings(raw_dir=raw, restricted_dir=tmp_path / "restricted")
    assert len(store.registry(s)) == 1
    # the metadata Dagster keeps (outside the restricted zone) holds counts, no values
    assert "9000000" not in json.dumps({k: str(v.value) for k, v in meta.items()})


def test_cli_ingest_prints_lines_and_never_tracebacks(tmp_path, monkeypatch):
    from pipelines.cli import app
    from tests import enterprise_corpus as corpus

    monkeypatch.setenv("PCF_RAW_DIR", str(tmp_path / "raw"))
    monkeypatch.setenv("PCF_RESTRICTED_DIR", str(tmp_path / "restricted"))
    monkeypatch.setenv("PCF_CURATED_DIR", str(tmp_path / "curated"))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    runner = CliRunner()
    bad = corpus.write(tmp_path / "upload.xlsx", corpus.with_line({"unit": "kg"}, "P1"))
    res = runner.invoke(app, ["ingest", "enterprise", str(bad)])
    assert res.exit_code == 0, res.output
    assert "partial" in res.output and "unit.wrong_dimension" in res.output and "Traceback" not in res.output
    bomb = corpus._zip_bomb(tmp_path / "bomb.xlsx")
    res = runner.invoke(app, ["ingest", "enterprise", str(bomb)])
    assert res.exit_code == 1 and "file.zip_bomb" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["ingest", "enterprise", str(tmp_path / "missing.xlsx")])
    assert res.exit_code == 2 and "no such file" in " ".join(res.output.split())
    res = runner.invoke(app, ["template", str(tmp_path / "t.xlsx")])
    assert res.exit_code == 0 and (tmp_path / "t.xlsx").exists()


def test_matching_in_batches_of_uploads_gives_the_same_inventory(full_build, tmp_path, monkeypatch):
    """Lines are matched a batch of uploads at a time (bounded memory at 10,000 uploads): one upload per batch
    gives exactly the tables of one batch for all, the same types included (a column empty in one batch takes
    the others' type)."""
    from pipelines.enterprise import inventory
    from tests import enterprise_corpus as corpus

    s = dataclasses.replace(full_build["settings"], restricted_dir=tmp_path / "restricted")
    earlier = corpus.example()  # the aluminium maker's previous year, in force beside 2024 (renamed <id>@2023)
    earlier["enterprise"][0]["reporting_year"] = 2023
    for sheet in earlier.values():
        for row in sheet:
            row.update({k: v.replace("2024-", "2023-") for k, v in row.items() if k.startswith("period_")})
    for line in earlier["activity"]:
        line["amount"] = line["amount"] * 1.1
    files = [*sorted(EXAMPLES_DIR.glob("*.xlsx")), corpus.write(tmp_path / "aluminium_2023.xlsx", earlier)]
    assert all(ingest_upload(p, s).accepted for p in files)
    factors = full_build["tables"]["factor"]
    whole = build_inventory(s, factors, "v0001", s.gwp_set)
    monkeypatch.setattr(inventory, "MATCH_BATCH_UPLOADS", 1)
    batched = build_inventory(s, factors, "v0001", s.gwp_set)
    assert whole["line_emissions"]["upload_id"].n_unique() >= 3
    for name in ("line_emissions", "product_summary", "mapping_queue"):
        assert batched[name].schema == whole[name].schema, name
        assert batched[name].equals(whole[name]), name
