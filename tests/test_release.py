"""Releases: deterministic, no-op when unchanged, atomic, content-addressed, versioned sources, diff,
catalogue readers never blocked."""

import os
import shutil

import duckdb
import polars as pl
import pytest

from pipelines.factors.warehouse import build_tables, load_source, source_manifest
from pipelines.release.catalog import connect_readonly
from pipelines.release.publish import diff, latest_release, list_releases, publish
from pipelines.sources import SOURCES


def _build(s):
    batches = [load_source(k, s) for k in SOURCES]
    tables, summary = build_tables(batches, s)
    return publish(s, tables, summary, source_manifest(batches)), tables


@pytest.fixture
def mee_copy(tmp_path, sources_dir):
    """A sources dir holding only a private copy of the MEE file (fast, and editable)."""
    root = tmp_path / "sources"
    shutil.copytree(sources_dir / "cn_mee_electricity_co2", root / "cn_mee_electricity_co2")
    return root


def test_same_inputs_same_bytes_and_no_new_release(make_settings, mee_copy, tmp_path):
    s1 = make_settings(sources_dir=mee_copy)
    first, _ = _build(s1)
    second, _ = _build(s1)
    assert first.published and not second.published and second.version == first.version == "v0001"
    s2 = make_settings(sources_dir=mee_copy, curated_dir=tmp_path / "other")
    other, _ = _build(s2)
    assert {k: v["sha256"] for k, v in other.manifest["tables"].items()} == {
        k: v["sha256"] for k, v in first.manifest["tables"].items()
    }


def test_tables_written_in_release_form_are_linked_and_give_the_same_release(
    make_settings, mee_copy, tmp_path, monkeypatch
):
    """A table handed over as `release_parts` (the product marts) is written once: the asset store links it and
    publish links it again; the release is the same, byte for byte, as from the frames."""
    from pipelines import asset_store
    from pipelines.release import publish as publish_module
    from pipelines.release.publish import release_parts

    batches = [load_source(k, make_settings(sources_dir=mee_copy)) for k in SOURCES]
    s1 = make_settings(sources_dir=mee_copy)
    tables, summary = build_tables(batches, s1)
    frames = {name: tables[name] for name in ("factor", "factor_gas")}
    from_frames = publish(s1, tables, summary, source_manifest(batches))
    # through the asset store, as between product_marts and factor_release
    (tmp_path / "scratch").mkdir()
    stored = tmp_path / "store" / "marts"
    asset_store.write(stored, release_parts(frames, tmp_path / "scratch"))
    parts = asset_store.read(stored)
    assert {n: p.collect().equals(frames[n]) for n, p in parts.items()} == {"factor": True, "factor_gas": True}
    encoded: list = []
    real = pl.DataFrame.write_parquet
    monkeypatch.setattr(
        pl.DataFrame, "write_parquet", lambda self, *a, **k: encoded.append(self.height) or real(self, *a, **k)
    )
    sunk: list = []
    real_sink = pl.LazyFrame.sink_parquet
    monkeypatch.setattr(pl.LazyFrame, "sink_parquet", lambda self, *a, **k: sunk.append(1) or real_sink(self, *a, **k))
    s2 = make_settings(sources_dir=mee_copy, curated_dir=tmp_path / "other")
    from_parts = publish(s2, {**tables, **parts}, summary, source_manifest(batches))
    assert from_parts.manifest["release_hash"] == from_frames.manifest["release_hash"]
    # every other table encoded once; the two in release form not at all
    others = [n for n in publish_module.RELEASE_TABLES if n in tables and n not in frames]
    # (a frame's write_parquet sinks once itself: no other sink, so no table in parts was streamed again)
    assert sorted(encoded) == sorted(tables[n].height for n in others) and len(sunk) == len(encoded)


def test_new_source_version_gives_new_release_diff_and_old_release_stays_queryable(make_settings, mee_copy):
    s = make_settings(sources_dir=mee_copy)
    _build(s)
    path = mee_copy / "cn_mee_electricity_co2" / "cn_electricity_factors_2021_2022_plus.csv"
    text = path.read_text(encoding="utf-8")
    assert ",0.5227,kgCO2/kWh" in text
    lines = text.splitlines()
    # next edition: Chongqing 2022 revised, one new 2024 provincial row
    lines = [ln.replace(",0.5227,kgCO2/kWh", ",0.5300,kgCO2/kWh") for ln in lines]
    lines.append(
        lines[-40].replace("2022,", "2024,", 1)
        if lines[-40].startswith("2022,")
        else next(ln for ln in lines if ln.startswith("2022,provincial_average")).replace("2022,", "2024,", 1)
    )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result, _ = _build(s)
    assert result.published and result.version == "v0002" and result.manifest["parent_version"] == "v0001"
    d = diff(s, "v0001", "v0002")
    changed = d["changed"].filter(pl.col("natural_key").str.contains("CN-CQ"))
    assert changed.height == 1
    r = changed.row(0, named=True)
    assert (r["old_co2e_kg"], r["new_co2e_kg"]) == (0.5227, 0.53)
    assert r["relative_change_co2e"] == pytest.approx(0.0073 / 0.5227)
    assert r["changed_fields"] == "published_co2e_kg,co2_fossil_kg"
    assert d["added"].height == 1 and d["removed"].height == 0
    # the new 2024 row is the next value of the Chongqing series, not an unrelated addition
    series = d["series"].row(0, named=True)
    assert d["series"].height == 1 and (series["previous_year"], series["year"]) == (2022, 2024)
    con = connect_readonly(s)
    old = con.execute(
        "select co2e_kg from v0001.factor where natural_key like '2022:provincial_average:CN-CQ%'"
    ).fetchone()
    new = con.execute(
        "select co2e_kg from latest.factor where natural_key like '2022:provincial_average:CN-CQ%'"
    ).fetchone()
    con.close()
    assert (old[0], new[0]) == (0.5227, 0.53)


