"""Factor trust (issue 12): editions read from their own files, gas names through one synonym table, the
release guard, diffs on published values with series, and the one selection precedence."""

from __future__ import annotations

import dataclasses
import shutil

import dagster as dg
import polars as pl
import pytest

from pipelines.asset_store import FrameStoreIOManager
from pipelines.common import gwp
from pipelines.common.geography import normalise
from pipelines.config import PROJECT_ROOT, settings
from pipelines.curation.decisions import Decision, append, now_utc
from pipelines.definitions import warehouse_assets, warehouse_checks
from pipelines.factors.factor_diff import compare
from pipelines.factors.warehouse import build_tables, load_source, source_manifest
from pipelines.matching.lines import FactorIndex, match_line
from pipelines.matching.selection import rank
from pipelines.release.publish import diff, list_releases, publish, read_table
from pipelines.resources import WarehouseResource
from pipelines.sources.editions import choose
from tests.editions import FIXTURE_DOI, copy_sources, write_epa_sef_next

# --- gas names ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, species",
    [
        ("Perfluorobutane", "C4F10"),
        ("PFC-3-1-10", "C4F10"),
        ("355-25-9", "C4F10"),
        ("全氟丁烷", "C4F10"),
        ("Carbon tetrafluoride", "CF4"),
        ("Perfluoromethane", "CF4"),
        ("PFC-14", "CF4"),
        ("四氟化碳", "CF4"),
        ("PFC-318", "cC4F8"),
        ("c-C4F8", "cC4F8"),
        ("R-134a", "HFC134a"),
        ("HFC 134a", "HFC134a"),
        ("811-97-2", "HFC134a"),
        ("Sulphur hexafluoride", "SF6"),
        ("sulfur hexafluoride", "SF6"),
        ("六氟化硫", "SF6"),
        ("Nitrous oxide", "N2O"),
        ("HFE-347mcc3", "HFE347mcc3"),
        ("Methane", "CH4"),
        ("CH4 fossil", "CH4_fossil"),
    ],
)
def test_gas_names_resolve_through_one_table(name, species):
    assert gwp.resolve_gas(name) == species
    if species in gwp.gwp_table("AR5"):
        assert gwp.gwp(name, "AR5") == gwp.gwp_table("AR5")[species]


def test_gas_advice_resolves_the_row():
    assert gwp.resolve_gas("Unobtainium") is None
    advice = gwp.gas_advice(["Unobtainium"], "AR6")
    assert "gas_synonyms.csv" in advice and "choose another GWP set" not in advice
    # a species one set lacks: the advice says which sets have it
    lacking = next(
        s for s in gwp.synonym_table().values() if s in gwp.gwp_table("AR6") and s not in gwp.gwp_table("SAR")
    )
    assert "AR6" in gwp.gas_advice([lacking], "SAR")


# --- editions -------------------------------------------------------------------------------------------------


@pytest.fixture
def sef_dir(tmp_path, sources_dir):
    return copy_sources(sources_dir, tmp_path / "sources", "epa_sef_v1_2")


def _load(sources, source_id="epa_sef_v1_2"):
    return load_source(source_id, dataclasses.replace(settings(), sources_dir=sources))


def test_edition_metadata_comes_from_the_editions_own_files(sef_dir):
    old = _load(sef_dir)
    m = old.edition_meta
    assert (m["version"], m["gwp_set"], m["data_year"], m["currency_year"]) == ("v1.2", "AR4", 2019, 2021)
    assert (m["doi"], m["publication_date"]) == ("10.23719/1528686", "2023-04-12")
    assert m["basis"]["gwp_set"].startswith("fitted") and "provenance_datagov.json" in m["basis"]["data_year"]
    write_epa_sef_next(sef_dir)
    new = _load(sef_dir)
    n = new.edition_meta
    assert (n["directory"], n["version"], n["gwp_set"], n["data_year"], n["currency_year"], n["doi"]) == (
        "epa_sef_v1_3_0",
        "v1.3",
        "AR5",
        2022,
        2022,
        FIXTURE_DOI,
    )
    assert n["choice"].startswith("newest of epa_sef_v1_2, epa_sef_v1_3_0")
    row = new.staged.row(0, named=True)
    assert (row["reference_year"], row["unit_raw"], row["published_gwp_set"], row["doi"]) == (
        2022,
        "2022 USD",
        "AR5",
        FIXTURE_DOI,
    )


