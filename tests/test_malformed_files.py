"""Malformed files give a clear, specific error and never stop the other files or sources."""

import openpyxl
import polars as pl

from pipelines.factors.warehouse import build_tables, load_source
from pipelines.sources import SOURCES, literature
from tests.literature_rows import REQUIRED_ONLY, row, write_rows


def _stage(raw_copy):
    batch = literature.load(raw_copy)
    return batch, batch.staged


def test_gbk_file_is_refused_with_encoding_advice_and_others_still_load(raw_copy):
    write_rows(raw_copy / "literature" / "gbk.csv", [row(record_id="gbk-1")], encoding="gbk")
    batch, staged = _stage(raw_copy)
    bad = staged.filter(pl.col("raw_file").str.ends_with("gbk.csv"))
    assert bad["error_rule"].to_list() == ["file.encoding"]
    assert "GBK" in bad["error_message"][0] and "UTF-8" in bad["error_message"][0]
    assert bad["lineage"].list.len().to_list() == [1]  # its one data line is accounted for
    good = staged.filter(pl.col("raw_file").str.ends_with("example_literature_factors.csv"))
    assert good.height == 4 and good["error_rule"].null_count() == 4


def test_missing_columns_named(raw_copy):
    write_rows(raw_copy / "literature" / "short.csv", [row()], columns=REQUIRED_ONLY[:-3])
    _batch, staged = _stage(raw_copy)
    bad = staged.filter(pl.col("raw_file").str.ends_with("short.csv"))
    assert bad["error_rule"].to_list() == ["file.missing_columns"]
    assert "publication_date" in bad["error_message"][0] and "licence" in bad["error_message"][0]


def test_human_numbers_are_read(raw_copy):
    write_rows(
        raw_copy / "literature" / "human.csv",
        [
            row(record_id="fw", co2e_kg="１２．５"),  # full-width digits
            row(record_id="ts", co2e_kg="1,234.5"),  # thousands separator
            row(record_id="txt", co2e_kg="about 3"),  # text in a number
            row(record_id="xl", reference_year="44927"),  # Excel serial date in a year cell
            row(record_id="xd", valid_from="45292"),  # Excel serial date in a date cell: read as a date
        ],
    )
    _batch, staged = _stage(raw_copy)
    got = {
        r["natural_key"]: r for r in staged.filter(pl.col("raw_file").str.ends_with("human.csv")).iter_rows(named=True)
    }
    assert got["fw"]["co2e_published"] == 12.5 and got["fw"]["error_rule"] is None
    assert got["ts"]["co2e_published"] == 1234.5
    assert got["txt"]["error_rule"] == "value.not_number" and "about 3" in got["txt"]["error_message"]
    assert got["xl"]["error_rule"] == "year.excel_serial"
    assert str(got["xd"]["valid_from"]) == "2024-01-01" and got["xd"]["error_rule"] is None


def test_xlsx_template_is_read(raw_copy):
    wb = openpyxl.Workbook()
    ws = wb.active
    cols = list(row().keys())
    ws.append(cols)
    ws.append([row(record_id="x1")[c] for c in cols])
    wb.save(raw_copy / "literature" / "book.xlsx")
    _batch, staged = _stage(raw_copy)
    x = staged.filter(pl.col("raw_file").str.ends_with("book.xlsx"))
    assert x["natural_key"].to_list() == ["x1"] and x["error_rule"].to_list() == [None]


def test_not_a_workbook(raw_copy):
    (raw_copy / "literature" / "broken.xlsx").write_bytes(b"PK\x03\x04 this is not a workbook")
    _batch, staged = _stage(raw_copy)
    bad = staged.filter(pl.col("raw_file").str.ends_with("broken.xlsx"))
    assert bad["error_rule"].to_list() == ["file.unreadable"]


def test_one_broken_source_does_not_stop_the_build(make_settings, raw_copy, sources_dir, tmp_path):
    # a copy of the sources dir with the MEE file replaced by bytes that are neither UTF-8 nor GBK
    import shutil

    broken = tmp_path / "sources"
    shutil.copytree(sources_dir, broken, ignore=shutil.ignore_patterns("*.zip", "*.xlsx"))
    (broken / "cn_mee_electricity_co2" / "cn_electricity_factors_2021_2022_plus.csv").write_bytes(
        b"\xff\xfe\x00\x81\xff"
    )
    s = make_settings(sources_dir=broken, raw_dir=raw_copy)
    batches = [load_source(k, s) for k in SOURCES]
    tables, summary = build_tables(batches, s)
    q = tables["quarantine"].filter(pl.col("source_id") == "cn_mee_electricity_co2")
    assert q["rule_id"].to_list() == ["file.encoding"]
    assert tables["factor"].filter(pl.col("source_id") == "uk_desnz_ghg_cf_2024").height > 2000
    assert summary["balanced"]


def test_file_changing_while_read_is_refused_and_accounted_for(raw_copy, monkeypatch):
    path = raw_copy / "literature" / "growing.csv"
    write_rows(path, [row(record_id="g-1"), row(record_id="g-2")])
    real = literature._identity
    calls = []

    def appended_meanwhile(p):  # the second look at the file (after parsing) sees another size
        calls.append(p)
        size, mtime, inode = real(p)
        return (size + 10 * (len(calls) % 2 == 0), mtime, inode)

    monkeypatch.setattr(literature, "_identity", appended_meanwhile)
    staged, raw = literature.stage_file(path, raw_copy)
    assert staged["error_rule"].to_list() == ["file.unreadable"]
    assert "changed while it was being read" in staged["error_message"][0]
    assert staged["lineage"].list.len().to_list() == [2] and raw["rows"] == 2


def test_excel_csv_utf8_with_bom_reads_like_plain_utf8(raw_copy):
    # Excel's "CSV UTF-8" starts with a byte-order mark; the first column must still be `record_id`.
    write_rows(
        raw_copy / "literature" / "excel_bom.csv",
        [row(record_id="bom-1"), row(record_id="bom-2")],
        encoding="utf-8-sig",
    )
    _batch, staged = _stage(raw_copy)
    rows = staged.filter(pl.col("raw_file").str.ends_with("excel_bom.csv"))
    assert rows["natural_key"].to_list() == ["bom-1", "bom-2"] and rows["error_rule"].null_count() == 2
