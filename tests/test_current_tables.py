"""The tables of the uploads in force (store.read_current) are exactly the concatenation of the upload files
in force, in order, whether they come from the files or from the kept result (current/<table>.parquet):
after a new upload, a superseding one, a withdrawal, and with the kept file damaged."""

from __future__ import annotations

import copy
import dataclasses

import polars as pl
import pytest

from pipelines.config import PROJECT_ROOT
from pipelines.enterprise import store
from pipelines.enterprise.examples import NEV_BATTERY_PACK
from pipelines.enterprise.intake import ingest_upload
from pipelines.enterprise.template import write_workbook

EXAMPLES_DIR = PROJECT_ROOT / "data" / "raw" / "enterprise" / "examples"


def _reference(s, table: str) -> pl.DataFrame:
    frames = [
        pl.read_parquet(store.upload_dir(s, e["upload_id"]) / f"{table}.parquet") for e in store.current_uploads(s)
    ]
    frames = [f for f in frames if f.height]
    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()


def _check(s) -> None:
    for table in ("enterprise", "facility", "product", "activity", "allocation"):
        got, want = store.read_current(s, table), _reference(s, table)
        assert got.schema == want.schema and got.equals(want), table


@pytest.fixture()
def zone(tmp_path):
    from pipelines.config import settings

    return dataclasses.replace(settings(), restricted_dir=tmp_path / "restricted", raw_dir=tmp_path / "raw")


def test_kept_tables_equal_the_upload_files_through_every_change(zone, tmp_path, monkeypatch):
    s = zone
    first = ingest_upload(EXAMPLES_DIR / "aluminium_profile.xlsx", s)
    assert first.accepted
    _check(s)  # cold: read from the files, kept
    assert (s.restricted_dir / "current" / "activity.parquet").exists()
    assert ingest_upload(EXAMPLES_DIR / "nev_battery_pack.xlsx", s).accepted
    reads = []
    real = pl.read_parquet
    monkeypatch.setattr(pl, "read_parquet", lambda source, *a, **k: reads.append(source) or real(source, *a, **k))
    _check(s)  # the new upload's files are read, the kept rows of the first are not read again
    assert reads and not any(first.upload_id in str(x) for r in reads if isinstance(r, list) for x in r)
    monkeypatch.setattr(pl, "read_parquet", real)
    changed = copy.deepcopy(NEV_BATTERY_PACK)
    next(a for a in changed["activity"] if a["line_id"] == "E1")["amount"] = 3_000_000
    newer = ingest_upload(write_workbook(tmp_path / "pack_v2.xlsx", changed), s)
    assert newer.accepted
    _check(s)  # the superseded upload's rows are gone, the newer ones in its place
    store.record_withdrawal(s, newer.upload_id, "withdraw", "test", "steward", "2026-11-28T00:00:00Z")
    _check(s)  # the one before comes back
    (s.restricted_dir / "current" / "activity.parquet").write_bytes(b"not parquet")
    _check(s)  # a damaged kept file is read again from the uploads


def test_the_stewards_views_show_the_uploads_in_force_and_every_upload(zone, tmp_path):
    import duckdb

    s = zone
    for name in ("aluminium_profile", "nev_battery_pack"):
        assert ingest_upload(EXAMPLES_DIR / f"{name}.xlsx", s).accepted
    changed = copy.deepcopy(NEV_BATTERY_PACK)
    next(a for a in changed["activity"] if a["line_id"] == "E1")["amount"] = 3_000_000
    assert ingest_upload(write_workbook(tmp_path / "pack_v2.xlsx", changed), s).accepted
    for kept in (False, True):  # from the upload files; then from the kept table of the uploads in force
        if kept:
            _check(s)  # read_current keeps the tables
        store.rebuild_views(s)
        con = duckdb.connect(str(s.restricted_dir / "restricted.duckdb"), read_only=True)
        try:
            for table in ("product", "activity"):
                every = pl.concat(
                    [
                        pl.read_parquet(store.upload_dir(s, e["upload_id"]) / f"{table}.parquet")
                        for e in store.registry(s)
                    ],
                    how="diagonal_relaxed",
                )
                key = ["upload_id", "line_id" if table == "activity" else "product_id"]
                current = con.execute(f"select * from current_{table}").pl().sort(key)
                assert current.equals(_reference(s, table).sort(key)), table
                history = con.execute(f"select * from history_{table}").pl().sort(key)
                assert history.select(every.columns).equals(every.sort(key)), table
                (sql,) = con.execute(f"select sql from duckdb_views() where view_name = 'current_{table}'").fetchone()
                assert ("/current/" in sql) == kept  # one kept file, not every upload's
        finally:
            con.close()


