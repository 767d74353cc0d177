"""Accounts of the web platform: who may log in, in which role, for which enterprise.

Kept in the restricted zone (`web/users.jsonl`, append-only: every add, disable, enable and password change
is a line with who and when; the current state is the fold of the lines). Passwords are hashed with Argon2id
(argon2-cffi's defaults, RFC 9106 low-memory profile); a password is never stored or logged.

Roles:
  enterprise  bound to one enterprise by its unified social credit code (USCC): its uploads, quarantine,
              mappings, products, reports, labels and PACT documents, nothing of anyone else's
  steward     the review queue, decisions, held changes, releases, runs, mapping queue
  analyst     the read-only SQL console on the public release tables
  certifier   the certification cases and their event logs (read; transitions stay with `pcf cert`)
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from pipelines.common.filelock import exclusive
from pipelines.config import Settings
from pipelines.enterprise.uscc import UsccError
from pipelines.enterprise.uscc import validate as validate_uscc

ROLES = ("enterprise", "steward", "analyst", "certifier")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{1,63}")
MIN_PASSWORD = 10
_HASHER = PasswordHasher()
# verified against when the name is unknown, so that a wrong name costs as long as a wrong password
_DUMMY = _HASHER.hash("not-a-password-of-anyone")


class AccountError(ValueError):
    pass


@dataclass(frozen=True)
class User:
    name: str
    role: str
    enterprise: str | None  # USCC, for role enterprise only
    disabled: bool
    created: str

    @property
    def label(self) -> str:
        return f"{self.name} ({self.role}{', ' + self.enterprise if self.enterprise else ''})"


def _path(settings: Settings) -> Path:
    return settings.restricted_dir / "web" / "users.jsonl"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def _events(settings: Settings) -> list[dict]:
    path = _path(settings)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


_CACHE: dict[str, tuple[tuple[int, int], dict[str, dict]]] = {}


def _state(settings: Settings) -> dict[str, dict]:
    """The accounts now (re-read when the file changed: a server sees `pcf user disable` at the next request)."""
    path = _path(settings)
    try:
        st = path.stat()
        stamp = (st.st_mtime_ns, st.st_size)
    except FileNotFoundError:
        return {}
    cached = _CACHE.get(str(path))
    if cached and cached[0] == stamp:
        return cached[1]
    users = _fold(settings)
    _CACHE[str(path)] = (stamp, users)
    return users


def _fold(settings: Settings) -> dict[str, dict]:
    users: dict[str, dict] = {}
    for e in _events(settings):
        if e["event"] == "add":
            users[e["name"]] = {k: e.get(k) for k in ("name", "role", "enterprise", "hash", "created")}
            users[e["name"]]["disabled"] = False
        elif e["name"] in users:
            if e["event"] in ("disable", "enable"):
                users[e["name"]]["disabled"] = e["event"] == "disable"
            elif e["event"] == "password":
                users[e["name"]]["hash"] = e["hash"]
    return users


def _append(settings: Settings, event: dict) -> None:
    path = _path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(event, ensure_ascii=False, sort_keys=True) + "\n")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")


def add_user(
    settings: Settings, name: str, role: str, password: str, enterprise: str | None = None, by: str = "cli"
) -> User:
    if not NAME.fullmatch(name or ""):
        raise AccountError(f"user name {name!r}: 2-64 letters, digits, '.', '_', '@' or '-', starting with one")
    if role not in ROLES:
        raise AccountError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    if role == "enterprise":
        if not enterprise:
            raise AccountError("an enterprise user needs --enterprise USCC (the credit code it acts for)")
        try:
            enterprise = validate_uscc(enterprise)
        except UsccError as exc:
            raise AccountError(f"--enterprise: {exc.message_en}") from None
    elif enterprise:
        raise AccountError(f"--enterprise is for enterprise users only, not {role}")
    _check_password(password)
    with exclusive(_path(settings).with_suffix(".lock")):
        if name in _state(settings):
            raise AccountError(f"user {name!r} exists already")
        event = {
            "event": "add",
            "name": name,
            "role": role,
            "enterprise": enterprise,
            "hash": _HASHER.hash(password),
            "created": _now(),
            "by": by,
        }
        _append(settings, event)
    return User(name, role, enterprise, False, str(event["created"]))


def set_disabled(settings: Settings, name: str, disabled: bool, by: str = "cli") -> User:
    with exclusive(_path(settings).with_suffix(".lock")):
        if name not in _state(settings):
            raise AccountError(f"no user {name!r}")
        _append(settings, {"event": "disable" if disabled else "enable", "name": name, "at": _now(), "by": by})
    return get_user(settings, name)  # type: ignore[return-value]


def set_password(settings: Settings, name: str, password: str, by: str = "cli") -> None:
    _check_password(password)
    with exclusive(_path(settings).with_suffix(".lock")):
        if name not in _state(settings):
            raise AccountError(f"no user {name!r}")
        _append(settings, {"event": "password", "name": name, "hash": _HASHER.hash(password), "at": _now(), "by": by})


def _user(u: dict) -> User:
    return User(u["name"], u["role"], u.get("enterprise"), bool(u.get("disabled")), u["created"])


def get_user(settings: Settings, name: str) -> User | None:
    u = _state(settings).get(name)
    return _user(u) if u else None


def list_users(settings: Settings) -> list[User]:
    return [_user(u) for _, u in sorted(_state(settings).items())]


def authenticate(settings: Settings, name: str, password: str) -> User | None:
    """The user if the name exists, is enabled and the password matches; None otherwise (the same time
    spent either way: a wrong name is checked against a dummy hash)."""
    u = _state(settings).get(name)
    try:
        _HASHER.verify(u["hash"] if u else _DUMMY, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if u is None or u.get("disabled"):
        return None
    if _HASHER.check_needs_rehash(u["hash"]):  # parameters raised since: stored again with today's
        set_password(settings, name, password, by=name)
    return _user(u)
