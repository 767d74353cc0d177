"""One failing example per validation rule, each through the real literature reader and validator."""

from pathlib import Path

import polars as pl
import pytest

from pipelines.factors.validation import validate
from pipelines.sources import literature
from pipelines.sources.base import SourceBatch, raw_files_frame
from tests.literature_rows import row, write_rows


def _quarantine(tmp_path: Path, rows: list[dict], **kw) -> pl.DataFrame:
    path = write_rows(tmp_path / "literature" / "t.csv", rows, **kw)
    staged, _raw = literature.stage_file(path, tmp_path)
    return validate(staged, "AR6", 2025).quarantine


@pytest.mark.parametrize(
    "changes,rule,column",
    [
        ({"co2e_kg": "abc"}, "value.not_number", "co2e_kg"),
        ({"co2e_kg": ""}, "value.missing", "value"),
        ({"co2e_kg": "-1.5"}, "value.negative", "value"),
        ({"reference_year": "45292"}, "year.excel_serial", "reference_year"),
        ({"reference_year": "1850"}, "year.implausible", "reference_year"),
        ({"valid_from": "31/02/2024"}, "date.invalid", "valid_from"),
        ({"publisher": ""}, "provenance.required", "publisher"),
        ({"doi_or_url": ""}, "provenance.required", "doi_or_url"),
        ({"unit": "furlong-widgets"}, "unit.unknown", "unit"),
        ({"activity_category": "electricity", "unit": "kg"}, "unit.dimension_mismatch", "unit"),
        ({"geography": "Atlantis"}, "geography.invalid", "geography"),
        ({"system_boundary": "cradle_to_moon"}, "code.invalid", "code"),
        ({"co2e_kg": "10", "co2_fossil_kg": "1", "ch4_fossil_kg": "0.1"}, "gwp.sum_mismatch", "co2e"),
    ],
)
def test_each_rule_quarantines_its_failing_row(tmp_path, changes, rule, column):
    q = _quarantine(tmp_path, [row(record_id="good"), row(record_id="bad", **changes)])
    assert q.height == 1, q
    r = q.row(0, named=True)
    assert (r["rule_id"], r["column_name"], r["natural_key"], r["raw_row"]) == (rule, column, "bad", 2)
    assert r["message"] and r["raw_sha256"] and r["raw_file"].endswith("t.csv")


def test_removal_declared_allows_negative(tmp_path):
    assert _quarantine(tmp_path, [row(co2e_kg="-1.5", removal="true")]).height == 0


def test_duplicate_natural_key_keeps_first(tmp_path):
    q = _quarantine(tmp_path, [row(record_id="a", co2e_kg="1"), row(record_id="a", co2e_kg="2")])
    r = q.row(0, named=True)
    assert r["rule_id"] == "duplicate.natural_key" and r["raw_row"] == 2
    assert "value differs: kept 1.0, this row 2.0" in r["message"]


def test_gwp_missing_for_selected_set(tmp_path):
    # NF3 has no SAR GWP100 in the package: usable under AR6, quarantined under SAR.
    staged = SourceBatch(literature.SPEC, "t", pl.DataFrame(), raw_files_frame([])).staged
    path = write_rows(tmp_path / "literature" / "t.csv", [row()])
    staged, _ = literature.stage_file(path, tmp_path)
    staged = staged.with_columns(
        pl.lit([{"gas": "NF3", "amount": 1.0, "as_co2e": False}]).alias("gases"),
        pl.lit("per_gas").alias("gas_basis"),
        pl.lit(None, pl.Float64).alias("co2e_published"),
    )
    assert validate(staged, "AR6", 2025).quarantine.height == 0
    q = validate(staged, "SAR", 2025).quarantine
    assert q["rule_id"].to_list() == ["gwp.missing_for_set"]


def test_provenance_missing_in_an_external_source_row():
    from pipelines.factors.schema import staged_frame

    staged = staged_frame(
        [
            {
                "source_id": "x",
                "natural_key": "k",
                "unit_raw": "kg",
                "co2e_published": 1.0,
                "geography_raw": "CN",
                "reference_year": 2022,
                "system_boundary": "cradle_to_gate",
                "data_type": "secondary",
                "factor_purpose": "life_cycle",
                "activity_category": "material",
                "publisher": "P",
                "document": None,
                "locator": "t1",
                "licence": "CC0-1.0",
                "raw_file": "f",
                "raw_sha256": "0" * 64,
                "raw_row": 1,
                "lineage": [{"raw_file": "f", "raw_sha256": "0" * 64, "raw_row": 1}],
                "gas_basis": "co2e_only",
            }
        ]
    )
    q = validate(staged, "AR6", 2025).quarantine
    assert q["rule_id"].to_list() == ["provenance.required"] and q["column_name"].to_list() == ["document"]


def test_conservation_counts_raw_rows_by_file_and_row():
    from pipelines.factors.warehouse import conservation

    raw_files = pl.DataFrame({"raw_sha256": ["a" * 64, "b" * 64], "rows": [3, 2]})
    lineage = pl.DataFrame(
        {
            "raw_sha256": ["a" * 64, "a" * 64, "b" * 64, "a" * 64],  # row a1 feeds two factors
            "raw_row": [1, 2, 1, 1],
        }
    )
    quarantined = pl.DataFrame({"raw_sha256": ["a" * 64, "b" * 64, "b" * 64], "raw_row": [3, 2, 1]})  # b1 also curated
    assert conservation(raw_files, lineage, quarantined) == {
        "raw_rows": 5,
        "curated_raw_rows": 3,
        "quarantined_raw_rows": 2,
        "balanced": True,
    }
    lost = conservation(raw_files, lineage, quarantined.filter(pl.col("raw_row") != 2))  # b2 now neither
    assert lost["quarantined_raw_rows"] == 1 and not lost["balanced"]
    # same row numbers in another file are other rows
    assert (
        conservation(raw_files, lineage.filter(pl.col("raw_sha256") == "a" * 64), quarantined)["curated_raw_rows"] == 2
    )
