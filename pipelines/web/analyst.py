"""The analyst's read-only SQL console on the public release tables: the same guard, limits and catalogue
as `pcf sql` (pipelines/release/analyst_sql.py: one statement, SELECT only, no restricted schema, no file or
extension access, a timeout, a memory limit and a row cap). Results as a table and as CSV or Parquet.
Stewards may use it too."""

from __future__ import annotations

import io

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from pipelines.release.analyst_sql import AnalystSqlError, example_queries, run_query
from pipelines.web import audit
from pipelines.web.core import address, form, page, platform, require

router = APIRouter()
SHOWN_ROWS = 500
ROLES = ("analyst", "steward")


@router.get("/analyst/sql", response_class=HTMLResponse)
def console(request: Request, example: str = ""):
    require(request, *ROLES)
    examples = example_queries()
    query = next((q for name, _d, q in examples if name == example), "select * from factor limit 20")
    dialect = next((d for name, d, _q in examples if name == example), "duckdb")
    return page(request, "analyst/sql.html", examples=examples, query=query, dialect=dialect, result=None, error=None)


def _run(request: Request, query: str, dialect: str):
    s = platform(request).settings()
    return run_query(s, query, dialect=dialect)


def _refused(request: Request, query: str, dialect: str, exc: AnalystSqlError):
    """The console again with the guard's or DuckDB's message (400)."""
    return page(
        request,
        "analyst/sql.html",
        status_code=400,
        examples=example_queries(),
        query=query,
        dialect=dialect,
        result=None,
        error=str(exc),
    )


@router.post("/analyst/sql", response_class=HTMLResponse)
async def run(request: Request):
    user = require(request, *ROLES)
    f = await form(request)
    query, dialect = str(f.get("query") or "")[:20_000], str(f.get("dialect") or "duckdb")
    s = platform(request).settings()
    audit.record(s, user.name, "sql", address(request), query=query[:2000], dialect=dialect)
    try:
        result = _run(request, query, dialect)
    except AnalystSqlError as exc:
        return _refused(request, query, dialect, exc)
    frame = result.frame
    return page(
        request,
        "analyst/sql.html",
        examples=example_queries(),
        query=query,
        dialect=dialect,
        error=None,
        result={
            "columns": frame.columns,
            "rows": frame.head(SHOWN_ROWS).rows(),
            "count": frame.height,
            "truncated": result.truncated,
        },
    )


@router.post("/analyst/sql/download")
async def download(request: Request):
    user = require(request, *ROLES)
    f = await form(request)
    query, dialect = str(f.get("query") or "")[:20_000], str(f.get("dialect") or "duckdb")
    fmt = str(f.get("format") or "csv")
    s = platform(request).settings()
    audit.record(s, user.name, "sql.download", address(request), query=query[:2000], format=fmt)
    try:
        frame = _run(request, query, dialect).frame
    except AnalystSqlError as exc:
        return _refused(request, query, dialect, exc)
    buf = io.BytesIO()
    if fmt == "parquet":
        frame.write_parquet(buf)
        media, name = "application/vnd.apache.parquet", "result.parquet"
    else:
        from pipelines.exports.spreadsheet import neutralise

        neutralise(frame).write_csv(buf)  # cells that a spreadsheet would run as formulas are made inert
        media, name = "text/csv; charset=utf-8", "result.csv"
    return Response(buf.getvalue(), media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})
