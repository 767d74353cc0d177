"""Incremental product marts: a change in one enterprise's data changes only its products' rows; the
others are carried over from the previous release; the report says what changed; and the merged marts
equal a from-scratch computation on the same inputs."""

from __future__ import annotations

import copy
import dataclasses

import polars as pl
import pytest

from pipelines.config import PROJECT_ROOT
from pipelines.engine.incremental import PER_PRODUCT_MARTS, merge_with_previous, recomputed_only, reusable
from pipelines.engine.marts import build_marts
from pipelines.engine.results import compute
from pipelines.enterprise.examples import NEV_BATTERY_PACK
from pipelines.enterprise.intake import ingest_upload
from pipelines.enterprise.inventory import build_inventory, in_scope
from pipelines.enterprise.template import write_workbook

EXAMPLES_DIR = PROJECT_ROOT / "data" / "raw" / "enterprise" / "examples"


def _engine(s, tables, reuse=None) -> dict:
    inv = build_inventory(s, tables["factor"], None, s.gwp_set)
    return compute(
        inv["line_emissions"],
        in_scope(s)["product"],
        inv["product_summary"],
        tables["factor"],
        tables["factor_gas"],
        s.gwp_set,
        iterations=300,
        reuse=reuse,
    )


def _marts(s, tables) -> dict[str, pl.DataFrame]:
    return build_marts(_engine(s, tables))


@pytest.fixture(scope="module")
def runs(full_build, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("incremental")
    s = dataclasses.replace(
        full_build["settings"], restricted_dir=tmp / "restricted", raw_dir=tmp / "raw_without_models"
    )
    tables = full_build["tables"]
    for name in ("aluminium_profile", "nev_battery_pack"):
        ingest_upload(EXAMPLES_DIR / f"{name}.xlsx", s)
    first = _marts(s, tables)
    again = _marts(s, tables)
    changed = copy.deepcopy(NEV_BATTERY_PACK)
    next(a for a in changed["activity"] if a["line_id"] == "E1")["amount"] = 3_000_000  # less grid electricity
    assert ingest_upload(write_workbook(tmp / "pack_v2.xlsx", changed), s).accepted
    second = _marts(s, tables)
    # what the build does: draw and shape only the products whose inputs changed since `first`
    engine = _engine(s, tables, reuse=reusable(first))
    shas = dict(engine["engine_products"].select("process_id", "inputs_sha256").rows())
    partial = build_marts(recomputed_only(engine, reusable(first))), shas
    return first, again, second, partial


def test_first_run_adds_every_product(runs):
    first, _again, _second, _partial = runs
    merged, report = merge_with_previous(first, None)
    assert len(report["added"]) == first["product_footprint"].height == 3
    assert report["unchanged"] == 0 and not report["changed"]
    for mart in (*PER_PRODUCT_MARTS, "product_benchmark"):
        assert merged[mart].equals(first[mart]), mart


def test_same_inputs_carry_every_row_over(runs):
    first, again, _second, _partial = runs
    merged, report = merge_with_previous(again, first)
    assert report["unchanged"] == 3 and not report["added"] and not report["changed"] and not report["removed"]
    for mart in (*PER_PRODUCT_MARTS, "product_benchmark"):
        assert merged[mart].equals(first[mart]), mart


def test_one_enterprise_changes_only_its_products(runs):
    first, _again, second, _partial = runs
    merged, report = merge_with_previous(second, first)
    pack = [k for k in second["product_footprint"]["product_key"] if "LFP-PACK-61" in k]
    assert [c["product_key"] for c in report["changed"]] == pack
    c = report["changed"][0]
    assert c["new_co2e_kg"] < c["old_co2e_kg"]  # 600 MWh less grid electricity
    assert report["unchanged"] == 2
    for mart in PER_PRODUCT_MARTS:
        others_before = first[mart].filter(~pl.col("product_key").is_in(pack))
        others_after = merged[mart].filter(~pl.col("product_key").is_in(pack))
        assert others_after.equals(others_before), mart  # carried over as they were
        assert (
            not merged[mart]
            .filter(pl.col("product_key").is_in(pack))
            .equals(first[mart].filter(pl.col("product_key").is_in(pack)))
        ), mart


def test_incremental_equals_from_scratch(runs):
    # Keyed Monte Carlo draws: the aluminium products' percentiles do not depend on the pack's data, so
    # carrying them over gives exactly what a from-scratch run on the new inputs gives.
    first, _again, second, _partial = runs
    merged, _ = merge_with_previous(second, first)
    for mart in (*PER_PRODUCT_MARTS, "product_benchmark"):
        assert merged[mart].equals(second[mart]), mart


def test_only_changed_products_are_drawn_and_the_merge_equals_from_scratch(runs):
    first, _again, second, (partial, shas) = runs
    pack = [k for k in second["product_footprint"]["product_key"] if "LFP-PACK-61" in k]
    # the mart SQL ran for the pack only; the others got no Monte Carlo draws at all
    assert partial["product_footprint"]["product_key"].to_list() == pack
    assert sorted(shas) == sorted(second["product_footprint"]["product_key"].to_list())
    merged, report = merge_with_previous(partial, first, shas)
    assert [c["product_key"] for c in report["changed"]] == pack and report["unchanged"] == 2
    for mart in (*PER_PRODUCT_MARTS, "product_benchmark"):
        assert merged[mart].equals(second[mart]), mart


def test_rows_neither_recomputed_nor_carried_over_stop_the_merge(runs):
    first, _again, _second, (partial, shas) = runs
    with pytest.raises(ValueError, match="cannot be carried over"):
        merge_with_previous(partial, None, shas)


def test_a_release_after_one_corrected_upload_is_byte_identical_to_a_build_from_scratch(tmp_path, monkeypatch):
    # the whole path with every reuse in play (staged sources, the upload tables in force, matched lines of the
    # unchanged enterprise, Monte Carlo and mart SQL for the changed product only) against a build with none
    import json
    import shutil

    from typer.testing import CliRunner

    from pipelines.cli import app

    raw, restricted = tmp_path / "raw", tmp_path / "restricted"
    shutil.copytree(PROJECT_ROOT / "data" / "raw", raw)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("PCF_RAW_DIR", str(raw))
    monkeypatch.setenv("PCF_RESTRICTED_DIR", str(restricted))
    monkeypatch.setenv("PCF_CURATED_DIR", str(tmp_path / "incremental"))
    runner = CliRunner()
    assert runner.invoke(app, ["build"]).exit_code == 0
    changed = copy.deepcopy(NEV_BATTERY_PACK)
    next(a for a in changed["activity"] if a["line_id"] == "E1")["amount"] = 3_000_000
    res = runner.invoke(app, ["ingest", "enterprise", str(write_workbook(tmp_path / "pack_v2.xlsx", changed))])
    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())
    assert "0 added, 1 changed, 0 removed, 3 unchanged (rows carried over)" in said  # 2 products + 1 model
    assert (restricted / "inventory" / "matched" / "lines.parquet").exists()
    assert (restricted / "engine" / "fingerprint_state.parquet").exists()
    # from scratch: the same raw files and uploads, nothing kept from earlier builds
    shutil.copytree(
        restricted, tmp_path / "restricted2", ignore=shutil.ignore_patterns("current", "inventory", "engine")
    )
    monkeypatch.setenv("PCF_RESTRICTED_DIR", str(tmp_path / "restricted2"))
    monkeypatch.setenv("PCF_CURATED_DIR", str(tmp_path / "scratch"))
    assert runner.invoke(app, ["build"]).exit_code == 0

    def tables(curated):
        manifest = sorted((curated / "releases").glob("v*/manifest.json"))[-1]
        return {k: v["sha256"] for k, v in json.loads(manifest.read_text(encoding="utf-8"))["tables"].items()}

    incremental, scratch = tables(tmp_path / "incremental"), tables(tmp_path / "scratch")
    assert "product_footprint" in scratch
    assert incremental == scratch


