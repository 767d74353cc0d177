"""What every page of the web platform shares: the platform's state (settings, sessions, throttle, builds,
templates), who is asking, the role rule, CSRF-checked forms and page rendering.

The role rule: a page of a role answers only a logged-in user of that role. An anonymous visitor is sent to
the login page; a user of another role gets 404, the same answer as for a page that does not exist, so a
role's pages, an enterprise's products and uploads cannot be discovered by trying ids or links.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import jinja2
from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup

from pipelines.config import Settings
from pipelines.web.accounts import User
from pipelines.web.builds import BuildQueue
from pipelines.web.i18n import LANGS, t
from pipelines.web.security import Sessions, Throttle, csrf_ok

HERE = Path(__file__).resolve().parent


class LoginRequired(Exception):
    """An anonymous visitor asked for a page that needs a login: answered with a redirect to /login."""


@dataclass
class Platform:
    settings_of: object
    sessions: Sessions
    throttle: Throttle
    builds: BuildQueue
    templates: jinja2.Environment

    def settings(self) -> Settings:
        return self.settings_of()  # type: ignore[operator]


def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=True,  # every value is escaped unless marked safe where it is built
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _num
    env.filters["pct"] = lambda x: "" if x is None else f"{x * 100:+.1f}%"
    env.filters["urlq"] = lambda x: quote(str(x), safe="")
    return env


def _num(x, digits: int = 4) -> str:
    if x is None:
        return ""
    if isinstance(x, float):
        return f"{x:.{digits}g}"
    return str(x)


def platform(request: Request) -> Platform:
    return request.app.state.platform


def user_of(request: Request) -> User | None:
    s = getattr(request.state, "session", None)
    return s.user if s else None


def lang_of(request: Request) -> str:
    lang = request.cookies.get("pcf_lang", "zh")
    return lang if lang in LANGS else "zh"


def address(request: Request) -> str:
    return request.client.host if request.client else "-"


def require(request: Request, *roles: str) -> User:
    u = user_of(request)
    if u is None:
        raise LoginRequired()
    if u.role not in roles:
        raise HTTPException(404)
    return u


async def form(request: Request, max_size: int | None = None) -> dict:
    """The POSTed form after its CSRF token is checked (403 before anything is read further)."""
    if max_size is not None:
        length = request.headers.get("content-length")
        if length is None:
            raise HTTPException(411)
        if int(length) > max_size:
            raise HTTPException(413)
    data = await request.form(max_files=1, max_fields=5000)
    if not csrf_ok(getattr(request.state, "session", None), data.get("csrf")):  # type: ignore[arg-type]
        raise HTTPException(403)
    return {"_form": data, **{k: data.get(k) for k in data.keys()}}


def page(request: Request, template: str, status_code: int = 200, **values) -> HTMLResponse:
    lang = lang_of(request)
    s = getattr(request.state, "session", None)
    values.setdefault("path", request.url.path)  # where the language switch returns to
    body = (
        platform(request)
        .templates.get_template(template)
        .render(
            t=lambda key: t(key, lang),
            lang=lang,
            user=s.user if s else None,
            csrf=s.csrf if s else "",
            **values,
        )
    )
    return HTMLResponse(body, status_code=status_code)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def safe_next(target: str | None) -> str:
    """Only a path on this site after login (no //host, no scheme): an open redirect is refused."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def svg_bars(rows: list[tuple[str, float]], unit: str, width: int = 560) -> Markup:
    """A horizontal bar chart as inline SVG (no script): one bar per (label, value); labels escaped."""
    from markupsafe import escape

    rows = [(str(label), float(v or 0.0)) for label, v in rows]
    if not rows:
        return Markup("")
    top = max(abs(v) for _, v in rows) or 1.0
    bar_h, label_w = 22, 220
    h = bar_h * len(rows) + 6
    parts = [f'<svg class="bars" role="img" viewBox="0 0 {width} {h}" width="{width}" height="{h}">']
    for i, (label, v) in enumerate(rows):
        y = i * bar_h + 3
        w = max(1.0, (width - label_w - 110) * abs(v) / top)
        colour = "#2e7d32" if v >= 0 else "#c62828"
        parts.append(
            f'<text x="0" y="{y + 15}" font-size="12">{escape(label[:34])}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{bar_h - 8}" fill="{colour}"></rect>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 15}" font-size="12">{v:.4g} {escape(unit)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
