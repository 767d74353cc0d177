"""Products feeding products across enterprises: a cell maker's cell is an input of another enterprise's
battery pack (factor_ref 'product:<credit code>/<product id>'); the pack's footprint takes the cell's
solved footprint, its primary data share takes the cell's, and a reference to a product not in force is
an unmatched line with a reason."""

from __future__ import annotations

import copy
import dataclasses

import polars as pl
import pytest

from pipelines.engine.marts import build_marts
from pipelines.engine.results import compute
from pipelines.enterprise import store
from pipelines.enterprise.examples import NEV_BATTERY_PACK, _uscc
from pipelines.enterprise.intake import ingest_upload
from pipelines.enterprise.inventory import build_inventory, in_scope
from pipelines.enterprise.template import write_workbook

CELL_USCC = _uscc("91350900MA8CELL01")
CELLS, PACKS, KWH_PER_PACK = 1_280_000, 20_000, 61.44


def _cell_maker() -> dict:
    data = copy.deepcopy(NEV_BATTERY_PACK)
    data["enterprise"][0].update(uscc=CELL_USCC, enterprise_name="宁德示例电芯有限公司（示例 example）")
    data["facility"] = [
        {
            "facility_id": "ND-CELL",
            "facility_name": "电芯车间",
            "geography": "福建",
            "address": "福建省宁德市",
            "processes": "涂布、卷绕、化成",
        }
    ]
    data["product"] = [
        {
            "product_id": "CELL-300",
            "product_name": "磷酸铁锂电芯 3.2V 300Ah",
            "model": "C300",
            "category": "battery_cell",
            "declared_unit": "1 个",
            "unit": "个",
            "annual_output": CELLS,
            "facility_id": "ND-CELL",
            "period_start": "2024-01-01",
            "period_end": "2024-12-31",
        }
    ]
    data["activity"] = [
        {
            "line_id": "E1",
            "product_id": "CELL-300",
            "facility_id": "ND-CELL",
            "stage": "production",
            "kind": "energy",
            "item": "电力",
            "factor_ref": "electricity.grid_average",
            "amount": CELLS * 30,
            "unit": "kWh",
            "period_start": "2024-01-01",
            "period_end": "2024-12-31",
            "data_type": "primary",
            "evidence_kind": "meter",
            "evidence": "总表",
            "electricity_contract": "location",
        },
        {
            "line_id": "M1",
            "product_id": "CELL-300",
            "facility_id": "ND-CELL",
            "stage": "raw_material",
            "kind": "material",
            "item": "原铝",
            "amount": 320,
            "unit": "t",
            "data_type": "secondary",
            "origin_geography": "CN",
            "evidence_kind": "invoice",
            "evidence": "铝壳采购台账",
        },
    ]
    return data


def _pack(cell_ref: str) -> dict:
    data = copy.deepcopy(NEV_BATTERY_PACK)
    m1 = next(a for a in data["activity"] if a["line_id"] == "M1")
    for key in ("supplier_pcf_kgco2e", "supplier_primary_share", "supplier"):
        m1.pop(key, None)
    m1["factor_ref"] = cell_ref
    return data


@pytest.fixture(scope="module")
def chain(full_build, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("chain")
    s = dataclasses.replace(full_build["settings"], restricted_dir=tmp / "restricted")
    for name, data in (("cells", _cell_maker()), ("pack", _pack(f"product:{CELL_USCC}/CELL-300"))):
        result = ingest_upload(write_workbook(tmp / f"{name}.xlsx", data), s)
        assert result.accepted, result.quarantine
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
        iterations=200,
    )
    return s, inv, engine


def _pick(frame: pl.DataFrame, **where) -> pl.DataFrame:
    for k, v in where.items():
        frame = frame.filter(pl.col(k) == v)
    return frame


def _row(frame: pl.DataFrame, **where) -> dict:
    hit = frame.filter(*[pl.col(k) == v for k, v in where.items()])
    assert hit.height == 1, (where, hit)
    return hit.row(0, named=True)


def test_the_pack_takes_the_cells_solved_footprint(chain):
    _s, inv, engine = chain
    products = engine["engine_products"]
    cell = _row(products, product_id="CELL-300")["co2e_kg"]
    pack = _row(products, product_id="LFP-PACK-61")["co2e_kg"]
    lines = inv["line_emissions"]
    cell_lines = lines.filter(pl.col("product_id") == "CELL-300")["co2e_kg_per_declared_unit"].sum()
    assert cell == pytest.approx(cell_lines, rel=1e-12)
    m1 = _row(lines, product_id="LFP-PACK-61", line_id="M1")
    assert m1["match_method"] == "supplier_product"
    assert m1["co2e_kg_per_declared_unit"] is None  # before the solve the cell's footprint is not known
    cells_per_kwh = CELLS / (PACKS * KWH_PER_PACK)
    assert m1["amount_per_declared_unit"] == pytest.approx(cells_per_kwh, rel=1e-15)
    others = lines.filter((pl.col("product_id") == "LFP-PACK-61") & (pl.col("line_id") != "M1"))[
        "co2e_kg_per_declared_unit"
    ].sum()
    assert pack == pytest.approx(others + cells_per_kwh * cell, rel=1e-12)
    resolved = _row(engine["inventory"]["line_emissions"], product_id="LFP-PACK-61", line_id="M1")
    assert resolved["co2e_kg_per_declared_unit"] == pytest.approx(cells_per_kwh * cell, rel=1e-12)