def test_new_edition_with_renamed_gases_loads_and_loses_nothing(sef_dir):
    s = dataclasses.replace(settings(), sources_dir=sef_dir)
    old_tables, _ = build_tables([_load(sef_dir)], s)
    write_epa_sef_next(sef_dir)
    new_tables, summary = build_tables([_load(sef_dir)], s)
    assert old_tables["quarantine"].height == 0
    assert new_tables["quarantine"].height == 0 and summary["balanced"]  # nothing the older edition accepted is lost
    assert new_tables["factor"].height == old_tables["factor"].height == 2032
    gases = set(new_tables["factor_gas"]["gas"].unique())
    assert {"C4F10", "CF4", "cC4F8"} <= gases and not any(g.startswith("Perfluoro") for g in gases)
    # diff counts published changes exactly: every unit moved to 2022 USD; published CO2e as the files say
    d = compare(old_tables["factor"], new_tables["factor"])
    assert d["changed"].height == 2032 and d["added"].height == d["removed"].height == 0
    assert d["changed"].filter(pl.col("changed_fields").str.contains("unit_label"))[
        "new_unit_label"
    ].unique().to_list() == ["2022 USD"]
    old_raw = pl.read_csv(
        sef_dir / "epa_sef_v1_2" / "SupplyChainGHGEmissionFactors_v1.2_NAICS_CO2e_USD2021.csv", infer_schema_length=0
    )
    new_raw = pl.read_csv(
        sef_dir / "epa_sef_v1_3_0" / "SupplyChainGHGEmissionFactors_v1.3.0_NAICS_CO2e_USD2022.csv",
        infer_schema_length=0,
    )
    expected = sum(
        int(float(a) != float(b))
        for col in ("Supply Chain Emission Factors without Margins", "Supply Chain Emission Factors with Margins")
        for a, b in zip(old_raw[col], new_raw[col])
    )
    assert d["changed"].filter(pl.col("changed_fields").str.contains("published_co2e_kg")).height == expected


def test_editions_can_be_pinned(sef_dir, monkeypatch):
    write_epa_sef_next(sef_dir)
    dirs = sorted(p for p in sef_dir.iterdir() if p.is_dir())
    monkeypatch.setenv("PCF_EDITIONS", "epa_sef_v1_2=epa_sef_v1_2")
    chosen, why = choose("epa_sef_v1_2", dirs)
    assert chosen.name == "epa_sef_v1_2" and why.startswith("pinned")
    assert _load(sef_dir).edition_meta["version"] == "v1.2"
    monkeypatch.setenv("PCF_EDITIONS", "epa_sef_v1_2=epa_sef_v9")
    batch = _load(sef_dir)
    assert batch.status == "error" and "epa_sef_v9" in batch.message


def test_gwp_set_change_is_not_a_published_change(sef_dir):
    base = dataclasses.replace(settings(), sources_dir=sef_dir)
    ar6, _ = build_tables([_load(sef_dir)], base)
    ar5, _ = build_tables([_load(sef_dir)], dataclasses.replace(base, gwp_set="AR5"))
    d = compare(ar6["factor"], ar5["factor"])
    assert d["changed"].height == 0 and d["co2e_recomputed"].height > 1000


# --- release guard --------------------------------------------------------------------------------------------


_INSTANCES: dict = {}


