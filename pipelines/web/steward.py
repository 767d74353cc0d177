"""A data steward's pages: the review queue (filters; old, new and other sources' values side by side;
approve, reject, deprecate one factor or a selection; override with value, source and reason), changes the
release guard holds (mass-change approvals), the mapping queue, releases and their diff, run history with
failed checks, the audit log, and a rebuild button. Decisions go through pipelines/curation/actions.py, the
functions `pcf approve|reject|deprecate|override` call; mappings through pipelines/matching/mappings.py
(`pcf map`); then a rebuild is requested (a Dagster run in a child process, never in the request).
A certifier's page lists the certification cases (`pcf cert` records the steps).
"""

from __future__ import annotations

import json

import polars as pl
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from pipelines.curation.decisions import DecisionError
from pipelines.curation.queue import narrow
from pipelines.web import audit
from pipelines.web.core import address, form, page, platform, redirect, require

router = APIRouter()
QUEUE_PAGE = 200


def _queue(s) -> pl.DataFrame:
    path = s.curated_dir / "review" / "queue.parquet"
    return pl.read_parquet(path) if path.exists() else pl.DataFrame()


@router.get("/steward", response_class=HTMLResponse)
def queue(
    request: Request,
    source: str = "",
    flag: str = "",
    status: str = "",
    geography: str = "",
    q: str = "",
    page_no: int = 0,
):
    require(request, "steward")
    s = platform(request).settings()
    full = _queue(s)
    shown = narrow(full, source, flag, status, geography, q[:200])
    page_no = max(0, page_no)
    facets = {
        c: sorted(str(x) for x in full[c].drop_nulls().unique().to_list())[:300] if full.height else []
        for c in ("source_id", "steward_status", "geography_code")
    }
    flags = sorted({f for fl in (full["flags"].to_list() if full.height else []) for f in (fl or "").split(",") if f})
    from pipelines.curation.actions import held_changes

    return page(
        request,
        "steward/queue.html",
        total=shown.height,
        rows=shown.slice(page_no * QUEUE_PAGE, QUEUE_PAGE).to_dicts(),
        f={"source": source, "flag": flag, "status": status, "geography": geography, "q": q},
        facets=facets,
        flags=flags,
        page_no=page_no,
        page_rows=QUEUE_PAGE,
        held=[c for c in held_changes(s) if c.get("held")],
    )


@router.get("/steward/factors/{factor_id}", response_class=HTMLResponse)
def factor(request: Request, factor_id: str):
    require(request, "steward")
    s = platform(request).settings()
    q = _queue(s)
    row = q.filter(pl.col("factor_id") == factor_id).to_dicts() if q.height else []
    from pipelines.release.manifests import latest_release, read_table

    latest = latest_release(s)
    fac = (
        read_table(s, latest["version"], "factor").filter(pl.col("factor_id") == factor_id).to_dicts() if latest else []
    )
    if not row and not fac:
        raise HTTPException(404)
    return page(request, "steward/factor.html", item=row[0] if row else None, factor=fac[0] if fac else None)


@router.post("/steward/decide")
async def decide(request: Request):
    user = require(request, "steward")
    p = platform(request)
    s = p.settings()
    f = await form(request)
    action = str(f.get("action") or "")
    ids = [str(x) for x in f["_form"].getlist("factor_id")][:100_000]
    reason = str(f.get("reason") or "").strip()
    value = f.get("value")
    from pipelines.curation.actions import decide as record

    try:
        written = record(
            s,
            action,
            ids,
            reason,
            user.name,
            float(value) if action == "override" and value not in (None, "") else None,
            str(f.get("unit") or "") or None,
            str(f.get("source") or "") or None,
        )
    except (DecisionError, ValueError) as exc:
        return page(request, "steward/result.html", status_code=400, error=str(exc), written=[], ticket=None)
    ticket = p.builds.request(f"{action} {len(written)} factor(s) by {user.name}")
    audit.record(
        s,
        user.name,
        f"decision.{action}",
        address(request),
        factors=len(written),
        first=ids[:5],
        reason=reason,
        build=ticket.build_id,
    )
    return redirect(f"/builds/{ticket.build_id}")  # POST-redirect-GET: the progress page can reload itself