def test_primary_data_share_flows_from_the_cell(chain):
    _s, _inv, engine = chain
    resolved = engine["inventory"]
    cell_pds = _row(resolved["product_summary"], product_id="CELL-300")["primary_data_share"]
    assert 0 < cell_pds < 1  # metered electricity is primary, the aluminium case secondary
    m1 = _row(resolved["line_emissions"], product_id="LFP-PACK-61", line_id="M1")
    assert m1["primary_fraction"] == pytest.approx(cell_pds, rel=1e-12)
    pack = _row(resolved["product_summary"], product_id="LFP-PACK-61")
    pack_lines = resolved["line_emissions"].filter(pl.col("product_id") == "LFP-PACK-61")
    expected = (pack_lines["co2e_kg_per_declared_unit"] * pack_lines["primary_fraction"]).sum() / pack_lines[
        "co2e_kg_per_declared_unit"
    ].sum()
    assert pack["primary_data_share"] == pytest.approx(expected, rel=1e-12)
    assert pack["lines_unmatched"] == 0


def test_contribution_mart_shows_the_cell_line(chain):
    _s, _inv, engine = chain
    marts = build_marts(engine)
    contribution = marts["product_contribution"]
    pack_total = _row(marts["product_footprint"], product_id="LFP-PACK-61")["co2e_kg"]
    pack_rows = contribution.filter(pl.col("product_key").str.contains("LFP-PACK-61"))
    m1 = _row(pack_rows, line_id="M1")
    assert m1["factor_name"] == "supplier product footprint (solved in this warehouse)"
    # the supplier's identity, product id and name stay in the restricted zone
    assert not any(x in str(pack_rows.to_dicts()) for x in (CELL_USCC, "CELL-300", "电芯"))
    assert pack_rows["share"].sum() == pytest.approx(1.0, abs=0.005 * pack_rows.height)  # rounded shares only
    exact = engine["engine_contributions"].filter(pl.col("process_id").str.contains("LFP-PACK-61"))
    assert pack_total == pytest.approx(exact["co2e_kg"].sum(), rel=1e-6)  # exact values: restricted zone
    assert m1["significant"]  # the cells dominate a pack's footprint


def test_a_reference_to_a_product_not_in_force_is_unmatched_with_a_reason(full_build, tmp_path):
    s = dataclasses.replace(full_build["settings"], restricted_dir=tmp_path / "restricted")
    ingest_upload(write_workbook(tmp_path / "pack.xlsx", _pack(f"product:{CELL_USCC}/NO-SUCH-CELL")), s)
    inv = build_inventory(s, full_build["tables"]["factor"], None, s.gwp_set)
    m1 = _row(inv["line_emissions"], line_id="M1")
    assert m1["match_method"] == "unmatched"
    assert "not a product in force" in m1["match_note"]
    assert _row(inv["product_summary"], product_id="LFP-PACK-61")["lines_unmatched"] == 1


def test_two_reporting_years_of_one_enterprise_coexist_and_an_upload_can_be_withdrawn(full_build, tmp_path):
    """Issue 14 #1: a second valid reporting year used to stop every build ('process ids repeat'). Both years
    are in force side by side, the marts say which year, and `pcf withdraw` takes one out (logged,
    reversible)."""
    s = dataclasses.replace(full_build["settings"], restricted_dir=tmp_path / "restricted")
    tables = full_build["tables"]
    y2024 = _cell_maker()
    y2023 = copy.deepcopy(y2024)
    y2023["enterprise"][0]["reporting_year"] = 2023
    for sheet in ("product", "activity"):
        for r in y2023[sheet]:
            for k in ("period_start", "period_end"):
                if r.get(k):
                    r[k] = str(r[k]).replace("2024-", "2023-")
    a = ingest_upload(write_workbook(tmp_path / "2024.xlsx", y2024), s)
    b = ingest_upload(write_workbook(tmp_path / "2023.xlsx", y2023), s)
    assert a.status == b.status == "accepted" and len(store.current_uploads(s)) == 2

    def solve():
        inv = build_inventory(s, tables["factor"], "v0001", s.gwp_set)
        engine = compute(
            inv["line_emissions"],
            in_scope(s)["product"],
            inv["product_summary"],
            tables["factor"],
            tables["factor_gas"],
            s.gwp_set,
            iterations=50,
        )
        return build_marts(engine)["product_footprint"]

    fp = _pick(solve(), uscc=CELL_USCC)
    assert sorted(zip(fp["product_id"], fp["reporting_year"])) == [("CELL-300", 2024), ("CELL-300@2023", 2023)]
    from pipelines.curation.decisions import now_utc

    store.record_withdrawal(s, a.upload_id, "withdraw", "sent by mistake", "steward-a", now_utc())
    fp = _pick(solve(), uscc=CELL_USCC)
    assert fp["product_id"].to_list() == ["CELL-300"] and fp["reporting_year"].to_list() == [2023]
    with pytest.raises(ValueError, match="already withdrawn"):
        store.record_withdrawal(s, a.upload_id, "withdraw", "again", "steward-a", now_utc())
    store.record_withdrawal(s, a.upload_id, "reinstate", "it was right after all", "steward-b", now_utc())
    assert len(_pick(solve(), uscc=CELL_USCC)) == 2
    assert [e["action"] for e in store.withdrawals(s)] == ["withdraw", "reinstate"]
