"""Exports: the national package holds approved, redistributable factors only, is validated before it is
written, carries checksums and a schema, gives the same bytes for the same release, and never contains a
value from the restricted zone."""

from __future__ import annotations

import hashlib
import json

import polars as pl
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.exports.national import NATIONAL_FIELDS, ExportValidationError, build_table, export, validate
from pipelines.exports.restricted import restricted_markers, restricted_values


@pytest.fixture(scope="module")
def warehouse(marts_release):
    return marts_release["settings"], marts_release["result"]


def test_national_package_is_approved_redistributable_and_checksummed(warehouse, tmp_path):
    s, result = warehouse
    package = export(s, tmp_path / "national", restricted=restricted_values(s))
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
    export(s, tmp_path / "national", restricted=restricted_values(s))
    blob = b"".join((tmp_path / "national" / n).read_bytes() for n in ("factors.csv", "schema.json", "package.json"))
    text = blob.decode("utf-8")
    for marker in [*markers, "LFP-PACK-61", "AP-6063", "product:"]:
        assert marker not in text, marker
    parquet = pl.read_parquet(tmp_path / "national" / "factors.parquet")
    assert not parquet.filter(
        pl.any_horizontal(pl.col(pl.String).str.contains("91500113MA5UEXAM1C", literal=True))
    ).height


def test_free_text_words_of_an_upload_do_not_block_the_export(warehouse, tmp_path):
    """Issue 14 #4: an enterprise's evidence saying 'approved' (or an amount, an item word) is not a leak; its
    credit code, its name or an exact amount in the package is."""
    s, result = warehouse
    from pipelines.exports.restricted import RestrictedValues
    from pipelines.release.publish import read_table

    table, _ = build_table(
        read_table(s, result.version, "factor"), read_table(s, result.version, "steward_decision"), result.version
    )
    values = restricted_values(s)
    values.items |= {"approved", "电力"}  # words an upload may carry as evidence or item text
    validate(table, values)  # steward_status 'approved', factor names like 电力: not leaks
    code = sorted(values.credit_codes)[0]
    for leak in (f"see {code} invoice", "by 示例电芯厂 PCF team"):
        leaked = table.with_columns(
            pl.when(pl.int_range(pl.len()) == 0).then(pl.lit(leak)).otherwise(pl.col("document")).alias("document")
        )
        with pytest.raises(ExportValidationError, match="restricted-zone values"):
            validate(leaked, values)
    exact = RestrictedValues(amounts={table["co2e_kg"][0]})
    with pytest.raises(ExportValidationError, match="co2e_kg"):
        validate(table, exact)
    cli = CliRunner().invoke(
        app,
        ["export", "national", "--out", str(tmp_path / "n")],
        env={"PCF_CURATED_DIR": str(s.curated_dir), "PCF_RESTRICTED_DIR": str(s.restricted_dir)},
    )
    assert cli.exit_code == 0, cli.output


def test_same_release_same_bytes(warehouse, tmp_path):
    s, _ = warehouse
    a = export(s, tmp_path / "a")
    b = export(s, tmp_path / "b")
    assert a == b


def test_validation_refuses_before_writing(warehouse, tmp_path):
    s, result = warehouse
    from pipelines.release.publish import read_table

    factor = read_table(s, result.version, "factor")
    table, _ = build_table(factor, read_table(s, result.version, "steward_decision"), result.version)
    planted = pl.concat(
        [
            table.head(1).with_columns(
                pl.lit("pending").alias("steward_status"), pl.lit("Fplanted").alias("factor_id")
            ),
            table,
        ]
    )
    with pytest.raises(ExportValidationError, match="not approved"):
        validate(planted)
    leaked = table.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit("示例电芯厂 PCF"))
        .otherwise(pl.col("locator"))
        .alias("locator")
    )
    with pytest.raises(ExportValidationError, match="restricted-zone values"):
        validate(leaked, restricted_values(s))
    missing = table.with_columns(pl.lit(None, dtype=pl.String).alias("document"))
    with pytest.raises(ExportValidationError, match="document"):
        validate(missing)
    assert not (tmp_path / "never").exists()


