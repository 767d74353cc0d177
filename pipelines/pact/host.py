"""The PACT host: the data-exchange API (v2 under /2/, v3 under /3/) over the current release's product
footprints, for the customers each enterprise granted (pipelines/pact/access.py). docs/pact.md lists every
route, error and rule with the test that covers it.

    POST /auth/token              OAuth2 client credentials, HTTP Basic, form body grant_type=client_credentials
    GET  /2/footprints            ?limit=&$filter=    -> {"data": [...]}, Link: <...>; rel="next"
    GET  /2/footprints/{id}       -> {"data": {...}}
    POST /2/events                CloudEvents (application/cloudevents+json) -> 200, empty body
    GET  /3/footprints            ?limit=&productId=&companyId=&geography=&classification=&validOn=&validAfter=
                                  &validBefore=&status=
    GET  /3/footprints/{id}, POST /3/events

Errors are {"code", "message"}: BadRequest 400, TokenExpired 401, AccessDenied 403, NoSuchFootprint 404,
NotImplemented 400, InternalError 500. Plain HTTP is refused unless PCF_PACT_REQUIRE_HTTPS=0 (tests, or
behind a TLS-terminating reverse proxy that sets X-Forwarded-Proto: https; docs/pact.md).
A footprint an enterprise did not grant to the calling client does not exist for it: 404, never 403.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
import uuid
from typing import Any

import polars as pl
from fastapi import BackgroundTasks, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from pipelines.config import Settings, settings
from pipelines.pact import access
from pipelines.pact.documents import PactDocumentError, document
from pipelines.pact.filter import FilterError, compile_filter
from pipelines.release.manifests import latest_release, read_table

ERRORS = {
    "BadRequest": 400,
    "TokenExpired": 401,
    "AccessDenied": 403,
    "NoSuchFootprint": 404,
    "NotImplemented": 400,
    "InternalError": 500,
}
CURSOR_SECONDS = 600  # a Link stays valid 10 minutes (the spec asks for at least 180 s)
V2_EVENTS = {
    "created": "org.wbcsd.pathfinder.ProductFootprintRequest.Created.v1",
    "fulfilled": "org.wbcsd.pathfinder.ProductFootprintRequest.Fulfilled.v1",
    "rejected": "org.wbcsd.pathfinder.ProductFootprintRequest.Rejected.v1",
    "published": "org.wbcsd.pathfinder.ProductFootprint.Published.v1",
}
V3_EVENTS = {
    "created": "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3",
    "fulfilled": "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3",
    "rejected": "org.wbcsd.pact.ProductFootprint.RequestRejectedEvent.3",
    "published": "org.wbcsd.pact.ProductFootprint.PublishedEvent.3",
}


def error(code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=ERRORS[code])


class Catalogue:
    """The current release's footprints as PACT documents, per spec version, built once per release."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], list[tuple[dict, dict]]] = {}

    def documents(self, s: Settings, spec: str) -> list[tuple[dict, dict]]:
        """-> [(document, owner {uscc, product_id})] sorted by id."""
        latest = latest_release(s)
        if latest is None:
            return []
        key = (latest["version"], spec)
        if key not in self._cache:
            marts = (
                read_table(s, latest["version"], "product_footprint")
                if "product_footprint" in latest["tables"]
                else pl.DataFrame()
            )
            out = []
            for p in marts.iter_rows(named=True):
                try:
                    doc = document(s, latest["version"], p["product_key"], spec)
                except PactDocumentError:
                    continue  # a product PACT cannot express (e.g. a count unit in 2.3) is not served
                out.append((doc, {"uscc": p["uscc"], "product_id": p["product_id"]}))
            self._cache = {k: v for k, v in self._cache.items() if k[0] == latest["version"]}
            self._cache[key] = sorted(out, key=lambda x: x[0]["id"])
        return self._cache[key]


