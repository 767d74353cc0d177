"""Sessions, CSRF, login throttling and security headers of the web platform.

Sessions live in the server process (a random 256-bit token in the cookie, only its SHA-256 kept here): a
restart logs everyone out, and the platform runs as one process (docs/web.md says how to scale it out).
The cookie is HttpOnly, SameSite=Strict, Path=/, and Secure whenever the request came over HTTPS (directly
or through a TLS proxy that sets X-Forwarded-Proto). Every form carries the session's CSRF token; a POST
without the right one is refused (403) before anything is read or written. Anonymous visitors get a session
too (no user) so that the login form itself is CSRF-protected.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import Response

from pipelines.web.accounts import User

COOKIE = "pcf_session"
MAX_SESSIONS = 50_000
THROTTLE_WINDOW = 15 * 60

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class Session:
    csrf: str
    created: float
    seen: float
    user: User | None = None
    flash: list[str] = field(default_factory=list)


class Sessions:
    def __init__(self, idle_seconds: float, max_seconds: float) -> None:
        self.idle, self.max = idle_seconds, max_seconds
        self._by_digest: dict[str, Session] = {}
        self._lock = threading.Lock()

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        now = time.time()
        with self._lock:
            s = self._by_digest.get(_digest(token))
            if s is None:
                return None
            if now - s.seen > self.idle or now - s.created > self.max:
                del self._by_digest[_digest(token)]
                return None
            s.seen = now
            return s

    def new(self, user: User | None = None) -> tuple[str, Session]:
        token = secrets.token_urlsafe(32)
        now = time.time()
        s = Session(csrf=secrets.token_urlsafe(32), created=now, seen=now, user=user)
        with self._lock:
            if len(self._by_digest) >= MAX_SESSIONS:  # drop the stalest (anonymous visitors first)
                stale = sorted(self._by_digest.items(), key=lambda kv: (kv[1].user is not None, kv[1].seen))
                for k, _ in stale[: MAX_SESSIONS // 10]:
                    del self._by_digest[k]
            self._by_digest[_digest(token)] = s
        return token, s

    def drop(self, token: str | None) -> None:
        if token:
            with self._lock:
                self._by_digest.pop(_digest(token), None)

    def drop_user(self, name: str) -> None:
        """A disabled account's sessions end at once."""
        with self._lock:
            for k in [k for k, s in self._by_digest.items() if s.user and s.user.name == name]:
                del self._by_digest[k]


def csrf_ok(session: Session | None, sent: str | None) -> bool:
    return bool(session and sent and hmac.compare_digest(session.csrf, str(sent)))


class Throttle:
    """Failed logins per (account, address) and per account within 15 minutes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._failures: dict[tuple[str, str], deque] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque:
        q = self._failures.setdefault(key, deque())
        while q and now - q[0] > THROTTLE_WINDOW:
            q.popleft()
        return q

    def blocked(self, name: str, address: str) -> bool:
        now = time.time()
        with self._lock:
            return (
                len(self._recent((name, address), now)) >= self.limit
                or len(self._recent((name, "*"), now)) >= 4 * self.limit
            )

    def fail(self, name: str, address: str) -> None:
        now = time.time()
        with self._lock:
            self._recent((name, address), now).append(now)
            self._recent((name, "*"), now).append(now)

    def succeed(self, name: str, address: str) -> None:
        with self._lock:
            self._failures.pop((name, address), None)


def is_https(request: Request) -> bool:
    # uvicorn's proxy_headers has already applied X-Forwarded-Proto from a trusted proxy to the scheme
    return request.url.scheme == "https"


def is_loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="strict", secure=is_https(request), path="/", max_age=None
    )


class SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next):
        response = await call_next(request)
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if is_https(request):
            h.setdefault("Strict-Transport-Security", "max-age=31536000")
        if request.cookies.get(COOKIE) and "cache-control" not in h:
            h["Cache-Control"] = "no-store"  # a page for one user is not kept by shared caches
        return response
