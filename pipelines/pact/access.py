"""Who may see which footprints: PACT clients (a customer's system), an enterprise's sharing grants, tokens,
and the log of every grant and every document served. All in the restricted zone (data/restricted/pact/).

- clients.json: client id -> name, scrypt hash of the secret (the secret is shown once, at `pcf pact client
  add`), created. A client authenticates at POST /auth/token (OAuth2 client credentials, HTTP Basic).
- grants.jsonl: append-only: an enterprise (credit code) grants or revokes a client's access to one product
  or all its products ("*"); the last event per (enterprise, client, product) is in force.
- served.jsonl: append-only: every document served (client, footprint id, product, route, time).
- tokens: HMAC-SHA256 over (client, expiry) with a key kept in the zone (token_key); valid
  PCF_PACT_TOKEN_SECONDS (3600); an expired token is TokenExpired, a malformed or forged one BadRequest.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from pipelines.common.atomic import write_text
from pipelines.common.filelock import exclusive
from pipelines.config import Settings


class AccessError(ValueError):
    pass


def _zone(settings: Settings) -> Path:
    path = settings.restricted_dir / "pact"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _hash(secret: str, salt: bytes) -> str:
    return hashlib.scrypt(secret.encode(), salt=salt, n=2**14, r=8, p=1).hex()


def clients(settings: Settings) -> dict[str, dict]:
    path = _zone(settings) / "clients.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def add_client(settings: Settings, name: str, events_url: str | None = None) -> tuple[str, str]:
    """-> (client id, secret); the secret is not stored, only its scrypt hash. `events_url`: where the
    customer receives Published events (pcf pact notify)."""
    if not name.strip():
        raise AccessError("a client needs a name (the customer)")
    client_id, secret = f"pact-{secrets.token_hex(8)}", secrets.token_urlsafe(32)
    salt = secrets.token_bytes(16)
    with exclusive(_zone(settings) / ".lock"):
        known = clients(settings)
        known[client_id] = {
            "name": name.strip(),
            "salt": salt.hex(),
            "hash": _hash(secret, salt),
            "created": _now(),
            "events_url": events_url,
        }
        write_text(_zone(settings) / "clients.json", json.dumps(known, indent=1, sort_keys=True))
    return client_id, secret


def check_secret(settings: Settings, client_id: str, secret: str) -> bool:
    c = clients(settings).get(client_id)
    if c is None:
        _hash(secret, b"0" * 16)  # the same work for an unknown id: no timing difference
        return False
    return hmac.compare_digest(_hash(secret, bytes.fromhex(c["salt"])), c["hash"])


def _append(path: Path, record: dict) -> None:
    with exclusive(path.with_name(path.name + ".lock")):
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())


def grant(
    settings: Settings, uscc: str, client_id: str, product_id: str, by: str, reason: str, revoke: bool = False
) -> dict:
    if client_id not in clients(settings):
        raise AccessError(f"no PACT client {client_id!r} (pcf pact client list)")
    if not reason.strip():
        raise AccessError("a grant needs a reason (--reason)")
    record = {
        "action": "revoke" if revoke else "grant",
        "uscc": uscc.strip().upper(),
        "client": client_id,
        "product_id": product_id or "*",
        "by": by,
        "reason": reason,
        "at": _now(),
    }
    _append(_zone(settings) / "grants.jsonl", record)
    return record


def grants(settings: Settings) -> dict[tuple[str, str, str], dict]:
    path = _zone(settings) / "grants.jsonl"
    out: dict[tuple[str, str, str], dict] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                key = (r["uscc"], r["client"], r["product_id"])
                if r["action"] == "grant":
                    out[key] = r
                else:
                    out.pop(key, None)
    return out


def may_see(granted: dict, client_id: str, uscc: str, product_id: str) -> bool:
    return (uscc, client_id, "*") in granted or (uscc, client_id, product_id) in granted


def log_served(settings: Settings, client_id: str, route: str, served: list[dict]) -> None:
    if served:
        _append(
            _zone(settings) / "served.jsonl",
            {
                "client": client_id,
                "route": route,
                "at": _now(),
                "documents": [{"id": d["id"], "product": d["productIds"][0]} for d in served],
            },
        )


# ---------------------------------------------------------------------------------------------- tokens
def _key(settings: Settings) -> bytes:
    path = _zone(settings) / "token_key"
    with exclusive(_zone(settings) / ".lock"):
        if not path.exists():
            write_text(path, secrets.token_hex(32))
    return bytes.fromhex(path.read_text(encoding="utf-8").strip())


def issue_token(settings: Settings, client_id: str, seconds: int) -> str:
    body = json.dumps({"c": client_id, "exp": int(time.time()) + seconds}, separators=(",", ":")).encode()
    sig = hmac.new(_key(settings), body, hashlib.sha256).digest()
    return (
        base64.urlsafe_b64encode(body).decode().rstrip("=") + "." + base64.urlsafe_b64encode(sig).decode().rstrip("=")
    )


@dataclass
class TokenProblem(Exception):
    code: str  # BadRequest | TokenExpired
    message: str


def client_of(settings: Settings, token: str) -> str:
    try:
        body_b64, sig_b64 = token.split(".")
        body = base64.urlsafe_b64decode(body_b64 + "=" * (-len(body_b64) % 4))
        sig = base64.urlsafe_b64decode(sig_b64 + "=" * (-len(sig_b64) % 4))
        claims = json.loads(body)
    except ValueError:
        raise TokenProblem("BadRequest", "the access token is malformed") from None
    if not hmac.compare_digest(hmac.new(_key(settings), body, hashlib.sha256).digest(), sig):
        raise TokenProblem("BadRequest", "the access token is not valid")
    if claims.get("exp", 0) < time.time():
        raise TokenProblem("TokenExpired", "The specified access token has expired")
    if claims.get("c") not in clients(settings):
        raise TokenProblem("BadRequest", "the access token's client no longer exists")
    return claims["c"]