def create_app(settings_of=settings, post=None) -> FastAPI:
    """`post(url, json_body)` sends an event to a customer (default: httpx); tests pass their own."""
    app = FastAPI(title="PCF Factor Warehouse PACT host", docs_url=None, redoc_url=None, openapi_url=None)
    catalogue = Catalogue()

    def send(url: str, body: dict) -> None:
        if post is not None:
            post(url, body)
            return
        import httpx

        try:
            httpx.post(url, json=body, headers={"Content-Type": "application/cloudevents+json"}, timeout=10)
        except httpx.HTTPError:
            pass  # the customer's endpoint is down: the request stays answered in our log only

    def check_https(request: Request) -> JSONResponse | None:
        s = settings_of()
        proto = request.headers.get("x-forwarded-proto", request.url.scheme)
        if s.pact_require_https and proto != "https":
            return error("BadRequest", "HTTPS is required (plain HTTP is refused)")
        return None

    def client(request: Request) -> str | JSONResponse:
        bad = check_https(request)
        if bad:
            return bad
        auth = request.headers.get("authorization", "")
        if not auth.lower().startswith("bearer "):
            return error("AccessDenied", "Access denied: no bearer token")
        try:
            return access.client_of(settings_of(), auth[7:].strip())
        except access.TokenProblem as p:
            return error(p.code, p.message)

    def visible(s: Settings, who: str, spec: str) -> list[dict]:
        granted = access.grants(s)
        return [
            d
            for d, owner in catalogue.documents(s, spec)
            if access.may_see(granted, who, owner["uscc"], owner["product_id"])
        ]

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception):  # never a traceback to a customer
        return error("InternalError", "internal error")

    @app.post("/auth/token")
    async def token(request: Request):
        bad = check_https(request)
        if bad:
            return bad
        auth = request.headers.get("authorization", "")
        form = await request.form()
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        try:
            cid, _, secret = (
                base64.b64decode(auth[6:]).decode().partition(":")
                if auth.lower().startswith("basic ")
                else ("", "", "")
            )
        except ValueError:
            cid, secret = "", ""
        s = settings_of()
        if not cid or not access.check_secret(s, cid, secret):
            return JSONResponse(
                {"error": "invalid_client"}, status_code=401, headers={"WWW-Authenticate": 'Basic realm="pact"'}
            )
        return {
            "access_token": access.issue_token(s, cid, s.pact_token_seconds),
            "token_type": "bearer",
            "expires_in": s.pact_token_seconds,
        }

    def page(
        request: Request,
        who: str,
        docs: list[dict],
        limit: int | None,
        offset: int,
        query: dict,
        route: str,
        status: int = 200,
    ):
        s = settings_of()
        chosen = docs[offset : offset + limit] if limit else docs[offset:]
        headers = {}
        if limit and offset + limit < len(docs):
            cursor = base64.urlsafe_b64encode(
                json.dumps(
                    {"o": offset + limit, "l": limit, "q": query, "e": int(time.time()) + CURSOR_SECONDS}
                ).encode()
            ).decode()
            base = str(request.url).split("?")[0]
            if request.headers.get("x-forwarded-proto") == "https":
                base = base.replace("http://", "https://", 1)
            headers["Link"] = f'<{base}?cursor={cursor}>; rel="next"'
        access.log_served(s, who, route, chosen)
        return JSONResponse({"data": chosen}, status_code=status, headers=headers)

    def read_cursor(cursor: str) -> dict | JSONResponse:
        try:
            c = json.loads(base64.urlsafe_b64decode(cursor))
        except ValueError:
            return error("BadRequest", "cursor is not valid")
        if c.get("e", 0) < time.time():
            return error("BadRequest", "the pagination link has expired")
        return c

    def limit_of(raw: str | None) -> int | None | JSONResponse:
        if raw is None:
            return None
        if not raw.isdigit() or int(raw) < 1:
            return error("BadRequest", "limit must be a positive integer")
        return int(raw)

    @app.get("/2/footprints")
    async def list_v2(request: Request):
        who = client(request)
        if isinstance(who, JSONResponse):
            return who
        q = dict(request.query_params)
        offset = 0
        if "cursor" in q:
            c = read_cursor(q["cursor"])
            if isinstance(c, JSONResponse):
                return c
            offset, q = c["o"], {**c["q"], "limit": str(c["l"])}
        limit = limit_of(q.get("limit"))
        if isinstance(limit, JSONResponse):
            return limit
        try:
            keep = compile_filter(q.get("$filter"))
        except FilterError as exc:
            return error("BadRequest", str(exc))
        docs = [d for d in visible(settings_of(), who, "2.3") if keep(d)]
        return page(request, who, docs, limit, offset, {k: v for k, v in q.items() if k == "$filter"}, "/2/footprints")

    @app.get("/2/footprints/{pf_id}")
    async def get_v2(pf_id: str, request: Request):
        return _get(request, pf_id, "2.3", "/2/footprints/{id}")

    @app.get("/3/footprints/{pf_id}")
    async def get_v3(pf_id: str, request: Request):
        return _get(request, pf_id, "3.0", "/3/footprints/{id}")

    def _get(request: Request, pf_id: str, spec: str, route: str):
        who = client(request)
        if isinstance(who, JSONResponse):
            return who
        hit = next((d for d in visible(settings_of(), who, spec) if d["id"] == pf_id), None)
        if hit is None:
            return error("NoSuchFootprint", "The specified footprint does not exist")
        access.log_served(settings_of(), who, route, [hit])
        return {"data": hit}

    @app.get("/3/footprints")
    async def list_v3(request: Request):
        who = client(request)
        if isinstance(who, JSONResponse):
            return who
        q = request.query_params
        offset, query = 0, {k: q.getlist(k) for k in q.keys() if k not in ("limit", "cursor")}
        raw_limit = q.get("limit")
        if "cursor" in q:
            c = read_cursor(q["cursor"])
            if isinstance(c, JSONResponse):
                return c
            offset, query, raw_limit = c["o"], c["q"], str(c["l"])
        limit = limit_of(raw_limit)
        if isinstance(limit, JSONResponse):
            return limit
        unknown = set(query) - {
            "productId",
            "companyId",
            "geography",
            "classification",
            "validOn",
            "validAfter",
            "validBefore",
            "status",
        }
        if unknown:
            return error("BadRequest", f"unknown query parameter(s): {', '.join(sorted(unknown))}")
        docs = [d for d in visible(settings_of(), who, "3.0") if _v3_match(d, query)]
        return page(request, who, docs, limit, offset, query, "/3/footprints")

    async def events(request: Request, background: BackgroundTasks, spec: str):
        who = client(request)
        if isinstance(who, JSONResponse):
            return who
        names = V2_EVENTS if spec == "2.3" else V3_EVENTS
        try:
            event = json.loads(await request.body())
        except ValueError:
            return error("BadRequest", "the event is not JSON")
        if not isinstance(event, dict) or not {"type", "specversion", "id", "source", "data"} <= set(event):
            return error("BadRequest", "a CloudEvent needs type, specversion, id, source, time and data")
        if event["type"] == names["published"]:
            ids = (event.get("data") or {}).get("pfIds") or []
            if any(not _is_uuid(i) for i in ids):
                return error("BadRequest", "pfIds must be UUIDs")
            return Response(status_code=200)
        if event["type"] != names["created"]:
            return error("NotImplemented", f"event type {event['type']!r} is not supported")
        background.add_task(_answer, who, event, spec, names)
        return Response(status_code=200)

    def _answer(who: str, event: dict, spec: str, names: dict) -> None:
        s = settings_of()
        data = event.get("data") or {}
        if spec == "2.3":
            wanted = set((data.get("pf") or {}).get("productIds") or [])
            hits = [d for d in visible(s, who, spec) if wanted & set(d["productIds"])] if wanted else []
        else:
            hits = [
                d
                for d in visible(s, who, spec)
                if _v3_match(d, {k: v if isinstance(v, list) else [v] for k, v in data.items() if k != "comment"})
            ]
        base = {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "//pcf.example.org/pact",
            "time": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        }
        if hits:
            access.log_served(s, who, "events", hits)
            body = {**base, "type": names["fulfilled"], "data": {"requestEventId": event["id"], "pfs": hits}}
        else:
            body = {
                **base,
                "type": names["rejected"],
                "data": {
                    "requestEventId": event["id"],
                    "error": {"code": "NoSuchFootprint", "message": "no footprint matches the request for this client"},
                },
            }
        send(event["source"], body)

    @app.post("/2/events")
    async def events_v2(request: Request, background: BackgroundTasks):
        return await events(request, background, "2.3")

    @app.post("/3/events")
    async def events_v3(request: Request, background: BackgroundTasks):
        return await events(request, background, "3.0")

    return app