def _materialise(tmp_path):
    instance = _INSTANCES.setdefault(str(tmp_path), dg.DagsterInstance.ephemeral())
    return dg.materialize(
        [*warehouse_assets, *warehouse_checks],
        instance=instance,
        resources={
            "io_manager": FrameStoreIOManager(base_dir=str(tmp_path / "assets")),
            "warehouse": WarehouseResource(),
        },
        raise_on_error=False,
    )


def test_release_guard_holds_a_wholesale_failing_edition_until_a_steward_decides(tmp_path, monkeypatch, sef_dir):
    monkeypatch.setenv("PCF_SOURCES_DIR", str(sef_dir))
    monkeypatch.setenv("PCF_CURATED_DIR", str(tmp_path / "curated"))
    monkeypatch.setenv("PCF_RAW_DIR", str(tmp_path / "raw"))
    shutil.copytree(PROJECT_ROOT / "data" / "raw", tmp_path / "raw")
    (tmp_path / "raw" / "curation" / "decisions.jsonl").write_text("", encoding="utf-8")
    first = _materialise(tmp_path)
    assert first.success and [m["version"] for m in list_releases(settings())] == ["v0001"]
    write_epa_sef_next(sef_dir, all_fail=True)
    held = _materialise(tmp_path)
    guard = [e for e in held.get_asset_check_evaluations() if e.check_name == "release_guard"]
    assert len(guard) == 1 and not guard[0].passed
    assert "epa_sef_v1_2: 2032 of 2032 factors" in guard[0].description
    assert [m["version"] for m in list_releases(settings())] == ["v0001"]  # nothing published
    queue = pl.read_parquet(settings().curated_dir / "review" / "queue.parquet")
    item = queue.filter(pl.col("factor_id") == "change:epa_sef_v1_2")
    assert (
        item.height == 1 and item["flags"][0] == "release.guard" and "gwp.missing_for_set: 2032" in item["reasons"][0]
    )
    from pipelines.runs import list_runs

    assert "release_guard" in list_runs(_INSTANCES[str(tmp_path)])[-1]["checks_failed"]
    # a rejection keeps it held; an approval of this very change publishes it
    import json

    change = json.loads((settings().curated_dir / "review" / "release_guard.json").read_text())[0]
    append(
        settings(),
        Decision("reject", change["change_id"], change["signature"], "steward-a", now_utc(), "all rows fail"),
    )
    assert not _materialise(tmp_path).success and len(list_releases(settings())) == 1
    append(settings(), Decision("approve", change["change_id"], "0" * 64, "steward-a", now_utc(), "another change"))
    assert not _materialise(tmp_path).success  # a decision on a different change does not apply
    append(
        settings(),
        Decision(
            "approve",
            change["change_id"],
            change["signature"],
            "steward-b",
            now_utc(),
            "the old edition is withdrawn by the publisher",
        ),
    )
    done = _materialise(tmp_path)
    assert done.success and [m["version"] for m in list_releases(settings())] == ["v0001", "v0002"]
    assert read_table(settings(), "v0002", "factor").filter(pl.col("source_id") == "epa_sef_v1_2").height == 0
    decisions = read_table(settings(), "v0002", "steward_decision").filter(pl.col("factor_id") == "change:epa_sef_v1_2")
    assert decisions.filter(pl.col("applied"))["steward"].to_list() == ["steward-b"]


# --- series ---------------------------------------------------------------------------------------------------