def _network(pack_electricity: float = 10.0, with_c: bool = True, grid: float = 0.58):
    """A small product network: B (a pack) draws on A (a cell) and the grid; A and C draw on factors; A and B
    feed each other (a loop)."""
    tech = [
        ("product:A", "factor:steel", 2.0, 1.1, "production", "L1"),
        ("product:A", "product:B", 0.01, 1.2, "production", "L2"),
        ("product:B", "product:A", 8.0, 1.1, "production", "L1"),
        ("product:B", "factor:grid", pack_electricity, 1.05, "production", "L2"),
        ("product:C", "factor:grid", 3.0, 1.05, "production", "L1"),
        ("product:C", "factor:steel", 1.0, None, "distribution", "L2"),
    ]
    tech = [t for t in tech if with_c or t[0] != "product:C"]
    technosphere = pl.DataFrame(
        tech, schema=["consumer", "provider", "amount", "gsd2", "stage", "line_id"], orient="row"
    )
    biosphere = pl.DataFrame(
        [("factor:steel", "CO2", 1.9, 1.2), ("factor:grid", "CO2", grid, None), ("factor:grid", "CH4", 1e-5, None)],
        schema=["process_id", "gas", "amount_kg", "gsd2"],
        orient="row",
    )
    line_info = technosphere.select("consumer", "line_id", pl.lit("energy").alias("kind"))
    products = pl.DataFrame(
        {"process_id": ["product:A", "product:B", "product:C"], "product_name": ["cell", "pack", "frame"]}
    ).filter(pl.lit(True) if with_c else pl.col("process_id") != "product:C")
    return products, technosphere, biosphere, line_info


