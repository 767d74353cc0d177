"""The web platform: one ASGI application (`pcf serve`) for the public, enterprises, stewards, analysts and
certification bodies, with the PACT host's API (/auth/token, /2/..., /3/...) in the same process.

It reads the warehouse and the restricted zone through the project's own modules and writes only through
them (the decision log via pipelines/curation/actions.py, uploads via pipelines/enterprise/submit.py, the
mapping log via pipelines/matching/mappings.py); anything long is a Dagster run of the warehouse job started
in a child process (pipelines/web/builds.py), followed on a progress page. docs/web.md lists every route and
who may see it; tests/test_web_access.py checks each rule, tests/test_web_browser.py drives Chromium.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.base import BaseHTTPMiddleware

from pipelines.config import settings
from pipelines.web import analyst, enterprise, public, steward
from pipelines.web.builds import BuildQueue
from pipelines.web.core import HERE, LoginRequired, Platform, page, templates
from pipelines.web.security import COOKIE, SecurityHeaders, Sessions, Throttle, set_session_cookie

API_PREFIXES = ("/auth/", "/2/", "/3/")


class SessionMiddleware(BaseHTTPMiddleware):
    """Loads the visitor's session (a new anonymous one if none) before the route; sets the cookie of a new one."""

    async def dispatch(self, request: Request, call_next):
        if request.url.path.startswith(API_PREFIXES):  # the PACT API authenticates by bearer token only
            return await call_next(request)
        sessions: Sessions = request.app.state.platform.sessions
        token = request.cookies.get(COOKIE)
        s = sessions.get(token)
        if s is not None and s.user is not None:  # disabled (or removed) since login: the session ends now
            from pipelines.web.accounts import get_user

            now = get_user(request.app.state.platform.settings(), s.user.name)
            if now is None or now.disabled:
                sessions.drop(token)
                s = None
        new_token = None
        if s is None:
            new_token, s = sessions.new()
        request.state.session = s
        request.state.new_token = None
        response = await call_next(request)
        token_out = getattr(request.state, "new_token", None) or new_token  # a login replaces the session
        if token_out:
            set_session_cookie(response, request, token_out)
        return response


def create_app(settings_of=settings, post=None, build_worker: bool = True) -> FastAPI:
    """`post`: the PACT host's event sender (tests pass their own); `build_worker=False`: builds are queued
    but not started (tests of the pages that request them)."""
    from pipelines.pact.host import create_app as pact_app

    app = pact_app(settings_of, post)  # the PACT routes and their JSON error answers
    s = settings_of()
    app.state.platform = Platform(
        settings_of=settings_of,
        sessions=Sessions(s.web_session_idle_minutes * 60, s.web_session_max_hours * 3600),
        throttle=Throttle(s.web_login_attempts),
        builds=BuildQueue(settings_of, start_worker=build_worker),
        templates=templates(),
    )
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    for module in (public, enterprise, steward, analyst):
        app.include_router(module.router)
    app.add_middleware(SessionMiddleware)
    app.add_middleware(SecurityHeaders)  # outermost: every answer carries the headers, errors included

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired):
        from urllib.parse import quote

        return Response(status_code=303, headers={"Location": "/login?next=" + quote(request.url.path, safe="/")})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if request.url.path.startswith(API_PREFIXES):
            return JSONResponse(
                {
                    "code": "NoSuchFootprint" if exc.status_code == 404 else "BadRequest",
                    "message": "The specified footprint does not exist" if exc.status_code == 404 else "bad request",
                },
                status_code=exc.status_code if exc.status_code < 500 else 400,
            )
        key = {403: "forbidden", 404: "not_found", 413: "too_large"}.get(exc.status_code, "not_found")
        if getattr(request.state, "session", None) is None:  # before the session middleware (e.g. a 405)
            return HTMLResponse(f"<h1>{exc.status_code}</h1>", status_code=exc.status_code)
        # the requested address is not echoed (not even in the language link): an error says nothing of it
        return page(request, "error.html", status_code=exc.status_code, message_key=key, code=exc.status_code, path="/")

    return app
