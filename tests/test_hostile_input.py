"""Hostile and unusual input (issue 14): each numbered finding reproduced with files of the same shape."""

from __future__ import annotations

import dataclasses

import polars as pl
import pytest

from pipelines.config import PROJECT_ROOT, settings
from pipelines.enterprise.intake import ingest_upload
from tests import enterprise_corpus as corpus


@pytest.fixture
def zone(tmp_path):
    return dataclasses.replace(settings(), restricted_dir=tmp_path / "restricted", curated_dir=tmp_path / "curated")


def _rules(result):
    return {(i.rule, i.column) for i in result.quarantine}


# --- 3: identifiers ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    ["../../../../tmp/x", "A" * 5000, "AP-6063\u200b", "AP\u202e-6063", "AP-\n6063", "a/b", "..", ".hidden", "AP 6063"],
)
def test_ids_are_checked_at_intake(tmp_path, zone, bad):
    data = corpus.example()
    old = data["product"][0]["product_id"]
    data["product"][0]["product_id"] = bad
    for line in data["activity"]:
        if line["product_id"] == old:
            line["product_id"] = bad
    result = ingest_upload(corpus.write(tmp_path / "ids.xlsx", data), zone)
    assert ("id.invalid", "product_id") in _rules(result)
    message = next(i for i in result.quarantine if i.rule == "id.invalid")
    assert "letters, digits" in message.message_en and "字母" in message.message_zh


def test_nfc_and_cjk_ids_are_accepted(tmp_path, zone):
    data = corpus.example()
    old = data["product"][0]["product_id"]
    new = "型材-６０６３（Ａ）"  # full-width digits and brackets, CJK: letters and digits in Unicode
    data["product"][0]["product_id"] = new
    for line in data["activity"]:
        if line["product_id"] == old:
            line["product_id"] = new
    result = ingest_upload(corpus.write(tmp_path / "cjk.xlsx", data), zone)
    assert not any(i.rule == "id.invalid" for i in result.quarantine) and result.status == "accepted"


# --- 8: rule ids as documented --------------------------------------------------------------------------------


def test_a_bad_reporting_year_is_year_invalid(tmp_path, zone):
    data = corpus.example()
    data["enterprise"][0]["reporting_year"] = "二〇二四年"
    result = ingest_upload(corpus.write(tmp_path / "year.xlsx", data), zone)
    assert ("year.invalid", "reporting_year") in _rules(result)


@pytest.mark.parametrize("name", ["../../../../tmp/x", "A" * 5000, "GB\u202e001", "a\nb", "/etc/passwd", "..", ""])
def test_files_named_from_user_data_stay_inside_out(tmp_path, name):
    from pipelines.reporting.data import output_file

    path = output_file(tmp_path / "out", name, ".label.svg")
    assert path.parent == tmp_path / "out" and len(path.name) <= 120 and path.name.endswith(".label.svg")


# --- 6 and 8: limits that hold, sheets, file types ------------------------------------------------------------


def test_a_stray_cell_far_away_does_not_count_as_rows(tmp_path, zone):
    from openpyxl import load_workbook

    path = corpus.write(tmp_path / "stray.xlsx", corpus.example())
    wb = load_workbook(path)
    wb[wb.sheetnames[-1]]["XFD1048576"] = " "  # formatting-like residue far away
    wb[[n for n in wb.sheetnames if "activity" in n.lower() or "活动" in n][0]].cell(
        row=1048576, column=16384
    ).value = None
    wb.save(path)
    result = ingest_upload(path, zone)
    assert result.status == "accepted" and result.accepted_lines == corpus.ACTIVITY_LINES
    assert not any(i.rule == "sheet.too_many_rows" for i in result.quarantine)