@router.post("/steward/changes/decide")
async def decide_change(request: Request):
    user = require(request, "steward")
    p = platform(request)
    s = p.settings()
    f = await form(request)
    from pipelines.curation.actions import decide_change as record

    try:
        d, item = record(
            s, str(f.get("action") or ""), str(f.get("source_id") or ""), str(f.get("reason") or ""), user.name
        )
    except DecisionError as exc:
        return page(request, "steward/result.html", status_code=400, error=str(exc), written=[], ticket=None)
    ticket = p.builds.request(f"{d.action} held change {d.factor_id} by {user.name}")
    audit.record(
        s, user.name, f"change.{d.action}", address(request), change=d.factor_id, reason=d.reason, build=ticket.build_id
    )
    return redirect(f"/builds/{ticket.build_id}")


@router.get("/steward/mappings", response_class=HTMLResponse)
def mappings(request: Request):
    require(request, "steward")
    s = platform(request).settings()
    path = s.restricted_dir / "inventory" / "mapping_queue.parquet"
    rows = []
    if path.exists():
        for r in pl.read_parquet(path).iter_rows(named=True):
            r["candidates"] = json.loads(r.get("candidates") or "[]")
            rows.append(r)
    from pipelines.matching import mappings as log

    return page(request, "steward/mappings.html", rows=rows, confirmed=list(log.read(s).values()))


@router.post("/steward/map")
async def map_line(request: Request):
    user = require(request, "steward")
    p = platform(request)
    s = p.settings()
    f = await form(request)
    from pipelines.matching import mappings as log

    uscc, text, unit = str(f.get("uscc") or ""), str(f.get("text") or ""), str(f.get("unit") or "")
    factor_id, reason = str(f.get("factor_id") or "").strip(), str(f.get("reason") or "")
    try:
        log.confirm(s, uscc, text, unit, factor_id, user.name, reason)
    except (log.MappingError, FileNotFoundError) as exc:
        return page(request, "steward/result.html", status_code=400, error=str(exc), written=[], ticket=None)
    ticket = p.builds.request(f"mapping by {user.name}")
    audit.record(
        s,
        user.name,
        "mapping",
        address(request),
        uscc=uscc,
        text=text[:200],
        unit=unit,
        factor=factor_id,
        reason=reason,
        build=ticket.build_id,
    )
    return redirect(f"/builds/{ticket.build_id}")


@router.get("/steward/releases", response_class=HTMLResponse)
def releases(request: Request):
    require(request, "steward")
    from pipelines.release.manifests import list_releases

    rel = list(reversed(list_releases(platform(request).settings())))
    return page(request, "steward/releases.html", releases=rel)


@router.get("/steward/releases/diff", response_class=HTMLResponse)
def release_diff(request: Request, old: str, new: str):
    require(request, "steward")
    s = platform(request).settings()
    from pipelines.release.manifests import list_releases
    from pipelines.release.publish import diff

    known = {m["version"] for m in list_releases(s)}
    if old not in known or new not in known:
        raise HTTPException(404)
    parts = diff(s, old, new)
    return page(
        request,
        "steward/diff.html",
        old=old,
        new=new,
        parts={k: (v.height, v.head(200).to_dicts(), v.columns) for k, v in parts.items()},
    )


@router.get("/steward/runs", response_class=HTMLResponse)
def runs(request: Request):
    require(request, "steward")
    p = platform(request)
    from pipelines.runs import instance, list_runs

    history = list_runs(instance(p.settings()), last=30)
    return page(request, "steward/runs.html", runs=history, tickets=p.builds.tickets()[:20])


@router.post("/steward/build")
async def start_build(request: Request):
    user = require(request, "steward")
    p = platform(request)
    await form(request)
    ticket = p.builds.request(f"requested by {user.name}")
    audit.record(p.settings(), user.name, "build.request", address(request), build=ticket.build_id)
    return redirect(f"/builds/{ticket.build_id}")


@router.get("/steward/audit", response_class=HTMLResponse)
def audit_log(request: Request):
    require(request, "steward")
    return page(request, "steward/audit.html", entries=list(reversed(audit.read(platform(request).settings(), 300))))


@router.get("/builds/{build_id}", response_class=HTMLResponse)
def build_page(request: Request, build_id: str):
    require(request, "steward", "enterprise")
    p = platform(request)
    t = p.builds.get(build_id)
    if t is None:
        raise HTTPException(404)
    user = request.state.session.user
    tail = p.builds.log_tail(build_id) if user.role == "steward" else ""  # the log names other enterprises' files
    return page(request, "build.html", ticket=t, log_tail=tail)


@router.get("/certifier", response_class=HTMLResponse)
def certifier(request: Request):
    require(request, "certifier")
    from pipelines.certification.workflow import applications

    apps = applications(platform(request).settings())
    return page(request, "certifier.html", apps=sorted(apps.values(), key=lambda a: a.app_id))
