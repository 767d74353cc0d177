"""The Dagster IO manager for intermediate assets, pinned with small exact cases: frames at any depth
come back with their dtypes, other values as pickled, a legacy pickle is still read, a rewrite replaces
the stored output whole; and Great Expectations suites receive only the columns they name."""

from __future__ import annotations

import datetime as dt
import pickle

import dagster as dg
import polars as pl

from pipelines import asset_store
from pipelines.factors.expectations import load_suites, suite_columns
from pipelines.sources import literature
from pipelines.sources.base import SourceBatch, raw_files_frame


def _frame() -> pl.DataFrame:
    return pl.DataFrame({"id": ["a", "b"], "v": [1.5, None]}).with_columns(
        pl.col("id").cast(pl.Categorical).alias("cat"),
        pl.lit(None).alias("nothing"),
        pl.lit([{"gas": "N2O", "amount": 0.1}]).alias("gases"),
        pl.lit(dt.date(2024, 1, 1)).alias("valid_from"),
        pl.lit(3, pl.Int8).alias("dq"),
    )


def test_frames_at_any_depth_round_trip_with_their_dtypes(tmp_path):
    batch = SourceBatch(literature.SPEC, "rolling", _frame(), raw_files_frame([]), extras={"fuel_property": _frame()})
    obj = {
        "tables": {"factor": _frame(), "empty": pl.DataFrame()},
        "summary": {"balanced": True, "n": 2},
        "series": _frame()["v"],
        "batches": [batch],
    }
    asset_store.write(tmp_path / "harmonised_factors", obj)
    stored = sorted(p.name for p in (tmp_path / "harmonised_factors").iterdir())
    assert stored == [
        "frame-0000.parquet",
        "frame-0001.parquet",
        "frame-0002.parquet",
        "frame-0003.parquet",
        "frame-0004.parquet",
        "frame-0005.parquet",
        "object.pickle",
    ]
    back = asset_store.read(tmp_path / "harmonised_factors")
    assert back["tables"]["factor"].equals(_frame()) and back["tables"]["factor"].schema == _frame().schema
    assert back["tables"]["empty"].shape == (0, 0) and back["summary"] == {"balanced": True, "n": 2}
    assert back["series"].equals(_frame()["v"]) and back["series"].name == "v"
    assert back["batches"][0].staged.equals(_frame()) and back["batches"][0].extras["fuel_property"].equals(_frame())
    assert back["batches"][0].spec == literature.SPEC


def test_rewrite_replaces_the_output_whole_and_legacy_pickles_are_read(tmp_path):
    path = tmp_path / "validated_factors"
    path.write_bytes(pickle.dumps({"legacy": True}))  # as the FilesystemIOManager stored it
    assert asset_store.read(path) == {"legacy": True}
    asset_store.write(path, {"tables": [_frame(), _frame()]})
    asset_store.write(path, {"tables": [_frame()]})
    assert sorted(p.name for p in path.iterdir()) == ["frame-0000.parquet", "object.pickle"]
    assert len(asset_store.read(path)["tables"]) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["validated_factors"]  # no staging or retired leftovers


def test_io_manager_stores_by_asset_key(tmp_path):
    manager = asset_store.FrameStoreIOManager(base_dir=str(tmp_path))
    manager.handle_output(dg.build_output_context(asset_key=dg.AssetKey(["factors", "harmonised"])), {"t": _frame()})
    assert (tmp_path / "factors" / "harmonised" / "object.pickle").is_file()
    loaded = manager.load_input(dg.build_input_context(asset_key=dg.AssetKey(["factors", "harmonised"])))
    assert loaded["t"].equals(_frame())


def test_suites_get_only_the_columns_they_name():
    frame = pl.DataFrame({"factor_id": ["F1"], "dqr": [2.0], "unused": ["x"], "raw_sha256": ["0" * 64]})
    suite = {
        "expectations": [
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "dqr"}},
            {"type": "expect_compound_columns_to_be_unique", "kwargs": {"column_list": ["factor_id", "raw_sha256"]}},
        ]
    }
    assert suite_columns(suite, frame).columns == ["factor_id", "dqr", "raw_sha256"]
    whole = {"expectations": [{"type": "expect_table_columns_to_match_set", "kwargs": {"column_set": ["dqr"]}}]}
    assert suite_columns(whole, frame).columns == frame.columns
    for s in load_suites():  # every committed suite names its columns
        assert all(
            any(k in e["kwargs"] for k in ("column", "column_list", "column_A", "column_set"))
            for e in s["expectations"]
            if not e["type"].startswith("expect_table_row")
        )
