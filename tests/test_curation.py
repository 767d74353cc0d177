"""Steward curation end to end on the literature template: new factor -> queue -> approve -> release
contains it approved -> value changes upstream -> the decision goes stale and the factor is back in the
queue; overrides; the licence gate; replaying the decision log gives the same release; a malformed log
line is an error naming its line."""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil

import polars as pl
import pytest

from pipelines.config import PROJECT_ROOT, settings
from pipelines.curation.decisions import (
    Decision,
    DecisionError,
    append,
    append_many,
    content_hashes,
    log_path,
    read_log,
)
from pipelines.curation.run import curate
from pipelines.factors.warehouse import build_tables, load_source, source_manifest
from pipelines.release.publish import latest_release, publish, read_table
from pipelines.sources import SOURCES

LITERATURE = PROJECT_ROOT / "data" / "raw" / "literature" / "example_literature_factors.csv"


def _rows() -> list[dict]:
    with open(LITERATURE, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _write(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


@pytest.fixture
def zone(tmp_path):
    """Only embedded sources (no ../shared): a fast, self-contained warehouse."""
    raw = tmp_path / "raw"
    shutil.copytree(PROJECT_ROOT / "data" / "raw" / "embedded", raw / "embedded")
    _write(raw / "literature" / "lit.csv", _rows())
    s = dataclasses.replace(
        settings(), raw_dir=raw, sources_dir=tmp_path / "no_sources", curated_dir=tmp_path / "curated"
    )
    return s


def build(s):
    batches = [load_source(k, s) for k in SOURCES]
    tables, summary = build_tables(batches, s)
    curated = curate(s, {"tables": tables, "summary": summary, "sources": source_manifest(batches)})
    result = publish(s, curated["tables"], curated["summary"], curated["sources"])
    return curated, result


def _factor(s, natural_key: str) -> dict:
    f = read_table(s, latest_release(s)["version"], "factor").filter(pl.col("natural_key") == natural_key)
    assert f.height == 1
    return f.row(0, named=True)


def _decide(s, action, fid, **kw):
    factor = read_table(s, latest_release(s)["version"], "factor").filter(pl.col("factor_id") == fid)
    sha = content_hashes(factor)["content_sha256"][0]
    return append(
        s, Decision(action, fid, sha, "steward-a", "2026-11-25T00:00:00+00:00", kw.pop("reason", "checked"), **kw)
    )


def test_steward_scenario_end_to_end(zone):
    s = zone
    key = _rows()[0]["record_id"]
    curated, first = build(s)
    lit = _factor(s, key)
    assert lit["steward_status"] == "pending"  # literature needs a steward
    queue = curated["review_queue"]
    row = queue.filter(pl.col("factor_id") == lit["factor_id"]).row(0, named=True)
    assert "pending: needs a steward's decision" in row["reasons"] and "new" in row["reasons"]
    assert (s.curated_dir / "review" / "index.html").read_text(encoding="utf-8").count(lit["factor_id"]) == 1

    _decide(s, "approve", lit["factor_id"], reason="values match IPCC 2006 Vol 2 Table 2.2")
    curated, second = build(s)
    assert second.published and _factor(s, key)["steward_status"] == "approved"
    assert lit["factor_id"] not in curated["review_queue"]["factor_id"].to_list()
    decisions = read_table(s, second.version, "steward_decision")
    assert decisions.filter(pl.col("factor_id") == lit["factor_id"])["applied"].to_list() == [True]

    # upstream change: the same record with another CH4 value
    rows = _rows()
    rows[0]["ch4_fossil_kg"] = "3"
    _write(s.raw_dir / "literature" / "lit.csv", rows)
    curated, third = build(s)
    changed = _factor(s, key)
    assert changed["factor_id"] == lit["factor_id"]  # stable id, new content
    assert changed["steward_status"] == "pending" and "steward.decision_stale" in changed["qa_flags"]
    row = curated["review_queue"].filter(pl.col("factor_id") == lit["factor_id"]).row(0, named=True)
    assert row["stale_decision"].startswith("approve by steward-a")
    assert row["old_co2e_kg"] == pytest.approx(lit["co2e_kg"]) and row["new_co2e_kg"] == pytest.approx(
        changed["co2e_kg"]
    )
    assert "changed:" in row["reasons"]
    decisions = read_table(s, third.version, "steward_decision")
    assert decisions["not_applied_because"].to_list() == ["content changed since the decision"]


def test_override_reject_and_deprecate(zone):
    s = zone
    build(s)
    rows = _rows()
    a, b, c = (_factor(s, rows[i]["record_id"]) for i in range(3))
    _decide(
        s,
        "override",
        a["factor_id"],
        value_co2e_kg=60_000.0,
        unit=a["unit"],
        source="provincial study 2024, table 3",
        reason="local gas composition",
    )
    _decide(s, "reject", b["factor_id"], reason="duplicate of a national factor")
    _decide(s, "deprecate", c["factor_id"], reason="superseded by the 2019 refinement")
    curated, result = build(s)
    assert _factor(s, rows[0]["record_id"])["co2e_kg"] == 60_000.0
    assert "steward.override" in _factor(s, rows[0]["record_id"])["qa_flags"]
    gas = read_table(s, result.version, "factor_gas")
    assert gas.filter(pl.col("factor_id") == a["factor_id"]).height == 0  # per-gas rows would contradict the value
    assert _factor(s, rows[1]["record_id"])["steward_status"] == "rejected"
    assert _factor(s, rows[2]["record_id"])["steward_status"] == "deprecated"
    assert not set(curated["review_queue"]["factor_id"]) & {a["factor_id"], b["factor_id"], c["factor_id"]}
    with pytest.raises(DecisionError, match="source of the steward's value is required"):
        Decision("override", a["factor_id"], "x", "s", "t", "why", value_co2e_kg=1.0)
    with pytest.raises(DecisionError, match="a reason is required"):
        Decision("approve", a["factor_id"], "x", "s", "t", " ")


def test_replaying_the_decision_log_gives_the_same_release(zone, tmp_path):
    s = zone
    build(s)
    rows = _rows()
    for i, action in enumerate(("approve", "reject", "approve")):
        _decide(s, action, _factor(s, rows[i]["record_id"])["factor_id"], reason=f"decision {i}")
    _, incremental = build(s)
    replay = dataclasses.replace(s, curated_dir=tmp_path / "replay")  # fresh warehouse, same raw files and log
    _, replayed = build(replay)
    assert replayed.version == "v0001"
    assert replayed.manifest["tables"] == incremental.manifest["tables"]  # every table, byte for byte
    _, again = build(s)
    assert not again.published  # nothing changed: no new release


def test_internal_only_stays_internal_whatever_the_steward_says(zone):
    s = zone
    rows = _rows()
    rows[0]["redistributable"] = "false"
    _write(s.raw_dir / "literature" / "lit.csv", rows)
    build(s)
    f = _factor(s, rows[0]["record_id"])
    assert f["steward_status"] == "internal_only"
    _decide(s, "approve", f["factor_id"])
    curated, _ = build(s)
    assert _factor(s, rows[0]["record_id"])["steward_status"] == "internal_only"
    factor = curated["tables"]["factor"]
    assert factor.filter(~pl.col("redistributable") & (pl.col("steward_status") == "approved")).height == 0


def test_a_malformed_log_line_is_named(zone):
    path = log_path(zone)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {"action": "approve", "factor_id": "F1", "content_sha256": "x", "steward": "a", "at": "t", "reason": "ok"}
        )
        + "\n{not json\n",
        encoding="utf-8",
    )
    with pytest.raises(DecisionError, match=r"decisions.jsonl: line 2"):
        read_log(zone)
    path.write_text(
        json.dumps(
            {"action": "bless", "factor_id": "F1", "content_sha256": "x", "steward": "a", "at": "t", "reason": "ok"}
        )
        + "\n",
        encoding="utf-8",
    )
    with pytest.raises(DecisionError, match=r"line 1: action 'bless'"):
        read_log(zone)