def notify(s: Settings, post=None, catalogue: Catalogue | None = None) -> dict[str, list[str]]:
    """Published events: each client with an events URL is told the ids of granted footprints (v2.3) it
    has not been told of yet (data/restricted/pact/notified.json); -> client id -> ids sent."""
    import httpx

    catalogue = catalogue or Catalogue()
    state_path = s.restricted_dir / "pact" / "notified.json"
    told = json.loads(state_path.read_text(encoding="utf-8")) if state_path.exists() else {}
    granted = access.grants(s)
    sent: dict[str, list[str]] = {}
    for cid, c in access.clients(s).items():
        if not c.get("events_url"):
            continue
        ids = [
            d["id"]
            for d, o in catalogue.documents(s, "2.3")
            if access.may_see(granted, cid, o["uscc"], o["product_id"]) and d["id"] not in told.get(cid, [])
        ]
        if not ids:
            continue
        body = {
            "type": V2_EVENTS["published"],
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "//pcf.example.org/pact",
            "time": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
            "data": {"pfIds": ids},
        }
        try:
            if post is not None:
                post(c["events_url"], body)
            else:
                httpx.post(
                    c["events_url"], json=body, timeout=10, headers={"Content-Type": "application/cloudevents+json"}
                ).raise_for_status()
        except httpx.HTTPError:
            continue  # told next time
        told[cid] = sorted(set(told.get(cid, [])) | set(ids))
        sent[cid] = ids
    from pipelines.common.atomic import write_text

    write_text(state_path, json.dumps(told, indent=1, sort_keys=True))
    return sent


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
        return True
    except ValueError:
        return False