def test_storage_grows_with_changes_not_copies(make_settings, mee_copy):
    s = make_settings(sources_dir=mee_copy)
    _build(s)
    objects_before = set(os.listdir(s.objects_dir))
    path = mee_copy / "cn_mee_electricity_co2" / "cn_electricity_factors_2021_2022_plus.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",0.5227,", ",0.5300,"), encoding="utf-8")
    result, _ = _build(s)
    new_objects = set(os.listdir(s.objects_dir)) - objects_before
    # gwp and geography tables did not change: not written again; the release links the same object
    v1 = list_releases(s)[0]["tables"]
    assert v1["gwp"]["sha256"] == result.manifest["tables"]["gwp"]["sha256"]
    assert f"{v1['gwp']['sha256']}.parquet" not in new_objects
    assert len(new_objects) < len(result.manifest["tables"])
    assert (
        os.stat(s.releases_dir / "v0001" / "gwp.parquet").st_ino
        == os.stat(s.releases_dir / "v0002" / "gwp.parquet").st_ino
    )


def test_crash_mid_publish_leaves_previous_release_intact(make_settings, mee_copy, monkeypatch):
    s = make_settings(sources_dir=mee_copy)
    _build(s)
    path = mee_copy / "cn_mee_electricity_co2" / "cn_electricity_factors_2021_2022_plus.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",0.5227,", ",0.5300,"), encoding="utf-8")

    def crash(*_a, **_k):
        raise OSError("simulated crash before the release directory is renamed into place")

    monkeypatch.setattr(os, "rename", crash)
    with pytest.raises(OSError):
        _build(s)
    monkeypatch.undo()
    assert [m["version"] for m in list_releases(s)] == ["v0001"]
    con = connect_readonly(s)
    assert (
        con.execute("select count(*) from latest.factor where source_id = 'cn_mee_electricity_co2'").fetchone()[0] == 91
    )
    con.close()
    result, _ = _build(s)  # the next run cleans the staging leftovers and publishes
    assert result.version == "v0002" and not list(s.releases_dir.glob(".staging-*"))


def test_reader_is_not_blocked_and_not_broken_by_publish(make_settings, mee_copy):
    s = make_settings(sources_dir=mee_copy)
    _build(s)
    reader = connect_readonly(s)
    assert (
        reader.execute("select count(*) from latest.factor where source_id = 'cn_mee_electricity_co2'").fetchone()[0]
        == 91
    )
    path = mee_copy / "cn_mee_electricity_co2" / "cn_electricity_factors_2021_2022_plus.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",0.5227,", ",0.5300,"), encoding="utf-8")
    result, _ = _build(s)  # publishes while the reader holds the catalogue open
    assert result.published
    assert (
        reader.execute("select count(*) from latest.factor where source_id = 'cn_mee_electricity_co2'").fetchone()[0]
        == 91
    )  # still reads its snapshot
    reader.close()
    fresh = connect_readonly(s)
    assert fresh.execute("select max(version) from meta.release").fetchone()[0] == "v0002"
    fresh.close()


def test_manifest_and_plain_parquet(full_build):
    s = full_build["settings"]
    m = latest_release(s)
    for key in ("version", "parent_version", "created_at", "git_commit", "tables", "sources", "validation"):
        assert key in m
    f = m["tables"]["factor"]
    path = s.releases_dir / m["version"] / "factor.parquet"
    import hashlib

    assert hashlib.sha256(path.read_bytes()).hexdigest() == f["sha256"]
    # any engine reads it without this project: plain duckdb on the file
    assert duckdb.sql(f"select count(*) from '{path}'").fetchone()[0] == f["rows"]
    assert {x["source_id"] for x in m["sources"]} == set(SOURCES)
    assert all(len(file["sha256"]) == 64 for x in m["sources"] for file in x["files"])


def test_catalogue_has_required_views(full_build):
    con = connect_readonly(full_build["settings"])
    tables = {
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'latest'"
        ).fetchall()
    }
    con.close()
    assert {"factor", "factor_gas", "source", "quarantine"} <= tables
