"""Hostile and unusual input (issue 14): each numbered finding reproduced with files of the same shape."""

from __future__ import annotations

import dataclasses

import pytest

from pipelines.config import settings
from pipelines.enterprise.intake import ingest_upload
from tests import enterprise_corpus as corpus


@pytest.fixture
def zone(tmp_path):
    return dataclasses.replace(settings(), restricted_dir=tmp_path / "restricted", curated_dir=tmp_path / "curated")


def _rules(result):
    return {(i.rule, i.column) for i in result.quarantine}


# --- 3: identifiers ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["../../../../tmp/x", "A" * 5000, "AP-6063\u200b", "AP\u202e-6063", "AP-\n6063",
                                 "a/b", "..", ".hidden", "AP 6063"])
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
    new = "型材-６０６３（Ａ）"   # full-width digits and brackets, CJK: letters and digits in Unicode
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
