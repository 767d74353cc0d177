"""Read-only analyst SQL over a release, in the dialect the analyst knows.

A query is parsed with sqlglot in its dialect (duckdb, postgres, mysql, spark, trino); anything that is
not a single query (DDL, DML, ATTACH, COPY, PRAGMA, INSTALL, SET ...) is refused with a clear message, as
is any reference to the restricted zone (its views: uploads, current_*, history_*, inventory_*; a
restricted.duckdb or data/restricted path). The query is transpiled to DuckDB and runs on a read-only
connection to the catalogue whose file access is locked to the release files.

`emit` goes the other way: DuckDB SQL (a query, or a mart model in sql/marts/) to Spark, Trino or
Postgres, for a province that runs the same models on its own engine over the release Parquet files. The
marts are written in a portable subset (no QUALIFY, GROUP BY ALL, lambdas or struct literals) so that
the generated SQL runs there; tests check each target.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import duckdb
import polars as pl
import pyarrow as pa
import sqlglot
from sqlglot import exp

from pipelines.config import Settings
from pipelines.release.catalog import connect_readonly

DIALECTS = ("duckdb", "postgres", "mysql", "spark", "trino")
EMIT_DIALECTS = ("spark", "trino", "postgres", "duckdb")
RESTRICTED_TABLE = re.compile(
    r"^(uploads|registry|current_\w+|history_\w+|inventory_\w+|line_emissions|product_summary)$", re.IGNORECASE
)
# A path into the restricted zone (its directory or its catalogue file), not the English word in a string.
RESTRICTED_PATH = re.compile(r"(^|[/\\])restricted([/\\]|\.duckdb|$)|restricted\.duckdb", re.IGNORECASE)


class AnalystSqlError(ValueError):
    pass


def check_readonly(query: str, dialect: str = "duckdb") -> exp.Expression:
    if dialect not in DIALECTS:
        raise AnalystSqlError(f"dialect {dialect!r}: expected one of {', '.join(DIALECTS)}")
    try:
        statements = [s for s in sqlglot.parse(query, read=dialect) if s is not None]
    except sqlglot.errors.ParseError as exc:
        raise AnalystSqlError(f"cannot parse the query as {dialect} SQL: {exc}") from None
    if len(statements) != 1:
        raise AnalystSqlError(f"one statement at a time, got {len(statements)}")
    stmt = statements[0]
    if not isinstance(stmt, (exp.Select, exp.Union, exp.Intersect, exp.Except)) and not (
        isinstance(stmt, exp.With) or stmt.find(exp.Select) is stmt
    ):
        raise AnalystSqlError(f"only queries are allowed (read-only); refused a {stmt.key.upper()} statement")
    _refuse_restricted(stmt)
    return stmt


def _refuse_restricted(stmt: exp.Expression) -> None:
    # A CTE may not take a restricted table's name: inside its own body the name means the real table.
    for cte in stmt.find_all(exp.CTE):
        if RESTRICTED_TABLE.match(cte.alias_or_name or ""):
            raise AnalystSqlError(
                f"'{cte.alias_or_name}' names restricted enterprise data: choose another name for the CTE"
            )
    for table in stmt.find_all(exp.Table):
        name = table.name or ""
        if RESTRICTED_TABLE.match(name) or RESTRICTED_PATH.search(table.sql()):
            raise AnalystSqlError(
                f"'{table.sql()}' is restricted enterprise data: analysts query the releases "
                f"(factors and product marts), never the restricted zone"
            )
    for literal in stmt.find_all(exp.Literal):
        if literal.is_string and RESTRICTED_PATH.search(literal.this or ""):
            raise AnalystSqlError(f"'{literal.this}' points into the restricted zone: refused")


def to_duckdb(query: str, dialect: str) -> str:
    stmt = check_readonly(query, dialect)
    return stmt.sql(dialect="duckdb") if dialect != "duckdb" else query


@dataclass(frozen=True)
class Limits:
    """What one analyst query may use (settings, read when a query runs)."""

    timeout_seconds: float = 30.0  # PCF_SQL_TIMEOUT_SECONDS: the statement is interrupted after this
    memory_limit: str = "2GB"  # PCF_SQL_MEMORY_LIMIT: DuckDB's memory_limit for the session
    max_rows: int = 100_000  # PCF_SQL_MAX_ROWS: rows returned at most (the rest is not fetched)

    @staticmethod
    def from_env() -> "Limits":
        from pipelines.config import settings

        s = settings()
        return Limits(s.sql_timeout_seconds, s.sql_memory_limit, s.sql_max_rows)


@dataclass
class QueryResult:
    frame: pl.DataFrame
    truncated: bool  # more rows than limits.max_rows: only the first max_rows were fetched
    limits: Limits


def run_readonly(settings: Settings, query: str, release: str | None = None, dialect: str = "duckdb") -> pl.DataFrame:
    return run_query(settings, query, release, dialect).frame


def run_query(
    settings: Settings, query: str, release: str | None = None, dialect: str = "duckdb", limits: Limits | None = None
) -> QueryResult:
    """One read-only query under a statement timeout, a memory limit and a row cap."""
    from pipelines.release.catalog import ensure_catalog

    limits = limits or Limits.from_env()
    sql = to_duckdb(query, dialect)
    if settings.releases_dir.exists():
        ensure_catalog(settings)  # `latest` is the release the manifests (and pcf status) name
    con = connect_readonly(settings, memory_limit=limits.memory_limit)
    timer = threading.Timer(limits.timeout_seconds, con.interrupt)
    try:
        schema = release or "latest"
        schemas = {r[0] for r in con.execute("select schema_name from information_schema.schemata").fetchall()}
        if schema not in schemas:
            raise AnalystSqlError(
                f"release {schema!r} not in the catalogue; known: {', '.join(sorted(s for s in schemas if s.startswith('v') or s == 'latest'))}"
            )
        con.execute(f"set schema = '{schema}'")
        timer.start()
        reader = con.execute(sql).fetch_record_batch(min(limits.max_rows + 1, 100_000))
        batches, rows = [], 0
        for batch in reader:
            batches.append(batch)
            rows += batch.num_rows
            if rows > limits.max_rows:
                break
        table = pa.Table.from_batches(batches, schema=reader.schema)
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        return QueryResult(frame.head(limits.max_rows), rows > limits.max_rows, limits)
    except duckdb.InterruptException:
        raise AnalystSqlError(
            f"query stopped after {limits.timeout_seconds:g} s (PCF_SQL_TIMEOUT_SECONDS): narrow it "
            f"with WHERE or LIMIT, or aggregate"
        ) from None
    except duckdb.OutOfMemoryException as exc:
        raise AnalystSqlError(
            f"query needs more than {limits.memory_limit} of memory (PCF_SQL_MEMORY_LIMIT): narrow or "
            f"aggregate it ({str(exc).splitlines()[0]})"
        ) from None
    except duckdb.Error as exc:
        hint = f" (transpiled from {dialect}: {sql})" if dialect != "duckdb" else ""
        raise AnalystSqlError(f"query failed: {exc}{hint}") from None
    finally:
        timer.cancel()
        con.close()


def emit(query: str, target: str) -> str:
    """DuckDB SQL -> the target engine's SQL (pretty), refusing what would not be read-only."""
    if target not in EMIT_DIALECTS:
        raise AnalystSqlError(f"--emit {target!r}: expected one of {', '.join(EMIT_DIALECTS)}")
    stmt = check_readonly(query, "duckdb")
    return stmt.sql(dialect=target, pretty=True)


def example_queries() -> list[tuple[str, str, str]]:
    """sql/examples/*.sql -> (name, dialect, query); the dialect is in a '-- dialect: X' header line."""
    from pipelines.config import SQL_DIR

    out = []
    for path in sorted((SQL_DIR / "examples").glob("*.sql")):
        text = path.read_text(encoding="utf-8")
        m = re.search(r"^--\s*dialect:\s*(\w+)", text, re.MULTILINE)
        out.append((path.stem, m.group(1) if m else "duckdb", text))
    return out
