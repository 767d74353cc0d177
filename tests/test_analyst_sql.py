"""Analyst SQL across dialects: the documented examples in sql/examples/ each run on a real release; other
dialects are transpiled to DuckDB with the same answers; writes and the restricted zone are refused;
the marts emitted for Spark, Trino and Postgres carry no construct those engines lack and give the same
rows when read back."""

from __future__ import annotations

import duckdb
import pytest
import sqlglot

from pipelines.common.sqlmodels import model_path
from pipelines.engine.marts import MARTS
from pipelines.release.analyst_sql import AnalystSqlError, check_readonly, emit, example_queries, run_readonly


@pytest.fixture(scope="module")
def s(marts_release):
    return marts_release["settings"]


@pytest.mark.parametrize("name, dialect, query", example_queries(), ids=[e[0] for e in example_queries()])
def test_every_documented_example_runs(s, name, dialect, query):
    frame = run_readonly(s, query, dialect=dialect)
    assert frame.height > 0, name
    assert query.startswith(f"-- dialect: {dialect}")


def test_there_are_examples_in_every_dialect():
    assert {d for _, d, _ in example_queries()} == {"duckdb", "postgres", "trino", "spark", "mysql"}


@pytest.mark.parametrize(
    "dialect, query",
    [
        ("postgres", "SELECT COUNT(*)::int AS n FROM factor WHERE name_en ILIKE '%diesel%'"),
        ("mysql", "SELECT COUNT(*) AS n FROM factor WHERE LOWER(name_en) LIKE '%diesel%'"),
        ("spark", "SELECT COUNT(*) AS n FROM factor WHERE name_en ILIKE '%diesel%'"),
        ("trino", "SELECT COUNT(*) AS n FROM factor WHERE LOWER(name_en) LIKE '%diesel%'"),
    ],
)
def test_other_dialects_give_the_same_answer(s, dialect, query):
    expected = run_readonly(s, "select count(*) as n from factor where lower(name_en) like '%diesel%'")["n"][0]
    assert expected > 10
    assert run_readonly(s, query, dialect=dialect)["n"][0] == expected


@pytest.mark.parametrize(
    "query, words",
    [
        ("drop table factor", "only queries"),
        ("insert into factor select * from factor", "only queries"),
        ("attach 'x.duckdb'", "only queries"),
        ("copy factor to 'x.csv'", "only queries"),
        ("pragma version", "only queries"),
        ("install httpfs", "only queries"),
        ("select 1; select 2", "one statement"),
        ("select * from inventory_line_emissions", "restricted enterprise data"),
        ("select * from current_activity", "restricted enterprise data"),
        ("with x as (select * from uploads) select * from x", "restricted enterprise data"),
        ("select * from read_parquet('data/restricted/inventory/line_emissions.parquet')", "restricted zone"),
        ("select * from '/srv/pcf/restricted/restricted.duckdb'", "restricted"),
        # a CTE named like a restricted table would read the real table inside its own body
        (
            "with current_activity as (select * from current_activity) select * from current_activity",
            "names restricted",
        ),
        ("with inventory_line_emissions as (select 1 as x) select * from inventory_line_emissions", "names restricted"),
    ],
)
def test_writes_and_restricted_data_are_refused(s, query, words):
    with pytest.raises(AnalystSqlError, match=words):
        run_readonly(s, query)


def test_restricted_refusal_holds_in_every_dialect():
    for dialect in ("postgres", "mysql", "spark", "trino"):
        with pytest.raises(AnalystSqlError, match="restricted"):
            check_readonly("SELECT * FROM inventory_product_summary", dialect)
        with pytest.raises(AnalystSqlError, match="only queries"):
            check_readonly("DELETE FROM factor", dialect)


@pytest.mark.parametrize("target", ["spark", "trino", "postgres"])
@pytest.mark.parametrize("mart", MARTS)
def test_marts_emit_portable_sql_that_reads_back_the_same(marts_release, target, mart):
    source = model_path(f"marts/{mart}").read_text(encoding="utf-8")
    emitted = emit(source, target)
    upper = emitted.upper()
    assert "QUALIFY" not in upper and "GROUP BY ALL" not in upper and "->" not in emitted
    sqlglot.parse_one(emitted, read=target)  # valid in the target's own grammar
    # executed: back to DuckDB from the target's text, on the engine's tables -> the mart's rows
    back = sqlglot.transpile(emitted, read=target, write="duckdb")[0]
    con = duckdb.connect()
    tables = {k: v for k, v in marts_release["engine"].items() if k.startswith("engine_")}
    tables["product_footprint"] = marts_release["marts"]["product_footprint"]
    for name, frame in tables.items():
        con.register(name, frame.to_arrow())
    got = con.execute(back).pl()
    assert got.equals(marts_release["marts"][mart]), (mart, target, back)


def test_the_word_restricted_in_a_string_is_not_refused(s):
    frame = run_readonly(s, "select count(*) as n from factor where name_en <> 'restricted access'")
    assert frame["n"][0] > 0


def test_analyst_queries_have_a_timeout_a_memory_limit_and_a_row_cap(s):
    from pipelines.release.analyst_sql import Limits, run_query

    small = Limits(timeout_seconds=1.0, memory_limit="200MB", max_rows=1000)
    with pytest.raises(AnalystSqlError, match="stopped after 1 s"):
        run_query(s, "select count(*) from range(100000000) a, range(100000000) b", limits=small)
    with pytest.raises(AnalystSqlError, match="more than 200MB"):
        run_query(s, "select len(list(i)) from range(100000000) t(i)", limits=small)
    capped = run_query(s, "select * from factor", limits=small)
    assert capped.truncated and capped.frame.height == 1000
    whole = run_query(s, "select * from factor limit 10", limits=small)
    assert not whole.truncated and whole.frame.height == 10
