"""The factor path a chunk at a time (pipelines/factors/streaming.py) gives what the in-memory path gives: the
same staged rows, passed rows, quarantine, factors, gases, lineage, suite verdicts, and in the end the same
release byte for byte, whatever the chunk size (issue 20)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import polars as pl
import pytest
from literature_rows import row, write_rows

from pipelines.common.parts import Parts, chunks, write_parts
from pipelines.config import PROJECT_ROOT, settings
from pipelines.factors.expectations import load_suites, run_suite
from pipelines.factors.harmonise import harmonise
from pipelines.factors.streaming import harmonise_in_chunks, validate_in_chunks
from pipelines.factors.validation import validate
from pipelines.sources import literature
from pipelines.sources.literature import SPEC, stage_file, stream_file


def _rows() -> list[dict]:
    """Literature rows with what needs the whole table: duplicate keys far apart (same value, other value, a
    key repeated three times), rows that fail other rules, and an outlier group (same activity, unit and
    purpose, one value 100x the others) spread over the file."""
    rows = [row(record_id=f"r-{i:03d}", co2e_kg=str(1 + i / 10)) for i in range(40)]
    rows[5] = row(record_id="dup-a", co2e_kg="2.5")
    rows[19] = row(record_id="dup-a", co2e_kg="2.5")  # same value
    rows[33] = row(record_id="dup-a", co2e_kg="9.0")  # third, other value
    rows[8] = row(record_id="dup-b", co2e_kg="1.0")
    rows[9] = row(record_id="dup-b", co2e_kg="1.5")  # next row, other value
    rows[12] = row(record_id="bad-unit", unit="no-such-unit")
    rows[13] = row(record_id="bad-neg", co2e_kg="-3")
    rows[14] = row(record_id="bad-year", reference_year="45000")
    rows[25] = row(record_id="bad-number", co2e_kg="abc")
    rows[26] = row(record_id="dup-c", unit="no-such-unit")  # fails a rule first: not the kept copy of dup-c
    rows[27] = row(record_id="dup-c")
    for k, at in enumerate((2, 17, 29, 37)):  # beside the national default for anthracite (1,924 kg/t)
        rows[at] = row(
            record_id=f"coal-{k}",
            activity_category="fuel",
            activity_key="fuel.coal_anthracite",
            factor_purpose="combustion",
            unit="t",
            co2e_kg="190000" if k == 3 else str(1900 + k * 10),
        )
    rows[30] = row(record_id="gases", co2e_kg="", co2_fossil_kg="1.5", ch4_fossil_kg="0.01", n2o_kg="0.001")
    return rows


def _staged(tmp_path: Path) -> pl.DataFrame:
    path = write_rows(tmp_path / "literature" / "lit.csv", _rows())
    staged, _raw = stage_file(path, tmp_path, SPEC)
    return staged.with_columns(pl.lit("v").alias("source_version"))


@pytest.mark.parametrize("chunk_rows", [1, 3, 7, 16, 1000])
def test_validation_in_chunks_equals_validation_whole(tmp_path, chunk_rows):
    staged = _staged(tmp_path)
    whole = validate(staged, "AR6", 2026)
    passed, quarantine, lineage, rows = validate_in_chunks(
        [staged.head(11), staged.slice(11)], "AR6", 2026, chunk_rows, tmp_path / f"v{chunk_rows}"
    )
    assert rows == staged.height
    assert passed.collect().equals(whole.passed)
    assert quarantine.equals(whole.quarantine)

    def raw_rows(frame: pl.DataFrame) -> pl.DataFrame:  # the quarantined raw rows (a set: conservation counts them)
        return frame.explode("lineage").unnest("lineage").sort("raw_file", "raw_row")

    assert raw_rows(lineage).equals(raw_rows(whole.quarantine_lineage))
    dups = quarantine.filter(pl.col("rule_id") == "duplicate.natural_key")
    assert sorted(dups["natural_key"].to_list()) == ["dup-a", "dup-a", "dup-b"]  # dup-c's first copy failed
    assert any("value differs: kept 2.5, this row 9.0" in m for m in dups["message"].to_list())


@pytest.mark.parametrize("chunk_rows", [1, 4, 1000])
def test_harmonisation_in_chunks_equals_harmonisation_whole(tmp_path, chunk_rows):
    staged = _staged(tmp_path).with_columns(  # two of the coal factors from another source: a cross-source group
        pl.when(pl.col("natural_key").is_in(["coal-0", "coal-1"]))
        .then(pl.lit("regional"))
        .otherwise(pl.col("source_id"))
        .alias("source_id")
    )
    passed = validate(staged, "AR6", 2026).passed
    whole = harmonise(passed, "AR6", 2026)
    parts = write_parts(chunks(passed, chunk_rows), _dir(tmp_path / f"p{chunk_rows}"))
    streamed = harmonise_in_chunks(parts, "AR6", 2026, tmp_path / f"h{chunk_rows}")
    for name in ("factor", "factor_gas", "factor_lineage"):
        assert isinstance(getattr(streamed, name), Parts)
        assert getattr(streamed, name).collect().equals(getattr(whole, name)), name
    flagged = whole.factor.filter(pl.col("qa_flags").str.contains("outlier.cross_source"))
    assert flagged["natural_key"].to_list() == ["coal-3"]
    # each factor's gases together, main gases in column order
    assert whole.factor_gas.filter(pl.col("factor_id") == whole.factor_gas["factor_id"][0])["gas"].to_list() == [
        "CO2_fossil",
        "CH4_fossil",
        "N2O",
    ]


def _dir(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


def test_a_large_csv_staged_in_chunks_equals_the_file_staged_whole(tmp_path):
    rows = _rows()
    rows[3] = row(record_id=" padded ", name_en='comma, and "quotes"', co2e_kg=" 1,234.5 ")
    rows[4] = row(record_id="r-empty", valid_from="2023-01-05", gsd2="")
    path = write_rows(tmp_path / "literature" / "lit.csv", rows)
    whole, raw = stage_file(path, tmp_path, SPEC)
    writer_dir = _dir(tmp_path / "parts")
    from pipelines.common.parts import PartsWriter

    writer = PartsWriter(writer_dir, whole.schema)
    streamed_raw = stream_file(path, tmp_path, 6, writer, SPEC, source_version="")
    parts = writer.finish()
    assert len(parts.files) == 7 and streamed_raw == raw
    assert parts.collect().equals(whole.with_columns(pl.lit(None, dtype=pl.String).alias("source_version")))
    assert not list(writer_dir.glob("cells-*"))  # the text cells' scratch file is gone


@pytest.mark.parametrize("damage", ["gbk", "missing_column", "ragged"])
def test_a_damaged_large_csv_gives_the_errors_it_gives_whole(tmp_path, damage):
    rows = _rows()
    path = tmp_path / "literature" / "lit.csv"
    if damage == "missing_column":
        from pipelines.sources.literature import ALL_COLUMNS

        write_rows(path, rows, [c for c in ALL_COLUMNS if c != "licence"])
    else:
        write_rows(path, rows)
        data = path.read_bytes()
        if damage == "gbk":  # a GBK byte sequence in a UTF-8 file, far down
            data = data.replace(b"r-030", "r-030 测试".encode("gbk"))
        else:  # a row with one cell too many
            data = data.replace(b"r-020,", b"r-020,extra,")
        path.write_bytes(data)
    whole, raw = stage_file(path, tmp_path, SPEC)
    from pipelines.common.parts import PartsWriter

    writer = PartsWriter(_dir(tmp_path / "parts"), whole.schema)
    streamed_raw = stream_file(path, tmp_path, 6, writer, SPEC, source_version="")
    assert streamed_raw == raw
    assert writer.finish().collect().equals(whole.with_columns(pl.lit(None, dtype=pl.String).alias("source_version")))
    assert whole["error_rule"].is_not_null().any()
    if damage == "missing_column":  # a file-level error holds on every row of the file, not only its first
        assert whole["error_rule"].to_list() == ["file.missing_columns"] * len(rows)


def test_a_source_larger_than_a_chunk_comes_as_parts_with_the_same_rows(tmp_path, monkeypatch):
    write_rows(tmp_path / "literature" / "a.csv", _rows())
    write_rows(tmp_path / "literature" / "b.csv", _rows()[:5])  # small: staged whole, beside the parts
    monkeypatch.setenv("PCF_CURATED_DIR", str(tmp_path / "curated"))
    whole = literature.load(tmp_path, chunk_rows=0)
    streamed = literature.load(tmp_path, chunk_rows=4)
    assert isinstance(streamed.staged, Parts) and isinstance(whole.staged, pl.DataFrame)
    assert streamed.staged.collect().equals(whole.staged)
    assert streamed.raw_files.equals(whole.raw_files) and streamed.source_version == whole.source_version


def test_suites_on_parts_give_the_whole_tables_verdicts(tmp_path):
    staged = _staged(tmp_path)
    factor = harmonise(validate(staged, "AR6", 2026).passed, "AR6", 2026).factor
    # break it: a duplicate id two parts apart, nulls where a `mostly` expectation allows few
    broken = pl.concat([factor, factor.head(1)]).with_columns(
        pl.when(pl.int_range(pl.len()) % 3 == 0).then(None).otherwise(pl.col("name_en")).alias("name_en")
    )
    for frame in (factor, broken):
        parts = write_parts(chunks(frame, 5), _dir(tmp_path / f"s{frame.height}"))
        for suite in (s for s in load_suites() if s["table"] == "factor"):
            whole_result, parts_result = run_suite(suite, frame), run_suite(suite, parts)
            assert parts_result.success == whole_result.success, suite["name"]
            assert parts_result.evaluated == whole_result.evaluated
            counts = {(f["expectation"], f["column"]): f["unexpected_count"] for f in whole_result.failures}
            assert {(f["expectation"], f["column"]): f["unexpected_count"] for f in parts_result.failures} == counts
    critical = next(s for s in load_suites() if s["name"] == "factor_critical")
    assert not run_suite(critical, write_parts(chunks(broken, 5), _dir(tmp_path / "again"))).success


def test_parts_are_stored_with_the_output_that_holds_them(tmp_path):
    from pipelines.asset_store import read, write
    from pipelines.common.parts import scratch_dir

    frame = pl.DataFrame({"a": [1, 2, 3, 4, 5], "b": ["x", "y", None, "z", "w"]})
    scratch = scratch_dir(tmp_path)
    parts = write_parts(chunks(frame, 2), scratch)
    write(tmp_path / "out", {"table": parts, "again": parts, "small": frame})
    assert not scratch.exists()  # moved into the output
    back = read(tmp_path / "out")
    assert back["table"].collect().equals(frame) and back["again"].files == back["table"].files
    assert all(Path(f).is_relative_to(tmp_path / "out") for f in back["table"].files)


def test_a_build_in_chunks_publishes_the_release_of_a_build_in_memory(tmp_path, monkeypatch):
    # the whole Dagster path (asset store, GE checks, conservation, curation, publishing) both ways
    import shutil

    from typer.testing import CliRunner

    from pipelines.cli import app

    raw = tmp_path / "raw"
    shutil.copytree(PROJECT_ROOT / "data" / "raw", raw, ignore=shutil.ignore_patterns("enterprise", "models"))
    write_rows(raw / "literature" / "large.csv", _rows())
    (tmp_path / "no_sources").mkdir()
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("PCF_RAW_DIR", str(raw))
    monkeypatch.setenv("PCF_SOURCES_DIR", str(tmp_path / "no_sources"))
    monkeypatch.setenv("PCF_RESTRICTED_DIR", str(tmp_path / "restricted"))
    runner = CliRunner()

    def build_both() -> dict[str, dict]:
        manifests = {}
        for chunk in ("0", "7"):
            monkeypatch.setenv("PCF_FACTOR_CHUNK_ROWS", chunk)
            monkeypatch.setenv("PCF_CURATED_DIR", str(tmp_path / f"curated-{chunk}"))
            res = runner.invoke(app, ["build"])
            assert res.exit_code == 0, res.output
            s = dataclasses.replace(settings(), curated_dir=tmp_path / f"curated-{chunk}")
            manifest = sorted(s.releases_dir.glob("v*/manifest.json"))[-1]
            manifests[chunk] = json.loads(manifest.read_text(encoding="utf-8"))
            # in chunks, the steps handed parts to each other (stored with their outputs)
            harmonised = list(s.asset_store_dir.glob("builds/*/harmonised_factors/parts-*/part-*.parquet"))
            assert (len(harmonised) > 3) == (chunk == "7")
            manifests[chunk]["queue"] = pl.read_parquet(s.curated_dir / "review" / "queue.parquet")
        return manifests

    def same(manifests: dict[str, dict]) -> None:
        in_memory, streamed = manifests["0"], manifests["7"]
        assert streamed["release_hash"] == in_memory["release_hash"]
        assert {k: v["sha256"] for k, v in streamed["tables"].items()} == {
            k: v["sha256"] for k, v in in_memory["tables"].items()
        }
        assert streamed["queue"].equals(in_memory["queue"])  # the stewards' worklist too

    first = build_both()
    same(first)
    assert first["7"]["validation"]["balanced"] and first["7"]["validation"]["outliers_flagged"] == 1
    assert first["7"]["validation"]["quarantine_by_rule"]["duplicate.natural_key"] == 3
    # a second edition and stewards' decisions: decisions applied to parts, the guard and the queue against
    # the current release
    factor = pl.read_parquet(tmp_path / "curated-7" / "releases" / first["7"]["version"] / "factor.parquet")
    ids = dict(factor.filter(pl.col("source_id") == "literature").select("natural_key", "factor_id").rows())
    assert runner.invoke(app, ["approve", ids["r-001"], "--reason", "checked against the paper"]).exit_code == 0
    override = ["override", ids["r-004"], "--value", "3.5", "--source", "erratum p. 2", "--reason", "typo"]
    assert runner.invoke(app, override).exit_code == 0, "override"
    assert runner.invoke(app, ["reject", ids["r-006"], "--reason", "not a factor"]).exit_code == 0
    rows = _rows()
    rows[10] = row(record_id="r-010", co2e_kg="4.75")  # changed
    del rows[11]  # removed
    rows.append(row(record_id="r-new", co2e_kg="0.5"))  # added
    write_rows(raw / "literature" / "large.csv", rows)
    second = build_both()
    same(second)
    assert second["7"]["release_hash"] != first["7"]["release_hash"]
    queue = second["7"]["queue"]
    assert ids["r-001"] not in queue["factor_id"].to_list()
    assert "changed: " in queue.filter(pl.col("factor_id") == ids["r-010"])["reasons"].item()
    released = pl.read_parquet(tmp_path / "curated-7" / "releases" / second["7"]["version"] / "factor.parquet")
    assert released.filter(pl.col("factor_id") == ids["r-004"])["co2e_kg"].item() == 3.5
    assert released.filter(pl.col("factor_id") == ids["r-006"])["steward_status"].item() == "rejected"


def test_a_suite_verdict_is_kept_for_the_same_table_and_redone_for_another(tmp_path, monkeypatch):
    from pipelines.factors import expectations
    from pipelines.factors.expectations import run_suite_kept

    staged = _staged(tmp_path)
    factor = harmonise(validate(staged, "AR6", 2026).passed, "AR6", 2026).factor
    suite = next(s for s in load_suites() if s["name"] == "factor_critical")
    store = tmp_path / "verdicts"
    first = run_suite_kept(suite, factor, store)
    assert first.success and (store / "factor_critical.json").exists()
    calls = []
    real = expectations.run_suite
    monkeypatch.setattr(expectations, "run_suite", lambda *a: calls.append(1) or real(*a))
    # the same content in another frame: kept; a changed value: GX runs again and says so
    assert run_suite_kept(suite, factor.clone(), store) == first and not calls
    broken = factor.with_columns(pl.lit(None, dtype=pl.String).alias("unit"))
    again = run_suite_kept(suite, broken, store)
    assert calls == [1] and not again.success


def test_scratch_parts_of_a_gone_process_are_reclaimed_and_ours_kept(tmp_path):
    import os
    import subprocess
    import sys

    from pipelines.asset_store import reclaim
    from pipelines.common.parts import scratch_dir

    ours = scratch_dir(tmp_path)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = tmp_path / "scratch" / f"{int(gone.stdout)}-abc"  # a build killed before its output was stored
    dead.mkdir()
    (dead / "part-00000.parquet").write_bytes(b"x")
    removed = reclaim(tmp_path)
    assert removed == [f"scratch {dead.name}"] and not dead.exists() and ours.exists()
    assert ours.name.startswith(f"{os.getpid()}-")
