"""An enterprise user's pages: its uploads and their quarantined lines, the upload form, lines awaiting a
steward's mapping, its products' footprints, and its own report, label and PACT document.

Tenancy: every lookup is narrowed to the user's credit code (`user.enterprise`) before anything is matched
against the id in the address; another enterprise's upload or product is "not found" (404), the same answer
as an id that does not exist. An upload that names another credit code is refused before it is stored.
"""

from __future__ import annotations

import json
import tempfile
from collections import OrderedDict
from pathlib import Path

import polars as pl
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from pipelines.enterprise import store
from pipelines.release.manifests import latest_release, read_table
from pipelines.web import audit
from pipelines.web.accounts import User
from pipelines.web.core import address, form, lang_of, page, platform, redirect, require, svg_bars

router = APIRouter()
SUFFIXES = (".xlsx", ".csv")


def my_uploads(s, user: User) -> list[dict]:
    """The user's enterprise's uploads, newest first, each marked in force or superseded."""
    current = {e["upload_id"] for e in store.current_uploads(s)}
    withdrawn = store.withdrawn(s)
    mine = [dict(e) for e in store.registry(s) if e.get("uscc") == user.enterprise]
    for e in mine:
        e["in_force"] = e["upload_id"] in current
        e["withdrawn"] = e["upload_id"] in withdrawn
    return sorted(mine, key=lambda e: e["seq"], reverse=True)


def my_products(s, user: User) -> tuple[str | None, pl.DataFrame]:
    latest = latest_release(s)
    if latest is None or "product_footprint" not in latest["tables"]:
        return None, pl.DataFrame()
    fp = read_table(s, latest["version"], "product_footprint").filter(pl.col("uscc") == user.enterprise)
    return latest["version"], fp.sort("product_id")


def my_product(s, user: User, name: str) -> tuple[str, dict]:
    """(release, footprint row) of the user's product whose page name is `name`; 404 otherwise."""
    from pipelines.reporting.data import slug

    version, fp = my_products(s, user)
    for row in fp.iter_rows(named=True):
        if slug(row["product_key"]) == name:
            return version, row  # type: ignore[return-value]
    raise HTTPException(404)


def my_mappings(s, user: User) -> list[dict]:
    path = s.restricted_dir / "inventory" / "mapping_queue.parquet"
    if not path.exists():
        return []
    q = pl.read_parquet(path).filter(pl.col("uscc") == user.enterprise)
    out = []
    for r in q.iter_rows(named=True):
        r["candidates"] = json.loads(r.get("candidates") or "[]")
        out.append(r)
    return out


@router.get("/enterprise", response_class=HTMLResponse)
def dashboard(request: Request):
    user = require(request, "enterprise")
    s = platform(request).settings()
    version, products = my_products(s, user)
    from pipelines.reporting.data import slug

    return page(
        request,
        "enterprise/dashboard.html",
        uploads=my_uploads(s, user),
        version=version,
        products=[{**r, "page": slug(r["product_key"])} for r in products.iter_rows(named=True)],
        mappings=len(my_mappings(s, user)),
        max_mb=s.web_max_upload_mb,
    )


@router.get("/enterprise/template.xlsx")
def template(request: Request):
    require(request, "enterprise")
    from pipelines.enterprise.template import write_template

    with tempfile.TemporaryDirectory() as tmp:
        data = write_template(Path(tmp) / "template.xlsx").read_bytes()
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="pcf-collection-template.xlsx"'},
    )


