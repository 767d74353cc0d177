"""Matched lines kept between builds (enterprise/matched_cache.py): an enterprise whose uploads and index
inputs did not change is not matched again, and the inventory is exactly what matching everything gives;
any change to what matching reads (here a factor's value, a steward mapping) matches everyone again."""

from __future__ import annotations

import copy
import dataclasses

import polars as pl
import pytest

from pipelines.config import PROJECT_ROOT
from pipelines.enterprise import inventory, matched_cache
from pipelines.enterprise.examples import NEV_BATTERY_PACK
from pipelines.enterprise.intake import ingest_upload
from pipelines.enterprise.template import write_workbook

EXAMPLES_DIR = PROJECT_ROOT / "data" / "raw" / "enterprise" / "examples"
TABLES = ("line_emissions", "product_summary", "mapping_queue")


@pytest.fixture()
def zone(full_build, tmp_path, monkeypatch):
    s = dataclasses.replace(full_build["settings"], restricted_dir=tmp_path / "restricted", raw_dir=tmp_path / "raw")
    for name in ("aluminium_profile", "nev_battery_pack"):
        assert ingest_upload(EXAMPLES_DIR / f"{name}.xlsx", s).accepted
    calls: list[str] = []
    real = inventory.match_line

    def counting(line, *args, **kwargs):
        calls.append(line["uscc"])
        return real(line, *args, **kwargs)

    monkeypatch.setattr(inventory, "match_line", counting)
    return s, full_build["tables"], calls


def _build(s, factors, cache: bool):
    return inventory.build_inventory(s, factors, None, s.gwp_set, cache=cache)


def _pack_uscc() -> str:
    return NEV_BATTERY_PACK["enterprise"][0]["uscc"]


def test_only_the_changed_enterprise_is_matched_again(zone, tmp_path):
    s, tables, calls = zone
    first = _build(s, tables["factor"], cache=True)
    assert len(set(calls)) == 2  # nothing cached yet: both enterprises matched
    changed = copy.deepcopy(NEV_BATTERY_PACK)
    next(a for a in changed["activity"] if a["line_id"] == "E1")["amount"] = 3_000_000
    assert ingest_upload(write_workbook(tmp_path / "pack_v2.xlsx", changed), s).accepted
    calls.clear()
    cached = _build(s, tables["factor"], cache=True)
    assert calls and set(calls) == {_pack_uscc()}  # the aluminium enterprise's lines came from the cache
    calls.clear()
    full = _build(s, tables["factor"], cache=False)
    assert len(set(calls)) == 2
    for name in TABLES:
        assert cached[name].equals(full[name]), name
    assert not cached["line_emissions"].equals(first["line_emissions"])  # the pack's change is in it


def test_a_changed_factor_or_mapping_matches_everyone_again(zone):
    s, tables, calls = zone
    _build(s, tables["factor"], cache=True)
    calls.clear()
    _build(s, tables["factor"], cache=True)
    assert not calls  # same uploads, same factors: nothing matched
    factors = tables["factor"].with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.col("co2e_kg") * 1.01).otherwise(pl.col("co2e_kg"))
    )
    _build(s, factors, cache=True)
    assert len(set(calls)) == 2
    calls.clear()
    key = matched_cache.index_key(s, factors, None, {"k": "v"}, s.gwp_set, None)
    assert key != matched_cache.index_key(s, factors, None, {}, s.gwp_set, None)


def test_a_torn_cache_is_not_used(zone):
    s, tables, calls = zone
    _build(s, tables["factor"], cache=True)
    folder = s.restricted_dir / "inventory" / "matched"
    # as if the build died between its two writes: the queue from another generation
    queue = pl.read_parquet(folder / "queue.parquet")
    queue.write_parquet(folder / "queue.parquet")  # no key at all
    assert matched_cache.load(s) is None
    calls.clear()
    _build(s, tables["factor"], cache=True)
    assert len(set(calls)) == 2


def test_the_key_depends_on_the_values_not_on_how_the_frame_is_laid_out(full_build, tmp_path):
    s = full_build["settings"]
    factors = full_build["tables"]["factor"]
    path = tmp_path / "factor.parquet"
    factors.write_parquet(path)
    rebuilt = pl.concat([pl.read_parquet(path).slice(0, 100), pl.read_parquet(path).slice(100)], rechunk=False)
    assert rebuilt.equals(factors)

    def key(frame):
        return matched_cache.index_key(s, frame, None, {}, s.gwp_set, None)

    assert key(rebuilt) == key(factors)


def test_a_new_enterprise_rematches_only_those_that_draw_on_its_products(zone, tmp_path):
    # a cell maker arrives; the pack maker's line M1 draws on its cell: only the cell maker (new) and the
    # pack maker (what it draws on changed: absent -> in force) are matched, the aluminium enterprise is not
    from tests.test_product_chain import CELL_USCC, _cell_maker, _pack

    s, tables, calls = zone
    pack = _pack(f"product:{CELL_USCC}/CELL-300")
    assert ingest_upload(write_workbook(tmp_path / "pack_draws_on_cells.xlsx", pack), s).accepted
    before = _build(s, tables["factor"], cache=True)
    m1 = before["line_emissions"].filter(pl.col("line_id") == "M1")
    assert m1["match_method"].to_list() == ["unmatched"] * m1.height  # the cell is not in force yet
    calls.clear()
    assert ingest_upload(write_workbook(tmp_path / "cells.xlsx", _cell_maker()), s).accepted
    after = _build(s, tables["factor"], cache=True)
    assert set(calls) == {CELL_USCC, _pack_uscc()}
    m1 = after["line_emissions"].filter(pl.col("line_id") == "M1", pl.col("uscc") == _pack_uscc())
    assert set(m1["match_method"].to_list()) == {"supplier_product"}
    full = _build(s, tables["factor"], cache=False)
    for name in TABLES:
        assert after[name].equals(full[name]), name
    # an enterprise nobody draws on changes: only it is matched again
    calls.clear()
    cells = _cell_maker()
    cells["activity"][0]["amount"] = cells["activity"][0]["amount"] * 1.5
    assert ingest_upload(write_workbook(tmp_path / "cells_v2.xlsx", cells), s).accepted
    _build(s, tables["factor"], cache=True)
    assert set(calls) == {CELL_USCC}