def test_new_official_year_is_the_next_value_of_its_series(tmp_path, sources_dir):
    src = copy_sources(sources_dir, tmp_path / "sources", "cn_mee_electricity_co2")
    s = dataclasses.replace(settings(), sources_dir=src, curated_dir=tmp_path / "curated")
    path = src / "cn_mee_electricity_co2" / "cn_electricity_factors_2021_2022_plus.csv"
    batches = [load_source("cn_mee_electricity_co2", s)]
    tables, summary = build_tables(batches, s)
    publish(s, tables, summary, source_manifest(batches))
    lines = path.read_text(encoding="utf-8").splitlines()
    new_year = [
        ln.replace("2022,", "2023,", 1).replace(",0.", ",0.9", 1)
        for ln in lines
        if ln.startswith("2022,provincial_average")
    ]
    path.write_text("\n".join(lines + new_year) + "\n", encoding="utf-8")
    batches = [load_source("cn_mee_electricity_co2", s)]
    tables, summary = build_tables(batches, s)
    publish(s, tables, summary, source_manifest(batches))
    d = diff(s, "v0001", "v0002")
    assert d["added"].height == len(new_year) == 30 and d["changed"].height == 0 and d["removed"].height == 0
    assert (
        d["series"].height == 30 and set(d["series"]["previous_year"]) == {2022} and set(d["series"]["year"]) == {2023}
    )
    cq = d["series"].filter(pl.col("name").str.contains("重庆")).row(0, named=True)
    assert cq["previous_value"] == 0.5227 and cq["value"] == pytest.approx(0.95227)
    # the review queue shows the jump as the next value of the series, flagged
    from pipelines.curation.decisions import apply, read_log
    from pipelines.curation.queue import build_queue

    factor, _g, decisions = apply(tables["factor"], tables["factor_gas"], read_log(s).head(0))
    queue = build_queue(factor, read_table(s, "v0001", "factor"), decisions)
    item = queue.filter(pl.col("factor_id") == cq["factor_id"]).row(0, named=True)
    assert (
        "new year of a series: 2022 0.5227 -> 2023 0.95227 (82.2%)" in item["reasons"]
        and "change.large" in item["flags"]
    )


# --- selection precedence -------------------------------------------------------------------------------------


def _c(fid, source, authority, geo, step, year, purpose="life_cycle", dqr=2.0):
    return {
        "factor_id": fid,
        "source_id": source,
        "authority": authority,
        "geography_code": geo,
        "_step": step,
        "reference_year": year,
        "factor_purpose": purpose,
        "dqr": dqr,
    }


@pytest.mark.parametrize(
    "candidates, winner, rule",
    [
        # official beats a third-party copy at the same place and a closer year
        (
            [
                _c("A", "cpcd_snapshot", "third_party", "500000", "requested", 2023),
                _c("B", "cn_mee_electricity_co2", "official_cn", "CN", "country", 2023),
            ],
            "B",
            "authority",
        ),
        # the stewards' regional factor at the line's province beats everything
        (
            [
                _c("A", "cn_mee_electricity_co2", "official_cn", "500000", "requested", 2024),
                _c("R", "regional_steward", "steward_regional", "500000", "requested", 2020),
            ],
            "R",
            "steward regional factor",
        ),
        # at the country level it is no longer "at its geography": it still leads the authority tiers
        (
            [
                _c("A", "cn_mee_electricity_co2", "official_cn", "CN", "country", 2024),
                _c("R", "regional_steward", "steward_regional", "CN", "country", 2024),
            ],
            "R",
            "authority",
        ),
        # same authority: the year closest to the line's period, never an older edition of the series
        (
            [
                _c("A", "cn_mee_electricity_co2", "official_cn", "CN", "country", 2022),
                _c("B", "cn_mee_electricity_co2", "official_cn", "CN", "country", 2024),
            ],
            "B",
            "reference year",
        ),
        # equal distance: the earlier year
        (
            [_c("A", "x", "official_cn", "CN", "country", 2023), _c("B", "x", "official_cn", "CN", "country", 2025)],
            "A",
            "reference year",
        ),
        # then geography specificity
        (
            [
                _c("A", "x", "official_cn", "CN", "country", 2024),
                _c("B", "x", "official_cn", "500000", "requested", 2024),
            ],
            "B",
            "geography specificity",
        ),
        # a life-cycle factor anywhere in the chain before a CO2-only Scope 2 factor of the province
        (
            [
                _c("A", "x", "official_cn", "500000", "requested", 2024, "scope2_location"),
                _c("B", "x", "official_cn", "CN", "country", 2023),
            ],
            "B",
            "purpose",
        ),
        # another country only when nothing in the chain exists
        (
            [_c("A", "uk", "official_other", "GB", "other", 2024), _c("B", "lit", "literature", "CN", "country", 2010)],
            "B",
            "place",
        ),
        # all equal: DQR, then id
        (
            [
                _c("B", "x", "literature", "CN", "country", 2024, dqr=2.0),
                _c("A", "x", "literature", "CN", "country", 2024, dqr=3.0),
            ],
            "B",
            "data quality (DQR)",
        ),
        (
            [_c("B", "x", "literature", "CN", "country", 2024), _c("A", "x", "literature", "CN", "country", 2024)],
            "A",
            "factor id",
        ),
    ],
)
def test_selection_precedence(candidates, winner, rule):
    ordered = rank(candidates, 2024)
    assert ordered[0]["factor_id"] == winner and ordered[0]["_decided_by"] == rule