@router.post("/enterprise/upload", response_class=HTMLResponse)
async def upload(request: Request):
    """Size-limited, checked by the intake before anything is stored, bound to the user's credit code; then
    kept in raw, ingested through its Dagster partition, and a rebuild requested."""
    user = require(request, "enterprise")
    p = platform(request)
    s = p.settings()
    limit = int(s.web_max_upload_mb * 1024 * 1024)
    f = await form(request, max_size=limit + 64 * 1024)
    file = f.get("file")
    where = address(request)
    if file is None or not hasattr(file, "read") or not getattr(file, "filename", None):
        return page(request, "enterprise/upload_result.html", status_code=400, problem="bad_type", issues=[])
    original = Path(str(file.filename)).name
    suffix = Path(original).suffix.lower()
    if suffix not in SUFFIXES:
        audit.record(s, user.name, "upload.refused", where, file=original[:200], why="type")
        return page(request, "enterprise/upload_result.html", status_code=400, problem="bad_type", issues=[])
    data = await file.read(limit + 1)
    if len(data) > limit:
        audit.record(s, user.name, "upload.refused", where, file=original[:200], why="size")
        return page(request, "enterprise/upload_result.html", status_code=413, problem="too_large", issues=[])
    from pipelines.enterprise.submit import keep_raw, materialise_upload, precheck
    from pipelines.reporting.data import safe_name

    incoming = s.restricted_dir / "web" / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=incoming) as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        checked = precheck(path)
        if checked.status == "rejected" and checked.uscc is None:  # nothing attributable: shown, not stored
            audit.record(s, user.name, "upload.rejected", where, file=original[:200], issues=len(checked.quarantine))
            return page(
                request,
                "enterprise/upload_result.html",
                status_code=422,
                problem="not_stored",
                issues=[i.__dict__ for i in [*checked.quarantine, *checked.notices]],
            )
        if checked.uscc != user.enterprise:
            audit.record(s, user.name, "upload.refused", where, file=original[:200], why="other enterprise")
            return page(
                request, "enterprise/upload_result.html", status_code=403, problem="other_enterprise", issues=[]
            )
        stem = safe_name(Path(original).stem)[:80] or "upload"
        kept = keep_raw(s, path, folder=f"web/{user.enterprise}", name=f"{stem}{suffix}")
    from pipelines.runs import instance

    materialise_upload(kept, instance(s))
    from pipelines.enterprise.intake import ingest_upload

    result = ingest_upload(kept, s)  # ingested by the partition above: reads the stored outcome
    ticket = p.builds.request(f"upload {result.upload_id}")
    audit.record(
        s,
        user.name,
        "upload",
        where,
        upload_id=result.upload_id,
        file=original[:200],
        status=result.status,
        quarantined=len(result.quarantine),
        build=ticket.build_id,
    )
    return redirect(f"/enterprise/uploads/{result.upload_id}?build={ticket.build_id}")


@router.get("/enterprise/uploads/{upload_id}", response_class=HTMLResponse)
def upload_page(request: Request, upload_id: str, build: str = ""):
    user = require(request, "enterprise")
    s = platform(request).settings()
    entry = next((e for e in my_uploads(s, user) if e["upload_id"] == upload_id), None)
    if entry is None:
        raise HTTPException(404)
    q_path = store.upload_dir(s, upload_id) / "quarantine.parquet"
    issues = pl.read_parquet(q_path).sort("severity", "sheet", "row").to_dicts() if q_path.exists() else []
    ticket = platform(request).builds.get(build) if build else None
    return page(request, "enterprise/upload.html", entry=entry, issues=issues, ticket=ticket)


@router.get("/enterprise/mappings", response_class=HTMLResponse)
def mappings(request: Request):
    user = require(request, "enterprise")
    return page(request, "enterprise/mappings.html", rows=my_mappings(platform(request).settings(), user))


@router.get("/enterprise/products/{name}", response_class=HTMLResponse)
def product(request: Request, name: str):
    user = require(request, "enterprise")
    s = platform(request).settings()
    version, row = my_product(s, user, name)

    lang = lang_of(request)
    parts = _product_parts(request, s, version, row, lang)
    return page(
        request,
        "enterprise/product.html",
        fp=row,
        name=name,
        version=version,
        **parts,
    )


@router.get("/enterprise/products/{name}/report.pdf")
def report_pdf(request: Request, name: str, lang: str = "zh"):
    user = require(request, "enterprise")
    s = platform(request).settings()
    version, row = my_product(s, user, name)
    from pipelines.reporting.report import write_report

    if lang not in ("zh", "en"):
        raise HTTPException(404)
    with tempfile.TemporaryDirectory() as tmp:
        out = write_report(s, row["product_key"], lang, Path(tmp))
        data = Path(out["pdf"]).read_bytes()
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}.{lang}.pdf"'},
    )


