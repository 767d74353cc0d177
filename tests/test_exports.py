"""Exports: the national package holds approved, redistributable factors only, is validated before it is
written, carries checksums and a schema, gives the same bytes for the same release, and never contains a
value from the restricted zone."""

from __future__ import annotations

import hashlib
import json

import polars as pl
import pytest

from pipelines.exports.national import NATIONAL_FIELDS, ExportValidationError, build_table, export, validate
from pipelines.exports.restricted import restricted_markers



@pytest.fixture(scope="module")
def warehouse(marts_release):
    return marts_release["settings"], marts_release["result"]


def test_national_package_is_approved_redistributable_and_checksummed(warehouse, tmp_path):
    s, result = warehouse
    package = export(s, tmp_path / "national", restricted_markers=restricted_markers(s))
    table = pl.read_parquet(tmp_path / "national" / "factors.parquet")
    assert table.columns == NATIONAL_FIELDS and table.height == package["factors"] > 5000
    assert set(table["steward_status"]) == {"approved"}
    assert "cpcd_snapshot" not in set(table["source_id"])  # licence forbids redistribution
    assert package["left_out"]["licence forbids redistribution"] >= 4000
    assert package["release"]["version"] == result.version
    for name, meta in package["files"].items():
        data = (tmp_path / "national" / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == meta["sha256"] and len(data) == meta["bytes"]
    schema = json.loads((tmp_path / "national" / "schema.json").read_text(encoding="utf-8"))
    assert [f["name"] for f in schema["fields"]] == NATIONAL_FIELDS
    assert all(f["description_en"] for f in schema["fields"])
    csv_table = pl.read_csv(tmp_path / "national" / "factors.csv", infer_schema_length=0)
    assert csv_table.height == table.height and csv_table.columns == NATIONAL_FIELDS


def test_restricted_enterprise_values_never_appear(warehouse, tmp_path):
    s, _ = warehouse
    markers = restricted_markers(s)
    assert "91500113MA5UEXAM1C" in markers and "示例电芯厂" in markers  # the zone really holds them
    export(s, tmp_path / "national", restricted_markers=markers)
    blob = b"".join((tmp_path / "national" / n).read_bytes() for n in ("factors.csv", "schema.json", "package.json"))
    text = blob.decode("utf-8")
    for marker in [*markers, "LFP-PACK-61", "AP-6063", "product:"]:
        assert marker not in text, marker
    parquet = pl.read_parquet(tmp_path / "national" / "factors.parquet")
    assert not parquet.filter(pl.any_horizontal(pl.col(pl.String).str.contains("91500113MA5UEXAM1C", literal=True))).height


def test_same_release_same_bytes(warehouse, tmp_path):
    s, _ = warehouse
    a = export(s, tmp_path / "a")
    b = export(s, tmp_path / "b")
    assert a == b


def test_validation_refuses_before_writing(warehouse, tmp_path):
    s, result = warehouse
    from pipelines.release import read_table

    factor = read_table(s, result.version, "factor")
    table, _ = build_table(factor, read_table(s, result.version, "steward_decision"), result.version)
    planted = pl.concat([table.head(1).with_columns(pl.lit("pending").alias("steward_status"),
                                                    pl.lit("Fplanted").alias("factor_id")), table])
    with pytest.raises(ExportValidationError, match="not approved"):
        validate(planted)
    leaked = table.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("示例电芯厂 PCF"))
                                .otherwise(pl.col("locator")).alias("locator"))
    with pytest.raises(ExportValidationError, match="restricted-zone values"):
        validate(leaked, restricted_markers(s))
    missing = table.with_columns(pl.lit(None, dtype=pl.String).alias("document"))
    with pytest.raises(ExportValidationError, match="document"):
        validate(missing)
    assert not (tmp_path / "never").exists()