def test_olca_export_reimports_with_the_same_values(warehouse, tmp_path):
    import numpy as np
    import olca_schema as o
    from olca_schema.zipio import ZipReader

    from pipelines.engine.network import build
    from pipelines.exports.olca import export as export_olca
    from pipelines.release.publish import read_table
    from tests.brightway_reference import all_product_scores

    s, result = warehouse
    out = export_olca(s, tmp_path / "olca")
    again = export_olca(s, tmp_path / "olca2")
    assert open(out["path"], "rb").read() == open(again["path"], "rb").read()  # same release, same bytes
    factor = read_table(s, result.version, "factor")
    approved = factor.filter((pl.col("steward_status") == "approved") & pl.col("redistributable"))
    expected = dict(approved.select("factor_id", "co2e_kg").rows())
    units = dict(approved.select("factor_id", "unit").rows())
    reader = ZipReader(out["path"])
    try:
        method = next(reader.read_each(o.ImpactCategory))
        cf = {f.flow.id: f.value for f in method.impact_factors}
        processes, bio = [], []
        for p in reader.read_each(o.Process):
            fid = p.process_documentation.data_treatment_description.split()[1]
            ref = [e for e in p.exchanges if e.is_quantitative_reference]
            assert len(ref) == 1 and ref[0].amount == 1.0 and ref[0].unit.name == units[fid]
            score = sum(e.amount * cf[e.flow.id] for e in p.exchanges if not e.is_quantitative_reference)
            assert score == pytest.approx(expected[fid], rel=1e-12, abs=1e-15), fid
            processes.append(fid)
            bio += [(fid, e.flow.id, e.amount) for e in p.exchanges if not e.is_quantitative_reference]
    finally:
        reader.close()
    assert sorted(processes) == sorted(expected)  # every approved factor, nothing else (no CPCD, no pending)
    # Brightway on the re-imported data: its scores are the factors' CO2e
    net = build(
        pl.DataFrame({"process_id": processes, "name": processes}),
        pl.DataFrame(schema={"consumer": pl.String, "provider": pl.String, "amount": pl.Float64}),
        pl.DataFrame(bio, schema=["process_id", "gas", "amount_kg"], orient="row"),
    )
    bw = all_product_scores(net, "AR6", weights=cf)
    want = np.array([expected[p] for p in net.process_ids])
    nz = np.abs(want) > 0
    assert np.max(np.abs(bw[nz] - want[nz]) / np.abs(want[nz])) < 1e-9


def test_pact_documents_validate_and_carry_the_marts(warehouse, tmp_path):
    """Issue 16: v2.3 documents validate against the official 2.3.2 OpenAPI schema and the spec's own rules."""
    import uuid

    from pipelines.exports.pact import PactExportError
    from pipelines.exports.pact import export as export_pact
    from pipelines.exports.pact import validate as validate_pact
    from pipelines.pact.spec import schema_problems
    from pipelines.release.publish import read_table

    s, result = warehouse
    marts = read_table(s, result.version, "product_footprint")
    markers = [m for m in restricted_markers(s) if "示例" not in m or "有限公司" not in m]  # its own name may appear
    for p in marts.iter_rows(named=True):
        if not p["declared_unit"].endswith(("kg", "kWh", "MJ", "m3", "L", "t*km", "m2")):
            with pytest.raises(PactExportError, match="use --spec-version 3.0"):
                export_pact(s, p["product_key"], tmp_path / "pact")
            continue
        path = export_pact(s, p["product_key"], tmp_path / "pact")
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert schema_problems(doc, "2.3") == []  # the official file, read from ../shared at test time
        assert doc["specVersion"] == "2.3.0" and uuid.UUID(doc["id"]).version == 4
        pcf = doc["pcf"]
        assert float(pcf["pCfIncludingBiogenic"]) == pytest.approx(p["co2e_kg"], abs=1e-6)
        assert float(pcf["pCfExcludingBiogenic"]) == pytest.approx(p["co2e_kg"] - p["co2e_biogenic_kg"], abs=1e-6)
        assert pcf["primaryDataShare"] == pytest.approx(100 * p["primary_data_share"], abs=0.01)
        assert all(1 <= pcf["dqi"][k] <= 3 for k in pcf["dqi"] if k.endswith("DQR"))
        assert doc["productCategoryCpc"].isdigit()  # a UN CPC code from reference/cpc_mapping.csv
        text = path.read_text(encoding="utf-8")
        for marker in markers:  # suppliers, evidence, contacts, addresses never travel
            if marker not in (doc["companyName"], p["uscc"], p["product_name"]):
                assert marker not in text, marker
        # the same footprint keeps its id: the same bytes again
        assert export_pact(s, p["product_key"], tmp_path / "again").read_bytes() == path.read_bytes()
    good = json.loads(next((tmp_path / "pact").glob("*.json")).read_text(encoding="utf-8"))
    for broken, words in (
        (dict(good, specVersion="2.0"), "specVersion"),
        (dict(good, pcf=dict(good["pcf"], pCfExcludingBiogenic="-1")), "pCfExcludingBiogenic"),
        (dict(good, pcf=dict(good["pcf"], declaredUnit="piece")), "declaredUnit"),
        (dict(good, pcf=dict(good["pcf"], dqi=dict(good["pcf"]["dqi"], temporalDQR=4))), "temporalDQR"),
        (dict(good, id=str(uuid.uuid5(uuid.NAMESPACE_URL, "x"))), "UUID v4"),
        (dict(good, created="2025-01-01T08:00:00+08:00"), "UTC timestamp"),
    ):
        with pytest.raises(PactExportError, match=words):
            validate_pact(broken)
    with pytest.raises(PactExportError, match="not in release"):
        export_pact(s, "NO-SUCH-PRODUCT", tmp_path / "x")