def test_log_read_whole_agrees_with_line_by_line_and_defers_to_it(zone):
    from pipelines.curation.decisions import _read_log_fast, _read_log_lines

    base = {"factor_id": "F1", "content_sha256": "x", "steward": "a", "at": "t", "reason": "ok"}
    good = [
        Decision("approve", **base),
        Decision("override", **{**base, "factor_id": "F2"}, value_co2e_kg=2, unit="kg", source="doc"),
        Decision("reject", **{**base, "reason": "同一因子重复 duplicate"}),
    ]
    append_many(zone, good)
    path = log_path(zone)
    assert _read_log_fast(path).equals(_read_log_lines(path)) and read_log(zone).height == 3
    assert read_log(zone)["decision_id"].to_list() == [d.decision_id for d in good]
    bad_lines = [
        {**base, "action": "override", "value_co2e_kg": float("nan"), "source": "doc"},  # NaN value
        {**base, "action": "approve", "reason": "   "},  # blank reason
        {**base, "action": "approve", "extra": 1},  # unknown field
        {"action": "approve", "factor_id": "F1"},  # missing fields
    ]
    for bad in bad_lines:
        path.write_text(json.dumps(vars(good[0])) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
        assert _read_log_fast(path) is None  # not clearly fine: the line-by-line reader decides
        with pytest.raises(DecisionError, match=r"line 2"):
            read_log(zone)
    path.write_text(json.dumps(vars(good[0])) + "\n\n" + json.dumps(vars(good[2])) + "\n", encoding="utf-8")
    assert read_log(zone)["log_line"].to_list() == [1, 3]  # blank lines keep the numbering


def test_regional_factors_are_published_approved(zone):
    s = zone
    row = dict(
        _rows()[0],
        record_id="cq-grid-mix-2024",
        name_zh="重庆电网电力（示例区域因子）",
        name_en="Chongqing grid electricity (example regional factor)",
        activity_category="electricity",
        activity_key="electricity.grid_average",
        factor_purpose="life_cycle",
        unit="kWh",
        co2e_kg="0.55",
        co2_fossil_kg="",
        ch4_fossil_kg="",
        n2o_kg="",
        geography="重庆",
        reference_year="2024",
        system_boundary="cradle_to_gate",
    )
    _write(s.raw_dir / "curation" / "regional" / "cq.csv", [row])
    curated, _ = build(s)
    f = curated["tables"]["factor"].filter(pl.col("source_id") == "regional_steward")
    assert f.height == 1 and f["steward_status"][0] == "approved" and f["geography_code"][0] == "500000"


def test_cli_review_and_decisions(zone, monkeypatch):
    from typer.testing import CliRunner

    from pipelines.cli import app

    s = zone
    build(s)
    monkeypatch.setenv("PCF_RAW_DIR", str(s.raw_dir))
    monkeypatch.setenv("PCF_SOURCES_DIR", str(s.sources_dir))
    monkeypatch.setenv("PCF_CURATED_DIR", str(s.curated_dir))
    monkeypatch.setenv("PCF_STEWARD", "steward-b")
    runner = CliRunner()
    out = runner.invoke(app, ["review", "--json", "--status", "pending", "--limit", "100"])
    assert out.exit_code == 0, out.output
    pending = json.loads(out.output)
    fid = pending[0]["factor_id"]
    assert all(r["steward_status"] == "pending" for r in pending)
    out = runner.invoke(app, ["approve", fid, "--reason", "checked against the DOI", "--no-apply"])
    assert out.exit_code == 0, out.output
    log = read_log(s)
    assert log["factor_id"].to_list() == [fid] and log["steward"].to_list() == ["steward-b"]
    expected = content_hashes(read_table(s, latest_release(s)["version"], "factor").filter(pl.col("factor_id") == fid))
    assert log["content_sha256"][0] == expected["content_sha256"][0]
    assert runner.invoke(app, ["approve", "F-not-a-factor", "--reason", "x", "--no-apply"]).exit_code == 2
    out = runner.invoke(app, ["override", fid, "--value", "1.5", "--reason", "r", "--no-apply"])
    assert out.exit_code != 0  # --source is required
    unit = read_table(s, latest_release(s)["version"], "factor").filter(pl.col("factor_id") == fid)["unit"][0]
    bigger = {"kg": "t", "kWh": "MWh", "MJ": "GJ", "TJ": "PJ", "t": "kt"}[unit]
    out = runner.invoke(
        app, ["override", fid, "--value", "1500", "--unit", bigger, "--source", "doc", "--reason", "r", "--no-apply"]
    )
    assert out.exit_code == 0, out.output
    last = read_log(s).row(-1, named=True)
    assert last["unit"] == unit and last["value_co2e_kg"] == pytest.approx(1.5)  # 1500 per t(housand) = 1.5 per unit
    wrong = runner.invoke(
        app,
        [
            "override",
            fid,
            "--value",
            "1",
            "--unit",
            "m3" if unit != "m3" else "kg",
            "--source",
            "doc",
            "--reason",
            "r",
            "--no-apply",
        ],
    )
    assert wrong.exit_code == 2 and "does not convert" in wrong.output


def test_queue_flags_pinned_with_small_cases():
    from pipelines.curation.queue import build_queue

    def frame(values: dict[str, float], status="approved"):
        return pl.DataFrame(
            [
                {
                    "factor_id": k,
                    "source_id": "src",
                    "name_zh": k,
                    "name_en": None,
                    "activity_key": "a",
                    "factor_purpose": "life_cycle",
                    "unit": "kg",
                    "geography_code": "CN",
                    "reference_year": 2024,
                    "co2e_kg": v,
                    "qa_flags": None,
                    "url": "https://example.org",
                    "doi": None,
                    "locator": "t1",
                    "document": "d",
                    "dqr": 2.0,
                    "steward_status": status,
                }
                for k, v in values.items()
            ]
        ).cast({"qa_flags": pl.String, "doi": pl.String, "name_en": pl.String})

    old = frame({"zero": 0.0, "same": 1.0, "up10": 1.0, "up30": 1.0, "from0": 0.0})
    new = frame({"zero": 0.0, "same": 1.0, "up10": 1.1, "up30": 1.3, "from0": 0.5, "fresh": 2.0})
    no_decisions = pl.DataFrame(
        schema={
            "factor_id": pl.String,
            "applied": pl.Boolean,
            "not_applied_because": pl.String,
            "log_line": pl.Int64,
            "action": pl.String,
            "steward": pl.String,
            "at": pl.String,
            "reason": pl.String,
            "content_sha256": pl.String,
        }
    )
    q = build_queue(new, old, no_decisions)
    assert sorted(q["factor_id"]) == ["from0", "up30"]  # approved factors enter only when flagged
    assert set(q["flags"]) == {"change.large"}
    up30 = q.filter(pl.col("factor_id") == "up30").row(0, named=True)
    assert up30["relative_change"] == pytest.approx(0.3) and "changed: 1.0 -> 1.3 (30.0%)" in up30["reasons"]
    pending = build_queue(frame({"fresh": 2.0}, "pending"), old, no_decisions)
    assert (
        pending.row(0, named=True)["reasons"] == "pending: needs a steward's decision; new: not in the baseline release"
    )
    peers = build_queue(frame({"x": 1.0, "y": 20.0, "z": 1.1}, "pending"), None, no_decisions)
    assert (
        peers.filter(pl.col("factor_id") == "x")["peers"][0] == "src 2024: 20.0; src 2024: 1.1"
    )  # by source, newest year, factor id


def test_review_page_is_capped_flagged_first_and_queue_keeps_upload_order(monkeypatch):
    from pipelines.curation.queue import build_queue, render_html

    ids = [f"f{i:04d}" for i in range(50)]
    factor = pl.DataFrame(
        {
            "factor_id": ids,
            "source_id": "literature",
            "name_zh": ids,
            "name_en": None,
            "activity_key": None,
            "factor_purpose": "life_cycle",
            "unit": "kg",
            "geography_code": "CN",
            "reference_year": 2024,
            "co2e_kg": 1.0,
            "qa_flags": None,
            "url": "https://example.org",
            "doi": None,
            "locator": "t1",
            "document": "d",
            "dqr": [5.0 if i in (7, 40) else 2.0 for i in range(50)],
            "steward_status": "pending",
        }
    ).cast({"qa_flags": pl.String, "doi": pl.String, "name_en": pl.String, "activity_key": pl.String})
    factor = factor.reverse()  # upload order is not id order
    no_decisions = pl.DataFrame(
        schema={
            "factor_id": pl.String,
            "applied": pl.Boolean,
            "not_applied_because": pl.String,
            "log_line": pl.Int64,
            "action": pl.String,
            "steward": pl.String,
            "at": pl.String,
            "reason": pl.String,
            "content_sha256": pl.String,
        }
    )
    queue = build_queue(factor, None, no_decisions)
    assert queue["factor_id"].to_list() == factor["factor_id"].to_list()
    monkeypatch.setenv("PCF_REVIEW_PAGE_ROWS", "5")
    page = render_html(queue, "no earlier release")
    assert "Showing 5 of 50" in page and "literature: 50" in page
    shown = [i for i in ids if f"<td>{i}</td>" in page]
    assert set(shown) == {"f0040", "f0007", "f0049", "f0048", "f0047"}  # both flagged (quality.low), then upload order
    at = [page.index(f"<td>{i}</td>") for i in ("f0040", "f0007", "f0049", "f0048", "f0047")]
    assert at == sorted(at)
    monkeypatch.setenv("PCF_REVIEW_PAGE_ROWS", "100")
    assert "Showing" not in render_html(queue, "no earlier release")


def test_cli_decides_on_a_whole_reviewed_file_at_once(zone, monkeypatch):
    from typer.testing import CliRunner

    from pipelines.cli import app

    s = zone
    _write(s.raw_dir / "literature" / "paper_b.csv", [{**r, "record_id": f"B-{r['record_id']}"} for r in _rows()])
    curated, _ = build(s)
    for key, value in (
        ("PCF_RAW_DIR", s.raw_dir),
        ("PCF_SOURCES_DIR", s.sources_dir),
        ("PCF_CURATED_DIR", s.curated_dir),
    ):
        monkeypatch.setenv(key, str(value))
    monkeypatch.setenv("PCF_STEWARD", "steward-c")
    runner = CliRunner()
    lineage = read_table(s, latest_release(s)["version"], "factor_lineage")
    from_b = set(lineage.filter(pl.col("raw_file").str.ends_with("paper_b.csv"))["factor_id"])
    in_queue = set(curated["review_queue"]["factor_id"])
    assert from_b and from_b <= in_queue and in_queue - from_b  # the other file's factors wait too

    unconfirmed = runner.invoke(
        app, ["approve", "--raw-file", "literature/paper_b.csv", "--reason", "checked", "--no-apply"]
    )
    assert (
        unconfirmed.exit_code == 2
        and f"{len(from_b)} factor(s)" in unconfirmed.output
        and "--yes" in unconfirmed.output
    )
    assert read_log(s).height == 0  # nothing recorded without --yes
    both = runner.invoke(app, ["approve", sorted(from_b)[0], "--source", "literature", "--reason", "x", "--no-apply"])
    assert both.exit_code == 2 and "not both" in both.output

    out = runner.invoke(
        app,
        [
            "approve",
            "--raw-file",
            "paper_b.csv",
            "--reason",
            "checked against Table 3 of paper B",
            "--yes",
            "--no-apply",
        ],
    )
    assert out.exit_code == 0, out.output
    log = read_log(s)
    assert set(log["factor_id"]) == from_b and set(log["steward"]) == {"steward-c"} and log.height == len(from_b)
    curated, _ = build(s)  # replayed: the file's factors leave the queue, the other file's stay
    assert not from_b & set(curated["review_queue"]["factor_id"])
    assert in_queue - from_b <= set(curated["review_queue"]["factor_id"])
    nothing = runner.invoke(app, ["reject", "--raw-file", "paper_b.csv", "--reason", "x", "--yes", "--no-apply"])
    assert nothing.exit_code == 1 and "no factor" in nothing.output
