"""Public pages (no login): home, factor catalogue search, product disclosure pages (the pages `pcf site`
writes, rendered live from the current release by the same functions), login, logout, language.

Only published, public data: the national package's selection of factors (approved, redistributable:
pipelines/exports/national.py `approved_factors`) and the product marts' public part. Nothing here reads the
restricted zone except the certification status the label shows.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict

import polars as pl
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from pipelines.release.manifests import latest_release
from pipelines.reporting.site import CATALOGUE_COLUMNS
from pipelines.web import audit
from pipelines.web.accounts import authenticate
from pipelines.web.core import address, form, page, platform, redirect, safe_next
from pipelines.web.security import COOKIE, is_https, is_loopback

router = APIRouter()
PAGE_ROWS = 100


class ReleaseCache:
    """What the public pages read, once per release (a new release replaces it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.version: str | None = None
        self.factors: pl.DataFrame | None = None
        self.pages: OrderedDict[str, str] = OrderedDict()
        self.slugs: dict[str, str] | None = None
        self.facets: dict[str, list[str]] | None = None

    def current(self, s) -> str | None:
        latest = latest_release(s)
        version = latest["version"] if latest else None
        with self._lock:
            if version != self.version:
                self.version, self.factors, self.slugs, self.facets = version, None, None, None
                self.pages.clear()
        return version

    def catalogue(self, s) -> pl.DataFrame:
        version = self.current(s)
        if version is None:
            return pl.DataFrame()
        with self._lock:
            if self.factors is None:
                from pipelines.exports.national import approved_factors

                _m, _f, table, _ = approved_factors(s, version)
                cols = [c for c in CATALOGUE_COLUMNS if c in table.columns]
                self.factors = table.select(cols).with_columns(
                    (pl.col("name_zh").fill_null("") + " " + pl.col("name_en").fill_null(""))
                    .str.to_lowercase()
                    .alias("_text")
                )
            return self.factors

    def facet_values(self, s) -> dict[str, list[str]]:
        """The values the catalogue's filters offer (sources, geographies, units), once per release."""
        factors = self.catalogue(s)
        with self._lock:
            if self.facets is None:
                self.facets = {
                    c: sorted(str(x) for x in factors[c].drop_nulls().unique().to_list())[:500]
                    if factors.height
                    else []
                    for c in ("source_id", "geography_code", "unit")
                }
            return self.facets

    def product_slugs(self, s) -> dict[str, str]:
        version = self.current(s)
        if version is None:
            return {}
        with self._lock:
            if self.slugs is None:
                from pipelines.reporting.data import product_keys, slug

                self.slugs = {slug(k): k for k in product_keys(s, version)}
            return self.slugs


def _cache(request: Request) -> ReleaseCache:
    app = request.app
    if not hasattr(app.state, "release_cache"):
        app.state.release_cache = ReleaseCache()
    return app.state.release_cache


def search_factors(
    factors: pl.DataFrame,
    q: str = "",
    source: str = "",
    geography: str = "",
    year: str = "",
    unit: str = "",
    limit: int = PAGE_ROWS,
    offset: int = 0,
) -> tuple[int, pl.DataFrame]:
    """-> (matches, one page of them): every word of `q` in the Chinese or English name (any case)."""
    if factors.height == 0:
        return 0, factors
    f = factors.lazy()
    for word in q.lower().split()[:8]:
        f = f.filter(pl.col("_text").str.contains(word, literal=True))
    if source:
        f = f.filter(pl.col("source_id") == source)
    if geography:
        f = f.filter(pl.col("geography_code") == geography)
    if year.strip().isdigit():
        f = f.filter(pl.col("reference_year") == int(year))
    if unit:
        f = f.filter(pl.col("unit") == unit)
    hits = f.collect()
    return hits.height, hits.slice(offset, limit).drop("_text")


@router.get("/", response_class=HTMLResponse)
def home(request: Request):
    s = platform(request).settings()
    latest = latest_release(s)
    return page(request, "home.html", latest=latest)


@router.get("/factors", response_class=HTMLResponse)
def catalogue(
    request: Request,
    q: str = "",
    source: str = "",
    geography: str = "",
    year: str = "",
    unit: str = "",
    page_no: int = 0,
):
    s = platform(request).settings()
    factors = _cache(request).catalogue(s)
    page_no = max(0, min(page_no, 10_000))
    total, rows = search_factors(
        factors, q[:200], source[:100], geography[:20], year[:8], unit[:40], PAGE_ROWS, page_no * PAGE_ROWS
    )
    facets = _cache(request).facet_values(s)
    return page(
        request,
        "catalogue.html",
        version=_cache(request).version,
        total=total,
        rows=rows.to_dicts(),
        q=q,
        source=source,
        geography=geography,
        year=year,
        unit=unit,
        page_no=page_no,
        page_rows=PAGE_ROWS,
        facets=facets,
    )


@router.get("/factors.html")
def catalogue_static_link():
    return redirect("/factors")


@router.get("/index.html", response_class=HTMLResponse)
@router.get("/products", response_class=HTMLResponse)
def products_index(request: Request):
    from pipelines.reporting.data import public_part
    from pipelines.reporting.site import index_page

    s = platform(request).settings()
    cache = _cache(request)
    keys = cache.product_slugs(s)
    cached = cache.pages.get("__index__")
    if cached is None:
        version = cache.version
        cached = index_page([public_part(s, version, k) for k in keys.values()]) if version else ""
        cache.pages["__index__"] = cached
    if not cached:
        return page(request, "error.html", status_code=404, message_key="no_release", code=404)
    return HTMLResponse(cached)


@router.get("/products/{name}.html", response_class=HTMLResponse)
def product_page(request: Request, name: str):
    """The disclosure page the label's QR code opens (public part only)."""
    from pipelines.reporting.data import public_part
    from pipelines.reporting.label import LabelRefused, labelled, render_png
    from pipelines.reporting.site import product_page as render_page

    s = platform(request).settings()
    cache = _cache(request)
    key = cache.product_slugs(s).get(name)
    if key is None or cache.version is None:
        raise HTTPException(404)
    html = cache.pages.get(name)
    if html is None:
        d = public_part(s, cache.version, key)
        try:
            shown = labelled(s, d)
            import io

            buf = io.BytesIO()
            render_png(shown).save(buf, format="PNG")
            html = render_page(shown, buf.getvalue())
        except LabelRefused:
            from pipelines.certification.certificates import status_for

            html = render_page(dataclasses.replace(d, certification=status_for(s, key)), None)
        cache.pages[name] = html
        while len(cache.pages) > 2000:
            cache.pages.popitem(last=False)
    return HTMLResponse(html)


@router.get("/assets/NotoSansCJKsc-subset.otf")
def font():
    """The pages' CJK font (the whole Noto Sans CJK SC face, OFL 1.1; `pcf site` writes a subset instead)."""
    from pipelines.reporting.fonts import cjk_font

    return FileResponse(cjk_font(), media_type="font/otf", headers={"Cache-Control": "public, max-age=86400"})


@router.get("/lang/{code}")
def language(request: Request, code: str, next: str = "/"):
    response = redirect(safe_next(next))
    if code in ("zh", "en"):
        response.set_cookie("pcf_lang", code, samesite="strict", secure=is_https(request), max_age=365 * 86400)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/"):
    return page(request, "login.html", next=safe_next(next), error=None)


@router.post("/login")
async def login(request: Request):
    p = platform(request)
    s = p.settings()
    f = await form(request)
    name, password, nxt = str(f.get("name") or "")[:64], str(f.get("password") or ""), safe_next(f.get("next"))
    where = address(request)
    if not (is_https(request) or is_loopback(request) or s.web_allow_plain_http):
        return page(request, "login.html", status_code=400, next=nxt, error="https_required")
    if p.throttle.blocked(name, where):
        audit.record(s, name, "login.throttled", where)
        return page(request, "login.html", status_code=429, next=nxt, error="login_throttled")
    user = authenticate(s, name, password)
    if user is None:
        p.throttle.fail(name, where)
        audit.record(s, name, "login.failed", where)
        return page(request, "login.html", status_code=401, next=nxt, error="login_failed")
    p.throttle.succeed(name, where)
    p.sessions.drop(request.cookies.get(COOKIE))  # a new session id at login (no fixation)
    token, _session = p.sessions.new(user)
    request.state.new_token = token
    audit.record(s, user.name, "login", where, role=user.role)
    home_of = {"enterprise": "/enterprise", "steward": "/steward", "analyst": "/analyst/sql", "certifier": "/certifier"}
    return redirect(nxt if nxt != "/" else home_of.get(user.role, "/"))


@router.post("/logout")
async def logout(request: Request):
    p = platform(request)
    await form(request)
    u = request.state.session.user
    p.sessions.drop(request.cookies.get(COOKIE))
    if u:
        audit.record(p.settings(), u.name, "logout", address(request))
    response = redirect("/")
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/favicon.ico")
def favicon():
    return Response(status_code=204)
