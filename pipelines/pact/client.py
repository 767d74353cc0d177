"""`pcf pact pull URL`: a small PACT client. It takes a token from any PACT host (OAuth2 client credentials),
lists the footprints its credentials may see (following `Link: rel="next"`), and validates every document
against the official schema of its version and the spec's rules; so two warehouses can exchange footprints."""

from __future__ import annotations

import re

import httpx

from pipelines.pact.spec import problems

NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


class PullError(RuntimeError):
    pass


def pull(
    base_url: str,
    client_id: str,
    secret: str,
    spec: str = "2.3",
    limit: int = 100,
    transport: httpx.BaseTransport | None = None,
) -> tuple[list[dict], dict[str, list[str]]]:
    """-> (documents, problems by document id)."""
    base = base_url.rstrip("/")
    with httpx.Client(transport=transport, timeout=30) as http:
        r = http.post(f"{base}/auth/token", auth=(client_id, secret), data={"grant_type": "client_credentials"})
        if r.status_code != 200:
            raise PullError(f"{base}/auth/token: {r.status_code} {r.text[:200]}")
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        url: str | None = f"{base}/{spec[0]}/footprints?limit={limit}"
        docs: list[dict] = []
        while url:
            r = http.get(url, headers=headers)
            if r.status_code not in (200, 202):
                raise PullError(f"{url}: {r.status_code} {r.text[:200]}")
            docs += r.json().get("data", [])
            m = NEXT.search(r.headers.get("link", ""))
            url = m.group(1) if m else None
    return docs, {d.get("id", "?"): p for d in docs if (p := problems(d, spec))}
