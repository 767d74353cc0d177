"""Enterprise intake: template round trip, one failing line per rule, the malformed-upload corpus,
supersession, allocation, the restricted zone."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from openpyxl import load_workbook

from pipelines.enterprise import store, uscc
from pipelines.enterprise.allocation import AllocationError, allocate
from pipelines.enterprise.checks import check
from pipelines.enterprise.codes import ACTIVITY, CODES_SHEET, INSTRUCTIONS_SHEET, SHEETS
from pipelines.enterprise.examples import ALUMINIUM_PROFILE, EXAMPLES
from pipelines.enterprise.intake import ingest_upload
from pipelines.enterprise.reader import read_upload
from pipelines.enterprise.template import write_template
from tests import enterprise_corpus as corpus


@pytest.fixture
def zone(tmp_path, make_settings):
    return make_settings(restricted_dir=tmp_path / "restricted", raw_dir=tmp_path / "raw")


# --- GB 32100 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["914403001922038216", "91350900587527783P", "91110108700000458B"])
def test_uscc_accepts_real_codes(code):
    # Published credit codes of Huawei Technologies, CATL and Lenovo (Beijing): all pass the check.
    assert uscc.validate(code) == code


@pytest.mark.parametrize(
    "code, rule",
    [
        ("91440300192203821", "uscc.length"),
        ("91440300192203821I", "uscc.charset"),
        ("9144AB001922038216", "uscc.division"),
        ("914403001922038217", "uscc.check_character"),
    ],
)
def test_uscc_rejects_each_defect(code, rule):
    with pytest.raises(uscc.UsccError) as err:
        uscc.validate(code)
    assert err.value.rule == rule and err.value.message_zh and err.value.message_en


# --- template -----------------------------------------------------------------------------------------


def test_template_round_trip(tmp_path):
    """Write the blank template, fill it as a person would (cell by cell), read it back."""
    blank = write_template(tmp_path / "blank.xlsx")
    wb = load_workbook(blank)
    assert wb.sheetnames[:2] == [INSTRUCTIONS_SHEET, CODES_SHEET] and wb[CODES_SHEET].sheet_state == "hidden"
    for spec in SHEETS:
        ws = wb[spec.name]
        assert [ws.cell(row=2, column=i + 1).value for i in range(len(spec.columns))] == [c.key for c in spec.columns]
        for r, record in enumerate(ALUMINIUM_PROFILE[spec.key], start=3):
            for i, column in enumerate(spec.columns, start=1):
                ws.cell(row=r, column=i, value=record.get(column.key))
    # drop-downs exist for every coded column of the activity sheet
    coded = {c.key for c in ACTIVITY.columns if c.code_list}
    from openpyxl.utils import get_column_letter

    letters = {
        str(dv.sqref).split(":")[0].rstrip("0123456789") for dv in wb[ACTIVITY.name].data_validations.dataValidation
    }
    assert letters == {get_column_letter(corpus.col(ACTIVITY, k)) for k in coded}
    wb.save(tmp_path / "filled.xlsx")
    checked = check(read_upload(tmp_path / "filled.xlsx"))
    assert checked.quarantine == []
    assert checked.enterprise["uscc"] == ALUMINIUM_PROFILE["enterprise"][0]["uscc"]
    by_id = {a["line_id"]: a for a in checked.activities}
    assert set(by_id) == {a["line_id"] for a in ALUMINIUM_PROFILE["activity"]}
    assert by_id["P1"]["amount"] == 10_800_000 and by_id["P1"]["period_start"] == dt.date(2024, 1, 1)
    assert by_id["A3"]["supplier_pcf_kgco2e"] == 4100 and by_id["A1"]["origin_geography"] == "650000"


def test_examples_are_current_and_deterministic(tmp_path):
    from pipelines.config import PROJECT_ROOT

    for name in EXAMPLES:
        fresh = write_template(tmp_path / f"{name}.xlsx", name).read_bytes()
        assert fresh == write_template(tmp_path / f"{name}.2.xlsx", name).read_bytes()
        committed = PROJECT_ROOT / "data" / "raw" / "enterprise" / "examples" / f"{name}.xlsx"
        assert committed.read_bytes() == fresh, f"{committed} is stale: run pcf template {committed} --example {name}"


# --- the malformed corpus -------------------------------------------------------------------------------


@pytest.mark.parametrize("case", corpus.CASES, ids=[c.name for c in corpus.CASES])
def test_malformed_upload(case, tmp_path, zone):
    path = case.build(tmp_path / f"{case.name}.xlsx")
    result = ingest_upload(path, zone)
    issues = [*result.quarantine, *result.notices]
    if case.rule:
        hits = [i for i in issues if i.rule == case.rule]
        assert hits, f"{case.name}: expected {case.rule}, got {[i.rule for i in issues]}"
        assert all(h.message_zh and h.message_en for h in hits)
        if case.row is not None:
            assert any(h.row == case.row for h in hits), [(h.rule, h.row) for h in hits]
    else:
        assert result.quarantine == [], [(i.rule, i.row, i.message_en) for i in result.quarantine]
    if case.file_rejected:
        assert result.status == "rejected" and result.accepted_lines == 0
        assert store.current_uploads(zone) == []
    else:
        # nothing lost: every activity line is accepted or quarantined with its row
        assert result.accepted_lines == corpus.ACTIVITY_LINES - case.quarantined_lines
        quarantined_rows = {i.row for i in result.quarantine if i.row is not None}
        assert len(quarantined_rows) >= case.quarantined_lines
    stored = pl.read_parquet(store.upload_dir(zone, result.upload_id) / "quarantine.parquet")
    assert stored.height == len(issues)


def test_corpus_has_fifteen_malformed_files():
    assert len([c for c in corpus.CASES if c.rule]) >= 15


def test_values_read_through_untidy_cells(tmp_path, zone):
    for case_name, line_id, expected in [
        ("numbers_with_commas", "P1", 10_800_000),
        ("full_width_digits", "P2", 1_850_000),
    ]:
        case = next(c for c in corpus.CASES if c.name == case_name)
        result = ingest_upload(case.build(tmp_path / f"{case_name}.xlsx"), zone)
        activity = pl.read_parquet(store.upload_dir(zone, result.upload_id) / "activity.parquet")
        assert activity.filter(pl.col("line_id") == line_id)["amount"].item() == expected
    serial = next(c for c in corpus.CASES if c.name == "excel_serial_dates")
    result = ingest_upload(serial.build(tmp_path / "serial.xlsx"), zone)
    p1 = pl.read_parquet(store.upload_dir(zone, result.upload_id) / "activity.parquet").filter(
        pl.col("line_id") == "P1"
    )
    assert p1["period_start"].item() == dt.date(2024, 1, 1) and p1["period_end"].item() == dt.date(2024, 12, 31)
    gbk = next(c for c in corpus.CASES if c.name == "gbk_csv")
    result = ingest_upload(gbk.build(tmp_path / "gbk.xlsx"), zone)
    assert result.encoding == "gb18030" and result.status == "accepted"
    names = pl.read_parquet(store.upload_dir(zone, result.upload_id) / "enterprise.parquet")["enterprise_name"]
    assert names.item().startswith("重庆示例铝型材")


def test_duplicate_line(tmp_path, zone):
    data = corpus.duplicate_line_data()
    result = ingest_upload(corpus.write(tmp_path / "dup.xlsx", data), zone)
    dup = [i for i in result.quarantine if i.rule == "line.duplicate"]
    assert len(dup) == 1 and dup[0].row == corpus.FIRST_DATA_ROW + corpus.ACTIVITY_LINES
    assert f"row {corpus.activity_row('D1')}" in dup[0].message_en
    assert result.accepted_lines == corpus.ACTIVITY_LINES


def test_allocation_basis_data_missing(tmp_path, zone):
    result = ingest_upload(corpus.write(tmp_path / "rev.xlsx", corpus.revenue_allocation_missing()), zone)
    hit = [i for i in result.quarantine if i.rule == "allocation.basis_data_missing"]
    assert len(hit) == 1 and hit[0].row == corpus.activity_row("P2") and "AP-6061" in hit[0].message_en
    assert result.accepted_lines == corpus.ACTIVITY_LINES - 1


# --- supersession ------------------------------------------------------------------------------------------


def test_reupload_supersedes_and_bad_reupload_loses_nothing(tmp_path, zone):
    v1 = ingest_upload(corpus.write(tmp_path / "v1.xlsx", corpus.with_line({"unit": "kg"}, "P1")), zone)
    assert v1.status == "partial" and v1.accepted_lines == corpus.ACTIVITY_LINES - 1
    v2 = ingest_upload(corpus.write(tmp_path / "v2.xlsx", corpus.example()), zone)
    assert v2.status == "accepted"
    current = store.current_uploads(zone)
    assert [e["upload_id"] for e in current] == [v2.upload_id]
    # a broken third upload for the same enterprise and year is refused as a whole: v2 stays in force
    bad = ingest_upload(corpus._bad_uscc(tmp_path / "v3.xlsx"), zone)
    assert bad.status == "rejected"
    assert [e["upload_id"] for e in store.current_uploads(zone)] == [v2.upload_id]
    assert [e["status"] for e in store.registry(zone)] == ["partial", "accepted", "rejected"]
    # identical bytes again: no new history entry
    again = ingest_upload(tmp_path / "v2.xlsx", zone)
    assert again.already_ingested and len(store.registry(zone)) == 3
    assert store.read_current(zone, "activity").height == corpus.ACTIVITY_LINES


# --- allocation ----------------------------------------------------------------------------------------------


def test_mass_allocation_shares(tmp_path):
    products = check(read_upload(corpus.write(tmp_path / "p.xlsx", corpus.example()))).products
    line = {"line_id": "P1", "product_id": "PLANT", "facility_id": "CQ-01", "allocation_basis": "mass"}
    shares = {a.product_id: a for a in allocate(line, products)}
    # 9,000 t and 3,000 t of profiles: 0.75 / 0.25
    assert shares["AP-6063"].share == pytest.approx(0.75) and shares["AP-6061"].share == pytest.approx(0.25)
    assert shares["AP-6063"].basis_value == 9_000_000
    revenue = {a.product_id: a.share for a in allocate({**line, "allocation_basis": "revenue"}, products)}
    assert revenue["AP-6063"] == pytest.approx(198 / 276)
    with pytest.raises(AllocationError) as err:
        allocate({**line, "allocation_basis": "declared_physical"}, products)
    assert err.value.rule == "allocation.basis_data_missing"
    declared = [dict(p, declared_allocation_share=s) for p, s in zip(products, (0.6, 0.3))]
    with pytest.raises(AllocationError) as err:
        allocate({**line, "allocation_basis": "declared_physical"}, declared)
    assert err.value.rule == "allocation.shares_not_one"


def test_allocation_stored_with_the_upload(tmp_path, zone):
    result = ingest_upload(corpus.write(tmp_path / "a.xlsx", corpus.example()), zone)
    alloc = pl.read_parquet(store.upload_dir(zone, result.upload_id) / "allocation.parquet")
    p1 = alloc.filter(pl.col("line_id") == "P1").sort("product_id")
    assert p1["product_id"].to_list() == ["AP-6061", "AP-6063"] and p1["share"].sum() == pytest.approx(1.0)
    assert set(p1["basis"]) == {"mass"}
    assert alloc.filter(pl.col("line_id") == "A1")["share"].to_list() == [1.0]


def test_an_upload_with_over_100_own_lines_before_shared_ones(tmp_path, make_settings):
    """Found by the enterprise-scale benchmark (issue 20): 110 products' own lines (no allocation basis) came
    before the plant's shared lines (a basis value each); the allocation table's types were guessed from its
    first 100 rows (all empty) and the upload failed instead of being taken in."""
    import copy
    import dataclasses

    from pipelines.enterprise.examples import EXAMPLES
    from pipelines.enterprise.intake import ingest_upload
    from pipelines.enterprise.template import write_workbook

    data = copy.deepcopy(EXAMPLES["aluminium_profile"])
    model = data["product"][0]
    data["product"] = [{**model, "product_id": f"AP-{i:03d}", "annual_output": 10_000 + i} for i in range(110)]
    plant = [a for a in data["activity"] if a["product_id"] == "PLANT"]
    own = [{**data["activity"][0], "line_id": f"A-{i:03d}", "product_id": f"AP-{i:03d}"} for i in range(110)]
    data["activity"] = own + plant
    s = dataclasses.replace(make_settings(), restricted_dir=tmp_path / "restricted")
    result = ingest_upload(write_workbook(tmp_path / "many.xlsx", data), s)
    assert result.status == "accepted" and result.accepted["product"] == 110, result.quarantine[:3]
    alloc = pl.read_parquet(s.restricted_dir / "uploads" / result.upload_id / "allocation.parquet")
    assert alloc.height == 110 + 3 * 110  # one share per own line, the plant's three lines shared by all
    assert alloc.filter(pl.col("basis_value").is_not_null()).height == 3 * 110


# --- content hashes of the upload files, kept by their stat --------------------------------------------


def test_upload_ids_hash_each_file_once_until_it_changes(zone, tmp_path, monkeypatch):
    import time
    import types

    from pipelines.enterprise import intake

    files = []
    for i in range(3):
        path = tmp_path / f"u{i}.xlsx"
        path.write_bytes(b"workbook %d" % i)
        files.append(path)
    clock = {"now": time.time() + 60}  # the files were written a minute "ago"
    monkeypatch.setattr(intake, "time", types.SimpleNamespace(time=lambda: clock["now"]))
    hashed: list = []
    real = intake.upload_id_for
    monkeypatch.setattr(intake, "upload_id_for", lambda p: hashed.append(p) or real(p))
    first = intake.upload_ids(zone, files)
    assert first == {p: real(p)[0] for p in files} and len(hashed) == 3
    hashed.clear()
    assert intake.upload_ids(zone, files) == first and hashed == []  # kept: nothing hashed again
    # a file rewritten with other bytes of the same size: its stat differs (change time), hashed again
    time.sleep(0.3)
    files[1].write_bytes(b"workbook 9")
    monkeypatch.setattr(intake, "_RACY_SECONDS", 0.2)  # the others were written > 0.3 s before it
    clock["now"] = files[1].stat().st_ctime + 0.1
    again = intake.upload_ids(zone, files)
    assert hashed == [files[1]] and again[files[1]] == real(files[1])[0] != first[files[1]]
    # changed just now: not kept (its time stamp's tick may not be over), so hashed once more next time
    hashed.clear()
    intake.upload_ids(zone, files)
    assert hashed == [files[1]]
    # an unreadable cache is rebuilt, not trusted
    (zone.restricted_dir / "upload_hashes.json").write_text("{not json", encoding="utf-8")
    hashed.clear()
    assert intake.upload_ids(zone, files) == again and len(hashed) == 3
