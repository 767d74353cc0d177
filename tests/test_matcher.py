"""Issue 13: activity descriptions as enterprises write them -> factors. Measured on the labelled sets in
tests/data (the targets: top-1 >= 0.90 among answered lines, top-3 >= 0.97, abstention <= 0.10), pinned on
small exact cases, and used in intake: confident matches recorded with their score, the rest in the
mapping queue, a steward's mapping reused."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from pipelines.matching.evaluation import evaluate, load, satisfies
from pipelines.matching.matcher import Matcher, MatchUnitError
from pipelines.matching.text import load_lexicon, normalise
from pipelines.release.publish import read_table

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def matcher(full_build):
    s = full_build["settings"]
    return Matcher(read_table(s, "v0001", "factor"), read_table(s, "v0001", "fuel_property"))


def test_the_labelled_set_meets_the_targets(matcher):
    rows = load(DATA / "matching_eval.csv")
    assert len(rows) >= 300 and len({r["category"] for r in rows}) >= 11
    report = evaluate(matcher, rows)
    assert report.top1_accuracy >= 0.90, report.failures
    assert report.top3_accuracy >= 0.97, report.failures
    assert report.abstain_rate <= 0.10, report.failures


def test_the_held_out_set_written_after_the_lexicon_is_measured_not_tuned(matcher):
    report = evaluate(matcher, load(DATA / "matching_heldout.csv"))
    assert report.lines == 60
    assert report.top1_accuracy >= 0.90 and report.abstain_rate <= 0.10, report.failures


def test_every_label_names_factors_the_release_has(matcher):
    """A label no factor satisfies would make the set measure nothing."""
    frame = matcher._frame.to_dicts()
    for name in ("matching_eval.csv", "matching_heldout.csv"):
        for r in load(DATA / name):
            assert any(satisfies(f, r["expected"]) for f in frame), (name, r["text"], r["expected"])


def test_normalisation_and_lexicon_pin_small_cases():
    assert normalise("ＰＰ粒料") == "pp粒料"  # full-width letters
    assert normalise("电 力") == "电力" and normalise(" 天然气 (万Nm³) ") == "天然气 (万nm3)"
    lx = load_lexicon()
    hits = [(h.concept.concept, h.term) for h in lx.find(normalise("液化天然气LNG"))]
    assert hits[0] == ("fuel.lng", "液化天然气")  # the longest term wins over 天然气
    assert [h.concept.concept for h in lx.find("电")] == ["electricity.grid"]  # one character: the whole text
    assert lx.find("电池") == []  # ... never the 电 of 电池
    plural = [h.concept.concept for h in lx.find("shipping cartons") if not h.shadowed]
    assert plural == ["paper.corrugated_box"]  # a plural is the same word
    typo = lx.find_fuzzy(normalise("冷扎钢板"))
    assert [(h.concept.concept, h.term) for h in typo] == [("steel.cold_rolled", "冷轧钢板")]
    assert lx.find_fuzzy("柴由") == []  # two characters, one wrong: not guessed


def test_candidates_carry_score_reason_and_the_unit_path(matcher):
    r = matcher.match("0#柴油", "t", "CN-CQ", 2024)
    best = r.best
    assert r.confident and best.activity_key == "fuel.diesel" and best.source_id == "cn_fuel_defaults"
    assert "concept fuel.diesel (term '0#柴油')" in best.reason and "geography CN (country)" in best.reason
    via_ncv = matcher.match("柴油", "tce", "CN", 2024).best
    assert via_ncv.activity_key == "fuel.diesel" and "via NCV 42.652 GJ/t" in via_ncv.reason
    gas = matcher.match("天然气(万Nm³)", None, "CN-GD", 2024)  # the unit written in the description
    assert gas.unit == "万nm3" and gas.best.activity_key == "fuel.natural_gas"
    r22 = matcher.match("R22 制冷剂", "kg", "CN", 2024)
    assert all("HCFC-225" not in (c.name_en or "") for c in r22.candidates)  # a code prefix ends at a word
    assert r22.best.name_en.startswith("Refrigerant & other > Montreal protocol products > HCFC-22/R22")


def test_units_that_cannot_reach_a_factor_say_what_is_missing(matcher):
    spend = matcher.match("冷轧钢板", "元", "CN", 2024)
    assert not spend.candidates and "exchange rate" in spend.note
    count = matcher.match("瓦楞纸箱", "个", "CN", 2024)
    assert not count.confident  # a count of boxes is not a mass ...
    by_mass = matcher.match("瓦楞纸箱", "个", "CN", 2024, mass_per_unit_kg=0.4)
    assert by_mass.confident and by_mass.best.unit == "kg" and "declared mass" in by_mass.best.reason
    with pytest.raises(MatchUnitError, match="'桶桶' is not known"):
        matcher.match("柴油", "桶桶", "CN", 2024)


def test_a_low_score_abstains_instead_of_guessing(matcher):
    r = matcher.match("XJ-77 特种辅料", "kg", "CN", 2024)
    assert not r.confident and (r.best is None or r.best.score < matcher.threshold)


def test_batch_and_single_commands(full_build, tmp_path, monkeypatch):
    from pipelines.cli import app

    monkeypatch.setenv("PCF_CURATED_DIR", str(full_build["settings"].curated_dir))
    monkeypatch.setenv("COLUMNS", "250")
    out = CliRunner().invoke(app, ["match", "PP粒料", "--unit", "t", "--geography", "CN-ZJ", "--json", "--top", "3"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert doc["confident"] and doc["candidates"][0]["rank"] == 1 and "plastic.pp" in doc["concepts"]
    src = tmp_path / "activities.csv"
    src.write_text(
        "text,unit,geography,year\n外购电力,kWh,CN-GD,2024\n=1+1,kg,CN,2024\nR-134a 补充量,kg,CN,\n", encoding="utf-8"
    )
    dest = tmp_path / "matches.csv"
    out = CliRunner().invoke(app, ["match", "--file", str(src), "--out", str(dest), "--top", "2"])
    assert out.exit_code == 0, out.output
    got = pl.read_csv(dest, infer_schema_length=0)
    assert {"rank", "factor_id", "name_zh", "name_en", "activity_key", "unit", "score", "reason", "line_unit"} <= set(
        got.columns
    )
    assert got.filter(pl.col("text") == "外购电力")["activity_key"][0] == "electricity.grid_average"
    assert got.filter(pl.col("text").str.contains("1"))["text"][0].startswith("'=")  # never a formula
    bad = tmp_path / "bad.csv"
    bad.write_text("description,unit\n柴油,t\n", encoding="utf-8")
    out = CliRunner().invoke(app, ["match", "--file", str(bad), "--out", str(dest)])
    assert out.exit_code == 1 and "expected a column 'text'" in out.output


def test_intake_uses_confident_matches_queues_the_rest_and_reuses_a_stewards_mapping(full_build, tmp_path, monkeypatch):
    from pipelines.cli import app
    from pipelines.enterprise.intake import ingest_upload
    from pipelines.enterprise.inventory import build_inventory
    from tests.enterprise_corpus import example, write

    s = dataclasses.replace(full_build["settings"], restricted_dir=tmp_path / "restricted")
    data = example()
    for line in data["activity"]:
        if line["line_id"] == "A2":
            line["item"] = "再生铝锭 ADC12"  # not a catalogue name: the matcher places it
        if line["line_id"] == "P4":
            line["item"] = "XJ-77 特种辅料"  # nothing to go on: set aside for a steward
    assert ingest_upload(write(tmp_path / "upload.xlsx", data), s).accepted
    factors = read_table(s, "v0001", "factor")
    fuel = read_table(s, "v0001", "fuel_property")
    tables = build_inventory(s, factors, "v0001", s.gwp_set, fuel)
    lines = tables["line_emissions"]
    a2 = lines.filter(pl.col("line_id") == "A2").row(0, named=True)
    assert a2["match_method"] == "text_match" and "text match score" in a2["match_note"]
    assert "concept aluminium.recycled" in a2["match_note"] and a2["co2e_kg_per_declared_unit"] > 0
    p4 = lines.filter(pl.col("line_id") == "P4").row(0, named=True)
    assert p4["match_method"] == "unmatched" and "awaiting a steward's mapping" in p4["match_note"]
    queue = tables["mapping_queue"]
    item = queue.filter(pl.col("text") == "XJ-77 特种辅料").row(0, named=True)
    assert item["line_ids"] == "P4" and item["uscc"] == data["enterprise"][0]["uscc"]
    # the steward confirms a factor for that text and unit; the next build uses it, visibly
    paper = factors.filter(pl.col("name_zh") == "包装纸")["factor_id"][0]
    monkeypatch.setenv("PCF_CURATED_DIR", str(s.curated_dir))
    monkeypatch.setenv("PCF_RESTRICTED_DIR", str(s.restricted_dir))
    out = CliRunner().invoke(
        app,
        [
            "map",
            "--enterprise",
            item["uscc"],
            "--text",
            "XJ-77 特种辅料",
            "--unit",
            item["unit"],
            "--factor",
            paper,
            "--reason",
            "supplier sheet: kraft wrapping",
            "--steward",
            "steward-w",
            "--no-apply",
        ],
    )
    assert out.exit_code == 0, out.output
    again = build_inventory(s, factors, "v0001", s.gwp_set, fuel)
    p4 = again["line_emissions"].filter(pl.col("line_id") == "P4").row(0, named=True)
    assert p4["match_method"] == "steward_mapping" and p4["factor_id"] == paper
    assert "steward mapping by steward-w" in p4["match_note"] and "kraft wrapping" in p4["match_note"]
    assert again["mapping_queue"].filter(pl.col("text") == "XJ-77 特种辅料").is_empty()
    # the mapping log lives in the restricted zone, never in the factor decision log that releases copy
    assert (s.restricted_dir / "curation" / "mappings.jsonl").exists()
    log = (Path(s.raw_dir) / "curation" / "decisions.jsonl").read_text(encoding="utf-8")
    assert "XJ-77" not in log
