"""Read-only analyst SQL over a release. Statements are parsed with sqlglot first: anything that is not
a single query (DDL, DML, ATTACH, COPY, PRAGMA, INSTALL, SET ...) is refused with a clear message, then
the query runs on a read-only DuckDB connection to the catalogue."""

from __future__ import annotations

import duckdb
import polars as pl
import sqlglot
from sqlglot import exp

from pipelines.catalog import connect_readonly
from pipelines.config import Settings


class AnalystSqlError(ValueError):
    pass


def check_readonly(query: str, dialect: str = "duckdb") -> exp.Expression:
    try:
        statements = [s for s in sqlglot.parse(query, read=dialect) if s is not None]
    except sqlglot.errors.ParseError as exc:
        raise AnalystSqlError(f"cannot parse the query as {dialect} SQL: {exc}") from None
    if len(statements) != 1:
        raise AnalystSqlError(f"one statement at a time, got {len(statements)}")
    stmt = statements[0]
    if not isinstance(stmt, (exp.Select, exp.Union, exp.Intersect, exp.Except)) and not (
            isinstance(stmt, exp.With) or stmt.find(exp.Select) is stmt):
        raise AnalystSqlError(f"only queries are allowed (read-only); refused a {stmt.key.upper()} statement")
    return stmt


def run_readonly(settings: Settings, query: str, release: str | None = None) -> pl.DataFrame:
    check_readonly(query)
    con = connect_readonly(settings)
    try:
        schema = release or "latest"
        schemas = {r[0] for r in con.execute("select schema_name from information_schema.schemata").fetchall()}
        if schema not in schemas:
            raise AnalystSqlError(f"release {schema!r} not in the catalogue; known: {', '.join(sorted(s for s in schemas if s.startswith('v') or s == 'latest'))}")
        con.execute(f"set schema = '{schema}'")
        return con.execute(query).pl()
    except duckdb.Error as exc:
        raise AnalystSqlError(f"query failed: {exc}") from None
    finally:
        con.close()