def test_row_limits_hold_for_xlsx_and_csv_and_stop_reading(tmp_path, zone, monkeypatch):
    import openpyxl

    from pipelines.enterprise import reader

    monkeypatch.setattr(reader, "MAX_ROWS_PER_SHEET", 5)
    loads = []
    real = openpyxl.load_workbook
    monkeypatch.setattr(
        openpyxl, "load_workbook", lambda *a, **k: loads.append(k.get("read_only", False)) or real(*a, **k)
    )
    result = ingest_upload(corpus.write(tmp_path / "big.xlsx", corpus.example()), zone)
    assert result.status == "rejected" and result.quarantine[0].rule == "sheet.too_many_rows"
    assert loads == [True]  # only the streaming count: the over-limit workbook was never loaded whole
    path = tmp_path / "big.csv"
    path.write_bytes(corpus.to_csv(corpus.example()))
    result = ingest_upload(path, zone)
    assert result.status == "rejected" and result.quarantine[0].rule == "sheet.too_many_rows"
    assert "stopped at line" in result.quarantine[0].message_en


def test_a_renamed_required_sheet_is_an_error_that_names_it(tmp_path, zone):
    from openpyxl import load_workbook

    path = corpus.write(tmp_path / "renamed.xlsx", corpus.example())
    wb = load_workbook(path)
    activity = next(n for n in wb.sheetnames if "活动" in n)
    wb[activity].title = "Sheet3"
    wb.save(path)
    result = ingest_upload(path, zone)
    assert result.status == "rejected"
    missing = next(i for i in result.quarantine if i.rule == "sheet.missing")
    assert activity in missing.message_en and "'Sheet3'" in missing.message_en
    # every readable row of the rejected file is in its quarantine
    assert sum(1 for i in result.quarantine if i.rule == "file.rejected") == result.rows_read > 0


def test_a_hidden_second_activity_sheet_is_quarantined_row_by_row(tmp_path, zone):
    from openpyxl import load_workbook

    path = corpus.write(tmp_path / "hidden.xlsx", corpus.example())
    wb = load_workbook(path)
    activity = next(n for n in wb.sheetnames if "活动" in n)
    copy = wb.copy_worksheet(wb[activity])
    copy.title = "活动数据 (2)"
    copy.sheet_state = "hidden"
    wb.save(path)
    result = ingest_upload(path, zone)
    dup = [i for i in result.quarantine if i.rule == "sheet.duplicate"]
    assert len(dup) == corpus.ACTIVITY_LINES and all(i.sheet == "活动数据 (2)" for i in dup)
    assert "(hidden)" in dup[0].message_en and result.accepted_lines == corpus.ACTIVITY_LINES


def test_type_comes_from_content_so_a_renamed_file_reads_the_same(tmp_path, zone):
    xlsx = corpus.write(tmp_path / "good.xlsx", corpus.example())
    renamed = tmp_path / "good.csv"
    renamed.write_bytes(xlsx.read_bytes())
    first = ingest_upload(renamed, zone)
    assert first.status == "accepted" and any(i.rule == "file.type_mismatch" for i in first.notices)
    again = ingest_upload(xlsx, zone)  # same bytes, right name: the same upload, accepted
    assert again.upload_id == first.upload_id and again.status == "accepted"


def test_a_csv_refused_as_a_whole_accounts_for_every_line(tmp_path, zone):
    text = corpus.to_csv(corpus.example()).decode("utf-8").splitlines()
    path = tmp_path / "nosheet.csv"
    path.write_text("\n".join([text[0].replace("sheet,", "kind_of_row,", 1), *text[1:]]) + "\n", encoding="utf-8")
    result = ingest_upload(path, zone)
    lines = [i for i in result.quarantine if i.rule == "file.rejected"]
    assert result.status == "rejected" and len(lines) == len([t for t in text[1:] if t.strip()])