@router.get("/enterprise/products/{name}/label.{kind}")
def label(request: Request, name: str, kind: str):
    user = require(request, "enterprise")
    s = platform(request).settings()
    version, row = my_product(s, user, name)
    if kind not in ("svg", "png"):
        raise HTTPException(404)
    from pipelines.reporting.label import LabelRefused, write_label

    try:
        with tempfile.TemporaryDirectory() as tmp:
            out = write_label(s, row["product_key"], Path(tmp), version)
            data = Path(out[kind]).read_bytes()
    except LabelRefused as exc:
        return page(request, "error.html", status_code=409, message_key=str(exc), code=409)
    return Response(
        data,
        media_type="image/svg+xml" if kind == "svg" else "image/png",
        headers={"Content-Disposition": f'attachment; filename="{name}.label.{kind}"'},
    )


@router.get("/enterprise/products/{name}/pact.json")
def pact_document(request: Request, name: str, spec: str = "2.3"):
    user = require(request, "enterprise")
    s = platform(request).settings()
    version, row = my_product(s, user, name)
    from pipelines.pact.documents import PactDocumentError, document

    if spec not in ("2.3", "3.0"):
        raise HTTPException(404)
    try:
        doc = document(s, version, row["product_key"], spec)
    except PactDocumentError as exc:
        return JSONResponse({"error": str(exc)}, status_code=409)
    return JSONResponse(doc, headers={"Content-Disposition": f'attachment; filename="{name}.pact-{spec}.json"'})


@router.get("/builds/{build_id}.json")
def build_status(request: Request, build_id: str):
    """A build's progress for the page that requested it (any logged-in user: states and counts only)."""
    require(request, "enterprise", "steward")
    t = platform(request).builds.get(build_id)
    if t is None:
        raise HTTPException(404)
    from pipelines.definitions import warehouse_assets

    total = len(warehouse_assets) - 1  # the job's assets (the upload partition asset is not in it), as `pcf build`
    return JSONResponse(
        {
            "state": t.state,
            "steps_done": total if t.state == "succeeded" else min(t.steps_done, total),
            "steps_total": total,
            "release_before": t.release_before,
            "release_after": t.release_after,
        }
    )


def _product_parts(request: Request, s, version: str, row: dict, lang: str) -> dict:
    """The charts and report body of one product in one release and language: rendered once, kept in this
    process (keyed by release, product and language, so a new release renders afresh). Only ever handed out
    after the tenancy check of the route."""
    cache = request.app.state.__dict__.setdefault("_product_parts", OrderedDict())
    key = (version, row["product_key"], lang)
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    import base64

    from pipelines.common.templating import Markup, render
    from pipelines.reporting.data import enterprise_part, public_part
    from pipelines.reporting.labels import STAGE_NAMES
    from pipelines.reporting.report import build_blocks

    d = enterprise_part(s, public_part(s, version, row["product_key"]))
    unit = f"kg CO2e/{row['declared_unit']}"
    names = STAGE_NAMES[lang]
    stages = svg_bars([(names.get(st, st), v) for st, v in d.stages.select("stage", "co2e_kg").rows()], unit)
    gases = svg_bars([(str(g), v) for g, v in d.gases.select("gas", "co2e_kg").rows()], unit)
    total = float(row["co2e_kg"] or 0.0)
    top = (
        d.contributions.sort("share", descending=True)
        .head(10)
        .select((pl.col("line_id") + " " + pl.col("factor_name").fill_null("")).alias("label"), "share")
        .rows()
    )
    top = [(label, share * total) for label, share in top]
    contributions = svg_bars([(str(a), b) for a, b in top], unit)
    blocks = build_blocks(d, lang)
    images = [base64.b64encode(b.content[0]).decode() if b.kind == "image" else "" for b in blocks]
    report_body = Markup(render("report_body.html", blocks=blocks, images=images))  # autoescaped template
    parts = {
        "stages_svg": stages,
        "gases_svg": gases,
        "contributions_svg": contributions,
        "report_body": report_body,
    }
    cache[key] = parts
    while len(cache) > 500:
        cache.popitem(last=False)
    return parts