def test_the_quarantine_views_bind_only_files_with_rows_and_show_them_all(zone, tmp_path):
    import duckdb

    s = zone
    assert ingest_upload(EXAMPLES_DIR / "aluminium_profile.xlsx", s).accepted
    bad = copy.deepcopy(NEV_BATTERY_PACK)
    next(a for a in bad["activity"] if a["line_id"] == "E1")["amount"] = -5  # a row to quarantine
    partial = ingest_upload(write_workbook(tmp_path / "pack_bad_line.xlsx", bad), s)
    assert partial.accepted and partial.quarantine
    store.rebuild_views(s)
    files = {
        e["upload_id"]: pl.read_parquet(store.upload_dir(s, e["upload_id"]) / "quarantine.parquet")
        for e in store.registry(s)
    }
    assert sum(f.height > 0 for f in files.values()) == 1
    con = duckdb.connect(str(s.restricted_dir / "restricted.duckdb"), read_only=True)
    try:
        for view in ("current_quarantine", "history_quarantine"):
            assert con.execute(f"select count(*) from {view}").fetchone()[0] == sum(f.height for f in files.values())
            (sql,) = con.execute(f"select sql from duckdb_views() where view_name = '{view}'").fetchone()
            assert _binds_only(sql, files, partial.upload_id)
    finally:
        con.close()


def _binds_only(sql: str, files: dict, keep: str) -> bool:
    return keep in sql and all(upload_id not in sql for upload_id in files if upload_id != keep)


def test_a_lagging_kept_table_is_not_rewritten_and_the_views_still_show_exactly_the_uploads(zone, tmp_path):
    import duckdb

    s = zone
    for name in ("aluminium_profile", "nev_battery_pack"):
        assert ingest_upload(EXAMPLES_DIR / f"{name}.xlsx", s).accepted
    _check(s)  # the kept tables written
    kept_file = s.restricted_dir / "current" / "activity.parquet"
    before = kept_file.stat().st_mtime_ns
    changed = copy.deepcopy(NEV_BATTERY_PACK)
    next(a for a in changed["activity"] if a["line_id"] == "E1")["amount"] = 3_000_000
    newer = ingest_upload(write_workbook(tmp_path / "pack_v2.xlsx", changed), s)
    assert newer.accepted
    _check(s)  # a superseding upload: read from its own file, the kept file left as it is (it lags by two)
    assert kept_file.stat().st_mtime_ns == before
    store.rebuild_views(s)
    con = duckdb.connect(str(s.restricted_dir / "restricted.duckdb"), read_only=True)
    try:
        for table in ("product", "activity"):
            key = ["upload_id", "line_id" if table == "activity" else "product_id"]
            current = con.execute(f"select * from current_{table}").pl().sort(key)
            assert current.equals(_reference(s, table).sort(key)), table
            every = pl.concat(
                [pl.read_parquet(store.upload_dir(s, e["upload_id"]) / f"{table}.parquet") for e in store.registry(s)],
                how="diagonal_relaxed",
            ).sort(key)
            history = con.execute(f"select * from history_{table}").pl().sort(key)
            assert history.select(every.columns).equals(every), table
            (sql,) = con.execute(f"select sql from duckdb_views() where view_name = 'current_{table}'").fetchone()
            assert "/current/" in sql and newer.upload_id in sql
    finally:
        con.close()


def test_kept_records_are_read_again_only_when_the_file_changed(tmp_path, monkeypatch):
    """parquet_meta.read_meta keeps a record by the file's stat: a rewritten file is read again, a damaged one
    gives None, and a caller adding keys to what it got does not change what the next caller gets."""
    import pyarrow.parquet as pq

    from pipelines.common import parquet_meta

    path = tmp_path / "kept.parquet"
    frame = pl.DataFrame({"a": [1, 2]})
    parquet_meta.write(path, frame, {"u1": [2, "schema"]})
    reads: list = []
    real = pq.read_metadata
    monkeypatch.setattr(parquet_meta.pq, "read_metadata", lambda p: reads.append(p) or real(p))
    got = parquet_meta.read_meta(path)
    assert got == {"u1": [2, "schema"]}
    got["u2"] = [0, "other"]  # read_current adds the uploads not in the kept file
    assert parquet_meta.read_meta(path) == {"u1": [2, "schema"]} and len(reads) == 1
    parquet_meta.write(path, frame, {"u1": [2, "schema"], "u3": [5, "schema"]})
    assert parquet_meta.read_meta(path) == {"u1": [2, "schema"], "u3": [5, "schema"]} and len(reads) == 2
    path.write_bytes(b"not parquet")
    assert parquet_meta.read_meta(path) is None
    path.unlink()
    assert parquet_meta.read_meta(path) is None
