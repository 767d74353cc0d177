"""The `pcf` command line never ends in a traceback on bad input."""

from typer.testing import CliRunner

from pipelines.cli import app

runner = CliRunner()


def test_sql_refuses_writes_and_runs_queries(full_build, monkeypatch):
    monkeypatch.setenv("PCF_CURATED_DIR", str(full_build["settings"].curated_dir))
    for statement in ("drop table factor", "insert into factor values (1)", "attach 'x.db'", "copy factor to 'x.csv'",
                      "pragma version", "install httpfs"):
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