def _v3_match(doc: dict, query: dict) -> bool:
    """v3 query parameters: a list parameter matches any of its values; validity dates compare as text."""
    pcf = doc.get("pcf") or {}
    for key, values in query.items():
        values = [v for v in (values if isinstance(values, list) else [values]) if v]
        if not values:
            continue
        if key == "productId" and not set(values) & set(doc.get("productIds") or []):
            return False
        if key == "companyId" and not set(values) & set(doc.get("companyIds") or []):
            return False
        if key == "classification" and not set(values) & set(doc.get("productClassifications") or []):
            return False
        if key == "geography":
            geo = {
                pcf.get("geographyCountry"),
                pcf.get("geographyCountrySubdivision"),
                pcf.get("geographyRegionOrSubregion"),
            }
            if (pcf.get("geographyCountrySubdivision") or "").startswith("CN-"):
                geo.add("CN")
            if not set(values) & geo:
                return False
        if key == "status" and doc.get("status") not in values:
            return False
        start, end = pcf.get("referencePeriodStart", ""), pcf.get("referencePeriodEnd", "")
        if key == "validOn" and not (start <= values[0] < end):
            return False
        if key == "validAfter" and not start >= values[0]:
            return False
        if key == "validBefore" and not end <= values[0]:
            return False
    return True
