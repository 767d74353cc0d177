"""The `pcf` command line never ends in a traceback on bad input."""

from typer.testing import CliRunner

from pipelines.cli import app

runner = CliRunner()


def test_sql_refuses_writes_and_runs_queries(full_build, monkeypatch):
    monkeypatch.setenv("PCF_CURATED_DIR", str(full_build["settings"].curated_dir))
    for statement in (
        "drop table factor",
        "insert into factor values (1)",
        "attach 'x.db'",
        "copy factor to 'x.csv'",
        "pragma version",
        "install httpfs",
    ):
        res = runner.invoke(app, ["sql", statement])
        assert res.exit_code == 2, statement
        assert "Traceback" not in res.output
    res = runner.invoke(app, ["sql", "select count(*) as n from factor where geography_code = '500000'"])
    assert res.exit_code == 0 and "1 rows" in res.output


def test_status_release_list_and_diff_errors(full_build, monkeypatch):
    monkeypatch.setenv("PCF_CURATED_DIR", str(full_build["settings"].curated_dir))
    assert "raw rows" in runner.invoke(app, ["status"]).output
    assert "v0001" in runner.invoke(app, ["release", "list"]).output
    res = runner.invoke(app, ["diff", "v0001", "v9999"])
    assert res.exit_code == 2 and "not found" in res.output
    res = runner.invoke(app, ["diff", "v0001", "v0001"])
    assert res.exit_code == 0 and "changed: 0" in res.output


def test_build_options_travel_as_run_configuration_not_environment(tmp_path, sources_dir, monkeypatch):
    """Issue 19 (part): `pcf build --sources-dir/--gwp-set` never writes os.environ."""
    import json
    import os
    import re
    import shutil

    from typer.testing import CliRunner

    from pipelines.cli import app
    from pipelines.config import PROJECT_ROOT
    from pipelines.release.publish import latest_release

    code = "".join(p.read_text(encoding="utf-8") for p in (PROJECT_ROOT / "pipelines").rglob("*.py"))
    # no setting of ours is passed through the environment (GX's own analytics/progress knobs aside)
    assert not re.search(
        r"os\.environ\[[^\]]*PCF_[^\]]*\]\s*=|os\.environ\.(update|setdefault)\([^)]*PCF_|os\.putenv", code
    )
    small = tmp_path / "sources"
    shutil.copytree(sources_dir / "cn_mee_electricity_co2", small / "cn_mee_electricity_co2")
    monkeypatch.setenv("PCF_CURATED_DIR", str(tmp_path / "curated"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    before = {k: v for k, v in os.environ.items() if k.startswith("PCF_")}
    out = CliRunner().invoke(app, ["build", "--sources-dir", str(small), "--gwp-set", "ar5"])
    assert out.exit_code == 0, out.output
    assert {k: v for k, v in os.environ.items() if k.startswith("PCF_")} == before
    from pipelines.config import settings

    manifest = latest_release(settings())
    assert manifest["gwp_set"] == "AR5"
    # one build is one Dagster run of the warehouse (beside one partition run per upload file)
    import dagster as dg

    from pipelines.runs import BUILD_TAG

    instance = dg.DagsterInstance.from_config(str(tmp_path / "dagster_home"))
    assert len([r for r in instance.get_runs() if BUILD_TAG in (r.tags or {})]) == 1
    # `pcf runs` reads that run from Dagster's run storage: the figures the assets and checks reported
    listed = CliRunner().invoke(app, ["runs", "--json"])
    assert listed.exit_code == 0, listed.output
    runs = json.loads(listed.output)
    assert len(runs) == 1 and runs[0]["run"].startswith("build-") and runs[0]["status"] == "published"
    assert runs[0]["release"]["version"] == manifest["version"] and runs[0]["validation"]["gwp_set"] == "AR5"
    assert runs[0]["sources"]["cn_mee_electricity_co2"]["status"] == "loaded"
    assert {"raw_row_conservation", "release_guard", "marts_consistent"} <= {c["name"] for c in runs[0]["checks"]}
    assert {s["source_id"]: s["status"] for s in manifest["sources"]}["cn_mee_electricity_co2"] == "loaded"