def test_fingerprints_from_the_kept_state_equal_a_full_digest_and_digest_only_what_changed(monkeypatch):
    from pipelines.engine import incremental

    key = {"gwp_set": "AR6", "mc": [300, 1]}
    digested: list[list[str]] = []
    full_digest = incremental._digest_closures

    def recording(todo, *args):
        digested.append(sorted(todo.to_list()))
        return full_digest(todo, *args)

    monkeypatch.setattr(incremental, "_digest_closures", recording)
    first, state, common = incremental.fingerprints(*_network(), key)
    assert digested == [["product:A", "product:B", "product:C"]]
    cases = {
        "nothing changed": (_network(), []),
        "the pack's own line": (_network(pack_electricity=11.0), ["product:A", "product:B"]),  # A draws on B
        "a factor everyone draws on": (_network(grid=0.57), ["product:A", "product:B", "product:C"]),
        "a product gone": (_network(with_c=False), []),
    }
    for what, (network, expected) in cases.items():
        digested.clear()
        full, _, _ = incremental.fingerprints(*network, key)  # no kept state: every product digested
        digested.clear()
        kept, _, _ = incremental.fingerprints(*network, key, (state, common))
        assert kept == full, what
        assert digested == [expected], what
    unchanged, _, _ = incremental.fingerprints(*_network(), key, (state, common))
    assert unchanged == first
    changed, _, _ = incremental.fingerprints(*_network(pack_electricity=11.0), key, (state, common))
    assert changed["product:C"] == first["product:C"] and changed["product:A"] != first["product:A"]
    # other settings (here the Monte Carlo) change every fingerprint: the kept state is not used
    digested.clear()
    other, _, _ = incremental.fingerprints(*_network(), {**key, "mc": [1000, 1]}, (state, common))
    assert digested == [["product:A", "product:B", "product:C"]]
    assert all(other[p] != first[p] for p in first)


def test_the_merge_of_carried_and_fresh_rows_is_the_full_sort():
    from pipelines.engine.incremental import _merged

    rows = pl.DataFrame(
        {
            "product_key": ["a", "a", "b", "c", "c", "c", "d", "e"],
            "share": [0.9, 0.1, 1.0, 0.5, 0.5, 0.2, 1.0, 0.7],
            "line_id": ["L2", "L1", "L1", "L1", "L3", "L2", "L9", "L1"],
        }
    )
    by, descending = PER_PRODUCT_MARTS["product_contribution"]
    carried = rows.filter(pl.col("product_key").is_in(["a", "c", "e"]))
    fresh = rows.filter(pl.col("product_key").is_in(["b", "d"]))
    want = pl.concat([carried, fresh]).sort(by, descending=descending, maintain_order=True)
    assert _merged(carried, fresh, by, descending).equals(want)
    assert _merged(fresh, carried, by, descending).equals(want)
    assert _merged(carried.reverse(), fresh, by, descending).equals(want)  # not in order: sorted in full


def test_cutting_products_out_of_a_sorted_mart_equals_filtering_them():
    from pipelines.common.splice import without

    rows = pl.DataFrame({"product_key": ["a", "a", "b", "c", "c", "d", "e"], "v": [1, 2, 3, 4, 5, 6, 7]})
    for drop in ([], ["a"], ["e"], ["b", "d"], ["a", "c", "e"], ["x"], ["a", "b", "c", "d", "e"]):
        want = rows.filter(~pl.col("product_key").is_in(drop))
        assert without(rows, "product_key", pl.Series(drop, dtype=pl.String)).equals(want), drop
    shuffled = rows.reverse()  # not sorted: filtered
    assert without(shuffled, "product_key", pl.Series(["c"])).equals(shuffled.filter(pl.col("product_key") != "c"))


def test_the_change_hash_sees_what_the_fingerprint_texts_see():
    from pipelines.engine.incremental import process_hashes

    def hashed(amount, gsd2=1.1, order=(0, 1)):
        rows = [("product:A", "factor:x", amount, gsd2), ("product:A", "factor:y", 2.0, None)]
        frame = pl.DataFrame([rows[i] for i in order], schema=["consumer", "provider", "amount", "gsd2"], orient="row")
        return process_hashes({"t": (frame, "consumer")}).rows()

    base = hashed(0.0)
    assert hashed(0.0, order=(1, 0)) == base  # row order does not matter
    assert hashed(-0.0) != base  # the texts differ ('-0.0'): so must the hash
    assert hashed(1e-300) != base and hashed(0.0, gsd2=None) != base