def test_newest_official_factor_is_chosen_and_a_regional_file_wins(tmp_path, sources_dir):
    """Real editions: a new year of official electricity footprint factors is chosen for a line of that year over
    the CPCD copy; a stewards' regional factor for Chongqing then wins for Chongqing lines."""
    src = copy_sources(sources_dir, tmp_path / "sources", "cn_mee_electricity_co2", "cpcd_snapshot")
    s = dataclasses.replace(settings(), sources_dir=src, curated_dir=tmp_path / "curated")
    path = src / "cn_mee_electricity_co2" / "cn_electricity_factors_2021_2022_plus.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lc = next(ln for ln in lines if ln.startswith("2023,electricity_cf_national_average"))
    path.write_text(
        "\n".join(lines + [lc.replace("2023,", "2024,", 1).replace(",0.6205,", ",0.6000,")]) + "\n", encoding="utf-8"
    )
    tables, _ = build_tables([load_source(k, s) for k in ("cn_mee_electricity_co2", "cpcd_snapshot")], s)
    line = {
        "kind": "energy",
        "item": "外购电力",
        "unit": "kWh",
        "amount": 1000.0,
        "factor_ref": "electricity.grid_average",
    }
    index = FactorIndex(tables["factor"])
    m = match_line(line, index, normalise("重庆").code, 2024)
    chosen = tables["factor"].filter(pl.col("factor_id") == m.factor_id).row(0, named=True)
    assert (chosen["source_id"], chosen["reference_year"], chosen["factor_purpose"]) == (
        "cn_mee_electricity_co2",
        2024,
        "life_cycle",
    )
    assert m.factor_co2e_per_unit == pytest.approx(0.6) and m.selection_rule.startswith("won on")
    cpcd_cq = tables["factor"].filter(
        (pl.col("source_id") == "cpcd_snapshot")
        & (pl.col("geography_code") == "500000")
        & (pl.col("activity_key") == "electricity.grid_average")
    )
    assert cpcd_cq.height >= 1  # the copy is a candidate, and loses on authority
    # a regional steward factor for Chongqing (literature template in data/raw/curation/regional)
    regional = (
        tables["factor"]
        .head(1)
        .with_columns(
            pl.lit("Fregional").alias("factor_id"),
            pl.lit("regional_steward").alias("source_id"),
            pl.lit("steward_regional").alias("authority"),
            pl.lit("500000").alias("geography_code"),
            pl.lit(2022, dtype=pl.Int32).alias("reference_year"),
            pl.lit(0.51).alias("co2e_kg"),
            pl.lit("electricity.grid_average").alias("activity_key"),
            pl.lit("life_cycle").alias("factor_purpose"),
            pl.lit("kWh").alias("unit"),
        )
    )
    m2 = match_line(
        line, FactorIndex(pl.concat([tables["factor"], regional], how="diagonal_relaxed")), normalise("重庆").code, 2024
    )
    assert m2.factor_id == "Fregional" and m2.precedence == "regional_steward"
    assert m2.selection_rule.startswith("won on steward regional factor")
    # a Sichuan line is not Chongqing: the regional factor is not in its chain
    m3 = match_line(
        line, FactorIndex(pl.concat([tables["factor"], regional], how="diagonal_relaxed")), normalise("四川").code, 2024
    )
    assert m3.factor_id == m.factor_id