def test_spreadsheet_exports_neutralise_formula_cells():
    import polars as pl

    from pipelines.exports.spreadsheet import neutralise

    frame = pl.DataFrame(
        {
            "name": ['=HYPERLINK("http://x")', "+1", "-cmd", "@SUM(A1)", "\tx", "电力", None],
            "value": [1.0, -2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
        }
    )
    out = neutralise(frame)
    assert out["name"].to_list() == ['\'=HYPERLINK("http://x")', "'+1", "'-cmd", "'@SUM(A1)", "'\tx", "电力", None]
    assert out["value"].to_list() == frame["value"].to_list()  # numbers stay numbers


# --- 10: no tracebacks ----------------------------------------------------------------------------------------


def test_commands_end_in_messages_not_tracebacks(marts_release, tmp_path):
    from typer.testing import CliRunner

    from pipelines.cli import app

    s = marts_release["settings"]
    env = {"PCF_CURATED_DIR": str(s.curated_dir), "PCF_RESTRICTED_DIR": str(s.restricted_dir)}
    a_file = tmp_path / "not_a_dir"
    a_file.write_text("x", encoding="utf-8")
    cases = [
        (["label", "LFP-PACK-61", "--out", str(a_file)], env, "cannot write"),
        (["report", "LFP-PACK-61", "--out", str(a_file)], env, "cannot write"),
        (["site", "--out", str(a_file)], env, "cannot write"),
        (["label", "NO-SUCH-PRODUCT", "--out", str(tmp_path / "l")], env, "NO-SUCH-PRODUCT"),
        (["label", "../../../../tmp/x", "--out", str(tmp_path / "l")], env, ""),
        (
            ["label", "LFP-PACK-61", "--out", str(tmp_path / "l")],
            {**env, "PCF_SITE_BASE_URL": "https://x.cn/" + "a" * 3000},
            "shorten PCF_SITE_BASE_URL",
        ),
        (
            ["site", "--out", str(tmp_path / "s")],
            {**env, "PCF_SITE_BASE_URL": "https://x.cn/" + "a" * 3000},
            "shorten PCF_SITE_BASE_URL",
        ),
        (["sql", "select * from nowhere"], env, "query failed"),
        (["sql", "select '[/]' as x, 1/0 as y from factor limit 1"], env, ""),
        (["diff", "v9998", "v9999"], env, "not found"),
        (["explain", "L1", "--release", "v9999"], env, "v9999"),
    ]
    for args, e, words in cases:
        r = CliRunner().invoke(app, args, env=e)
        assert r.exception is None or isinstance(r.exception, SystemExit), (args, r.exception)
        assert "Traceback" not in r.output and words in r.output, (args, r.output)


def test_pcf_withdraw_is_logged_and_reversible(tmp_path, zone):
    from typer.testing import CliRunner

    from pipelines.cli import app
    from pipelines.enterprise import store

    result = ingest_upload(corpus.write(tmp_path / "a.xlsx", corpus.example()), zone)
    env = {
        "PCF_RESTRICTED_DIR": str(zone.restricted_dir),
        "PCF_CURATED_DIR": str(zone.curated_dir),
        "PCF_STEWARD": "s1",
    }
    run = CliRunner().invoke(app, ["withdraw", result.upload_id, "--reason", "wrong plant", "--no-apply"], env=env)
    assert run.exit_code == 0, run.output
    assert store.current_uploads(zone) == [] and store.withdrawals(zone)[0]["by"] == "s1"
    again = CliRunner().invoke(app, ["withdraw", result.upload_id, "--reason", "x", "--no-apply"], env=env)
    assert again.exit_code == 2 and "already withdrawn" in again.output
    back = CliRunner().invoke(
        app, ["withdraw", result.upload_id, "--undo", "--reason", "right plant", "--no-apply"], env=env
    )
    assert back.exit_code == 0 and [e["upload_id"] for e in store.current_uploads(zone)] == [result.upload_id]
    assert CliRunner().invoke(app, ["withdraw", "nosuch", "--reason", "x", "--no-apply"], env=env).exit_code == 2


# --- 7: implausible values ------------------------------------------------------------------------------------


@pytest.mark.parametrize("line, amount, unit", [("A1", 1e308, "kg"), ("A1", 5e11, "t"), ("P1", 2e11, "MWh")])
def test_implausible_amounts_are_quarantined_at_intake(tmp_path, zone, line, amount, unit):
    data = corpus.with_line({"amount": amount, "unit": unit}, line)
    result = ingest_upload(corpus.write(tmp_path / "big.xlsx", data), zone)
    issue = next(i for i in result.quarantine if i.rule == "amount.implausible")
    assert issue.row == corpus.activity_row(line) and "check the amount and its unit" in issue.message_en
    assert result.accepted_lines == corpus.ACTIVITY_LINES - 1  # nothing else lost


def test_an_implausible_or_unsolvable_product_is_held_and_the_others_publish(full_build, tmp_path, monkeypatch):
    """Issue 14 #1 and #7: one enterprise's problem holds its products (reason recorded), everyone else's publish."""
    import polars as pl

    from pipelines.engine.isolation import compute_isolated
    from pipelines.enterprise.inventory import build_inventory, in_scope

    s = dataclasses.replace(full_build["settings"], restricted_dir=tmp_path / "restricted")
    tables = full_build["tables"]
    for name in ("aluminium_profile", "nev_battery_pack"):
        ingest_upload(PROJECT_ROOT / "data" / "raw" / "enterprise" / "examples" / f"{name}.xlsx", s)
    inv = build_inventory(s, tables["factor"], "v0001", s.gwp_set)
    products = in_scope(s)["product"]
    lines, summary = inv["line_emissions"], inv["product_summary"]
    engine, held = compute_isolated(
        lines, products, summary, tables["factor"], tables["factor_gas"], s.gwp_set, iterations=20
    )
    assert held.height == 0
    everyone = set(engine["engine_products"]["process_id"])
    # one product's footprint beyond the plausibility bound: held, the rest publish
    monkeypatch.setenv("PCF_MAX_KGCO2E_PER_DECLARED_UNIT", "50")
    big = engine["engine_products"].sort("co2e_kg").row(-1, named=True)
    assert big["co2e_kg"] > 50
    engine2, held2 = compute_isolated(
        lines, products, summary, tables["factor"], tables["factor_gas"], s.gwp_set, iterations=20
    )
    assert big["process_id"] in set(held2["product_key"]) and "implausible footprint" in held2["reason"][0]
    assert set(engine2["engine_products"]["process_id"]) == everyone - set(held2["product_key"])
    monkeypatch.delenv("PCF_MAX_KGCO2E_PER_DECLARED_UNIT")
    # an enterprise whose own sub-network is singular (a product consuming exactly one unit of itself)
    victim = products.row(0, named=True)
    loop = lines.head(1).with_columns(
        pl.lit(victim["uscc"]).alias("uscc"),
        pl.lit(victim["product_id"]).alias("product_id"),
        pl.lit("LOOP").alias("line_id"),
        pl.lit("supplier_product").alias("match_method"),
        pl.lit(f"product:{victim['uscc']}/{victim['product_id']}").alias("factor_id"),
        pl.lit(1.0).alias("amount_per_declared_unit"),
        pl.lit(None, dtype=pl.Float64).alias("co2e_kg_per_declared_unit"),
    )
    engine3, held3 = compute_isolated(
        pl.concat([lines, loop], how="diagonal_relaxed"),
        products,
        summary,
        tables["factor"],
        tables["factor_gas"],
        s.gwp_set,
        iterations=20,
    )
    victims = {
        f"product:{u}/{p}"
        for u, p in products.filter(pl.col("uscc") == victim["uscc"]).select("uscc", "product_id").rows()
    }
    assert victims <= set(held3["product_key"]) and "cannot be solved" in held3["reason"][0]
    assert (
        set(engine3["engine_products"]["process_id"]) == everyone - set(held3["product_key"])
        and engine3["engine_products"].height
    )


# --- 2: escaping everywhere -----------------------------------------------------------------------------------

HOSTILE = "Q' onmouseover='alert(6)' x='<script>alert(1)</script>\"&"


def test_pages_escape_user_text_in_text_and_attributes():
    import html.parser
    from types import SimpleNamespace

    import polars as pl

    from pipelines.curation.queue import QUEUE_COLUMNS
    from pipelines.curation.queue import render_html as queue_page
    from pipelines.reporting.report import Block
    from pipelines.reporting.report import render_html as report_page
    from pipelines.reporting.site import index_page

    product = SimpleNamespace(
        key=f"product:91500000MA5U7XXXX/{HOSTILE}",
        benchmark=None,
        footprint={
            "product_name": HOSTILE,
            "category": HOSTILE,
            "co2e_kg": 1.5,
            "declared_unit": HOSTILE,
            "reporting_year": 2024,
        },
    )
    queue = pl.DataFrame({c: [HOSTILE] for c in QUEUE_COLUMNS}).with_columns(pl.lit("").alias("flags"))
    pages = {
        "index": index_page([product]),
        "queue": queue_page(queue, HOSTILE),
        "report": report_page(
            [
                Block("h1", HOSTILE),
                Block("p", HOSTILE),
                Block("kv", [(HOSTILE, HOSTILE)]),
                Block("table", ([HOSTILE], [[HOSTILE]])),
                Block("boundary", [(HOSTILE, True)]),
            ],
            "en",
        ),
    }

    class Attrs(html.parser.HTMLParser):
        def __init__(self):
            super().__init__()
            self.names, self.scripts = set(), 0

        def handle_starttag(self, tag, attrs):
            self.names |= {k for k, _ in attrs}
            self.scripts += tag == "script"

    for name, page in pages.items():
        assert "<script>alert(1)" not in page and "onmouseover='alert" not in page, name
        parser = Attrs()
        parser.feed(page)
        assert "onmouseover" not in parser.names and "x" not in parser.names, name
        assert html.unescape(page).count(HOSTILE) >= 1, name  # shown, as text


def test_labels_say_which_reporting_year(marts_release):
    from pipelines.reporting.data import public_part
    from pipelines.reporting.label import render_svg

    s = marts_release["settings"]
    d = public_part(s, marts_release["result"].version, "LFP-PACK-61")
    assert d.footprint["reporting_year"] == 2024 and "2024年度" in render_svg(d)


def test_rows_under_an_unreadable_header_are_accounted_for(tmp_path, zone):
    from openpyxl import load_workbook

    path = corpus.write(tmp_path / "header.xlsx", corpus.example())
    wb = load_workbook(path)
    ws = wb[next(n for n in wb.sheetnames if "活动" in n)]
    for cell in ws[2]:
        cell.value = None  # the English key row erased
    wb.save(path)
    result = ingest_upload(path, zone)
    assert result.status == "rejected" and any(i.rule == "sheet.header_unreadable" for i in result.quarantine)
    activity_rows = {i.row for i in result.quarantine if i.sheet == ws.title and i.row}
    assert activity_rows >= {corpus.activity_row(line["line_id"]) for line in corpus.example()["activity"]}


def test_a_line_beyond_its_kinds_bound_per_kg_holds_the_product(full_build, tmp_path):
    """Issue 14 #7: per unit of output. An annual output typed 1,000,000 times too small makes every line
    implausible per kg of product: the product is held with the line named, never published."""
    from pipelines.engine.isolation import compute_isolated
    from pipelines.enterprise.inventory import build_inventory, in_scope
    from pipelines.enterprise.plausibility import HOLD_COLUMN, holds_of, implausible

    s = dataclasses.replace(full_build["settings"], restricted_dir=tmp_path / "restricted")
    data = corpus.example()
    victim = data["product"][0]
    victim["annual_output"] = victim["annual_output"] / 1e6
    assert ingest_upload(corpus.write(tmp_path / "tiny.xlsx", data), s).status == "accepted"
    tables = full_build["tables"]
    inv = build_inventory(s, tables["factor"], "v0001", s.gwp_set)
    engine, held = compute_isolated(
        inv["line_emissions"],
        in_scope(s)["product"],
        inv["product_summary"],
        tables["factor"],
        tables["factor_gas"],
        s.gwp_set,
        iterations=20,
    )
    reason = held.filter(held["product_id"] == victim["product_id"])["reason"]
    assert reason.len() == 1 and "per kg of product, beyond the plausible" in reason[0]
    published = set(engine["engine_products"]["product_id"])
    assert victim["product_id"] not in published and published  # the other product still publishes
    # the verdict is kept in the inventory's summary (judged once, with the lines): the same as judging the
    # lines in the engine, and the summary without it gives the same holds
    summary = inv["product_summary"]
    assert holds_of(summary) == implausible(inv["line_emissions"], in_scope(s)["product"])
    assert summary.filter(pl.col(HOLD_COLUMN).is_not_null())["product_id"].to_list() == [victim["product_id"]]
    _, held_again = compute_isolated(
        inv["line_emissions"],
        in_scope(s)["product"],
        summary.drop(HOLD_COLUMN),
        tables["factor"],
        tables["factor_gas"],
        s.gwp_set,
        iterations=20,
    )
    assert held_again.equals(held)