def test_cli_explain_diff_json_and_status_show_the_rules(tmp_path, monkeypatch, sources_dir):
    import json

    from typer.testing import CliRunner

    from pipelines.cli import app

    src = copy_sources(sources_dir, tmp_path / "sources", "cn_mee_electricity_co2", "cpcd_snapshot")
    monkeypatch.setenv("PCF_SOURCES_DIR", str(src))
    monkeypatch.setenv("PCF_CURATED_DIR", str(tmp_path / "curated"))
    assert _materialise(tmp_path).success
    runner = CliRunner()
    out = runner.invoke(app, ["explain", "AL-6063-REF-EXAMPLE:L4", "--json"])  # the reference model's electricity
    assert out.exit_code == 0, out.output
    [e] = json.loads(out.output)
    first = e["ranked"][0]
    assert (first["source_id"], first["factor_purpose"]) == ("cn_mee_electricity_co2", "life_cycle")
    assert any(c["source_id"] == "cpcd_snapshot" for c in e["ranked"]) and e["reason"].startswith("won on")
    text = runner.invoke(app, ["explain", "AL-6063-REF-EXAMPLE:L4"]).output
    assert "precedence: purpose > place > steward regional factor > authority" in text
    assert runner.invoke(app, ["explain", "NO-SUCH-LINE"]).exit_code == 1
    status = runner.invoke(app, ["status"], env={"COLUMNS": "250"}).output
    assert "official_cn" in status and "third_party" in status
    path = src / "cn_mee_electricity_co2" / "cn_electricity_factors_2021_2022_plus.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",0.5227,", ",0.5300,"), encoding="utf-8")
    assert _materialise(tmp_path).success
    d = json.loads(runner.invoke(app, ["diff", "v0001", "v0002", "--json"]).output)
    assert d["counts"]["changed"] == 1 and d["changed"][0]["old_published_co2e_kg"] == 0.5227


def test_pcf_sql_prints_data_as_plain_text():
    """Issue 14 #9 (part): a value that looks like rich markup or carries terminal escapes is printed as text."""
    from pipelines.common.terminal import plain, visible

    assert visible("[/]") == "[/]" and visible("\x1b[31mred") == "\\u001b[31mred"
    assert visible("GB\u202e001\u200b") == "GB\\u202e001\\u200b" and visible("重庆") == "重庆"
    # only the project's own style tags style; any other bracket is text
    assert plain("[red]bad[/red] [/] [link=x]y").plain == "bad [/] [link=x]y"


def test_pcf_sql_shows_markup_like_values(tmp_path, monkeypatch, sources_dir):
    from typer.testing import CliRunner

    from pipelines.cli import app

    src = copy_sources(sources_dir, tmp_path / "sources", "cn_mee_electricity_co2")
    s = dataclasses.replace(settings(), sources_dir=src, curated_dir=tmp_path / "curated")
    batches = [load_source("cn_mee_electricity_co2", s)]
    tables, summary = build_tables(batches, s)
    publish(s, tables, summary, source_manifest(batches))
    monkeypatch.setenv("PCF_CURATED_DIR", str(tmp_path / "curated"))
    out = CliRunner().invoke(app, ["sql", "select '[/]' as x, chr(27) || '[31mred' as y"])
    assert out.exit_code == 0, out.output
    assert "[/]" in out.output and "\\u001b[31mred" in out.output and "\x1b" not in out.output
