"""Issue 16: the PACT host, tested as a customer's system would use it: a token, list, filter, paginate,
fetch, request by event and receive the answer on a local endpoint, every error case; a client without a
grant sees nothing. Every document served validates against the official schema of its version."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pipelines.pact import access
from pipelines.pact.spec import problems, schema_problems


@pytest.fixture
def host(marts_release, monkeypatch, tmp_path):
    s = marts_release["settings"]
    monkeypatch.setenv("PCF_CURATED_DIR", str(s.curated_dir))
    monkeypatch.setenv("PCF_RESTRICTED_DIR", str(tmp_path / "restricted"))
    monkeypatch.setenv("PCF_PACT_REQUIRE_HTTPS", "0")
    import shutil

    shutil.copytree(s.restricted_dir, tmp_path / "restricted")  # grants and logs of this test only
    from pipelines.config import settings
    from pipelines.pact.host import create_app
    from pipelines.release.publish import read_table

    cur = settings()
    marts = read_table(cur, marts_release["result"].version, "product_footprint")
    return TestClient(create_app()), cur, marts


def _token(client: TestClient, cid: str, secret: str) -> str:
    r = client.post("/auth/token", auth=(cid, secret), data={"grant_type": "client_credentials"})
    assert r.status_code == 200, r.text
    assert r.json()["token_type"] == "bearer"
    return r.json()["access_token"]


class Callback:
    """A customer's event endpoint on localhost: records what the host sends."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                outer.received.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, n: int = 1) -> list[dict]:
        for _ in range(100):
            if len(self.received) >= n:
                break
            time.sleep(0.05)
        return self.received


def test_auth_token_and_every_error_code(host, monkeypatch):
    client, s, _ = host
    cid, secret = access.add_client(s, "Example GmbH")
    assert client.post("/auth/token", auth=(cid, "wrong"), data={"grant_type": "client_credentials"}).status_code == 401
    assert client.post("/auth/token", auth=(cid, secret), data={"grant_type": "password"}).status_code == 400
    token = _token(client, cid, secret)
    r = client.get("/2/footprints")  # no token
    assert r.status_code == 403 and r.json()["code"] == "AccessDenied"
    r = client.get("/2/footprints", headers={"Authorization": "Bearer not.a-token"})
    assert r.status_code == 400 and r.json()["code"] == "BadRequest"
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert client.get("/2/footprints", headers={"Authorization": f"Bearer {forged}"}).json()["code"] == "BadRequest"
    monkeypatch.setenv("PCF_PACT_TOKEN_SECONDS", "-1")
    expired = _token(client, cid, secret)
    r = client.get("/2/footprints", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and r.json()["code"] == "TokenExpired"
    h = {"Authorization": f"Bearer {token}"}
    r = client.get(f"/2/footprints/{uuid.uuid4()}", headers=h)
    assert r.status_code == 404 and r.json() == {
        "code": "NoSuchFootprint",
        "message": "The specified footprint does not exist",
    }
    assert client.get("/2/footprints?limit=0", headers=h).json()["code"] == "BadRequest"
    assert client.get("/2/footprints?$filter=drop table", headers=h).json()["code"] == "BadRequest"
    r = client.post(
        "/2/events",
        headers={**h, "Content-Type": "application/cloudevents+json"},
        content=json.dumps(
            {
                "type": "org.example.Unknown",
                "specversion": "1.0",
                "id": "1",
                "source": "//x",
                "time": "2025-01-01T00:00:00Z",
                "data": {},
            }
        ),
    )
    assert r.status_code == 400 and r.json()["code"] == "NotImplemented"
    r = client.post(
        "/2/events",
        headers=h,
        content=json.dumps(
            {
                "type": "org.wbcsd.pathfinder.ProductFootprint.Published.v1",
                "specversion": "1.0",
                "id": "2",
                "source": "//x",
                "time": "2025-01-01T00:00:00Z",
                "data": {"pfIds": ["urn:not-a-uuid"]},
            }
        ),
    )
    assert r.status_code == 400 and r.json()["code"] == "BadRequest"
    monkeypatch.setenv("PCF_PACT_REQUIRE_HTTPS", "1")
    r = client.get("/2/footprints", headers=h)
    assert r.status_code == 400 and "HTTPS" in r.json()["message"]
    assert client.get("/2/footprints", headers={**h, "X-Forwarded-Proto": "https"}).status_code == 200


def test_a_client_sees_only_what_an_enterprise_granted_and_every_document_validates(host):
    client, s, marts = host
    cid, secret = access.add_client(s, "Example GmbH")
    other, other_secret = access.add_client(s, "Someone else")
    h = {"Authorization": f"Bearer {_token(client, cid, secret)}"}
    assert client.get("/2/footprints", headers=h).json() == {"data": []}  # nothing granted yet
    ent = marts["uscc"][0]
    access.grant(s, ent, cid, "*", "enterprise-admin", "supply contract 2025")
    docs = client.get("/2/footprints", headers=h).json()["data"]
    own = marts.filter(marts["uscc"] == ent)
    assert docs and all(d["companyIds"][0].endswith(ent) for d in docs)
    assert len(docs) <= own.height
    for d in docs:
        assert problems(d, "2.3") == [], problems(d, "2.3")
        got = client.get(f"/2/footprints/{d['id']}", headers=h)
        assert got.status_code == 200 and got.json()["data"] == d
    v3 = client.get("/3/footprints", headers=h).json()["data"]
    assert v3 and all(schema_problems(d, "3.0") == [] for d in v3)
    # the other client, and the other enterprise's products, stay invisible, by list and by id
    h2 = {"Authorization": f"Bearer {_token(client, other, other_secret)}"}
    assert client.get("/2/footprints", headers=h2).json()["data"] == []
    assert client.get(f"/2/footprints/{docs[0]['id']}", headers=h2).status_code == 404
    # a revoked grant takes effect at once; grants and served documents are logged
    access.grant(s, ent, cid, "*", "enterprise-admin", "contract ended", revoke=True)
    assert client.get("/2/footprints", headers=h).json()["data"] == []
    zone = s.restricted_dir / "pact"
    assert len((zone / "grants.jsonl").read_text(encoding="utf-8").splitlines()) == 2
    served = [json.loads(x) for x in (zone / "served.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {x["client"] for x in served} == {cid} and served[0]["documents"][0]["id"] == docs[0]["id"]


def test_filter_and_pagination(host):
    client, s, marts = host
    cid, secret = access.add_client(s, "Example GmbH")
    for ent in set(marts["uscc"].to_list()):
        access.grant(s, ent, cid, "*", "admin", "all")
    h = {"Authorization": f"Bearer {_token(client, cid, secret)}"}
    everything = client.get("/2/footprints", headers=h).json()["data"]
    assert len(everything) >= 2
    pid = everything[0]["productIds"][0]
    flt = f"productIds/any(productId:(productId eq '{pid}'))"
    only = client.get("/2/footprints", params={"$filter": flt}, headers=h).json()["data"]
    assert [d["id"] for d in only] == [everything[0]["id"]]
    geo = everything[0]["pcf"].get("geographyCountrySubdivision") or everything[0]["pcf"]["geographyCountry"]
    key = "geographyCountrySubdivision" if "geographyCountrySubdivision" in everything[0]["pcf"] else "geographyCountry"
    by_geo = client.get(
        "/2/footprints", params={"$filter": f"pcf/{key} eq '{geo}' and created ge '2000-01-01T00:00:00Z'"}, headers=h
    ).json()["data"]
    assert everything[0]["id"] in [d["id"] for d in by_geo]
    r = client.get("/2/footprints?limit=1", headers=h)
    link = r.headers["link"]
    assert r.json()["data"] == everything[:1] and link.endswith('rel="next"') and link.startswith("<http")
    nxt = link[1 : link.index(">")]
    second = client.get(nxt, headers=h)
    assert second.json()["data"] == everything[1:2]
    stale = base64.urlsafe_b64encode(json.dumps({"o": 1, "l": 1, "q": {}, "e": 0}).encode()).decode()
    assert client.get(f"/2/footprints?cursor={stale}", headers=h).json()["code"] == "BadRequest"
    v3 = client.get("/3/footprints", params={"productId": pid}, headers=h).json()["data"]
    assert len(v3) == 1 and v3[0]["productIds"] == [pid]
    assert client.get("/3/footprints", params={"colour": "green"}, headers=h).json()["code"] == "BadRequest"


def test_a_request_event_is_answered_at_the_customers_endpoint(host):
    client, s, marts = host
    cid, secret = access.add_client(s, "Example GmbH")
    ent = marts["uscc"][0]
    access.grant(s, ent, cid, "*", "admin", "contract")
    h = {"Authorization": f"Bearer {_token(client, cid, secret)}", "Content-Type": "application/cloudevents+json"}
    docs = client.get("/2/footprints", headers=h).json()["data"]
    callback = Callback()
    try:
        request = {
            "type": "org.wbcsd.pathfinder.ProductFootprintRequest.Created.v1",
            "specversion": "1.0",
            "id": "req-1",
            "source": callback.url,
            "time": "2025-06-01T00:00:00Z",
            "data": {"pf": {"productIds": docs[0]["productIds"]}, "comment": "please"},
        }
        r = client.post("/2/events", headers=h, content=json.dumps(request))
        assert r.status_code == 200 and r.content == b""
        fulfilled = callback.wait(1)[0]
        assert fulfilled["type"] == "org.wbcsd.pathfinder.ProductFootprintRequest.Fulfilled.v1"
        assert fulfilled["data"]["requestEventId"] == "req-1" and fulfilled["data"]["pfs"][0]["id"] == docs[0]["id"]
        denied = dict(request, id="req-2", data={"pf": {"productIds": ["urn:pact:x:product-id:not-granted"]}})
        client.post("/2/events", headers=h, content=json.dumps(denied))
        rejected = callback.wait(2)[1]
        assert rejected["type"] == "org.wbcsd.pathfinder.ProductFootprintRequest.Rejected.v1"
        assert rejected["data"] == {
            "requestEventId": "req-2",
            "error": {"code": "NoSuchFootprint", "message": "no footprint matches the request for this client"},
        }
    finally:
        callback.server.shutdown()


def test_pact_pull_fetches_and_validates_from_a_host(host):
    from pipelines.pact.client import pull

    client, s, marts = host
    cid, secret = access.add_client(s, "Warehouse B")
    for ent in set(marts["uscc"].to_list()):
        access.grant(s, ent, cid, "*", "admin", "exchange")
    docs, bad = pull("http://testserver", cid, secret, "2.3", limit=1, transport=client._transport)
    assert len(docs) >= 2 and bad == {}  # followed every Link, each document valid
    docs3, bad3 = pull("http://testserver", cid, secret, "3.0", transport=client._transport)
    assert docs3 and bad3 == {}


def test_the_official_examples_validate_and_our_spec_rules_see_what_the_schema_does_not():
    from pipelines.config import settings

    root = Path(settings().pact_spec_dir)
    for spec, folder in (("2.3", "v2.3"), ("3.0", "v3.0")):
        for path in sorted((root / folder / "examples").glob("*.json")):
            body = json.loads(path.read_text(encoding="utf-8"))
            docs = body["data"] if isinstance(body.get("data"), list) else [body.get("data", body)]
            for d in docs:
                assert schema_problems(d, spec) == [], (path, schema_problems(d, spec))
    example = json.loads((root / "v3.0" / "examples" / "example-1.json").read_text(encoding="utf-8"))
    assert "id: must be a UUID v4" in problems(example, "3.0")  # valid for the schema, not for the spec text


def test_export_v3_and_pcf_serve_on_a_port(host, tmp_path):
    import socket
    import subprocess
    import sys

    import httpx
    from typer.testing import CliRunner

    from pipelines.cli import app

    client, s, marts = host
    product = marts["product_key"][0]
    out = CliRunner().invoke(app, ["export", "pact", product, "--out", str(tmp_path), "--spec-version", "3.0"])
    assert out.exit_code == 0, out.output
    doc = json.loads(next(tmp_path.glob("*.pact-3.0.0.json")).read_text(encoding="utf-8"))
    assert doc["specVersion"] == "3.0.0" and schema_problems(doc, "3.0") == []
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/2/footprints", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert r.status_code == 403 and r.json()["code"] == "AccessDenied"
    finally:
        proc.terminate()
        proc.wait(10)


def test_published_events_tell_each_client_once_about_granted_footprints(host):
    from pipelines.pact.host import notify

    client, s, marts = host
    callback = Callback()
    try:
        cid, _ = access.add_client(s, "Example GmbH", events_url=callback.url)
        quiet, _ = access.add_client(s, "No endpoint")
        ent = marts["uscc"][0]
        assert notify(s) == {}  # nothing granted: nothing told
        access.grant(s, ent, cid, "*", "admin", "contract")
        access.grant(s, ent, quiet, "*", "admin", "contract")
        sent = notify(s)
        assert list(sent) == [cid] and sent[cid]
        event = callback.wait(1)[0]
        assert event["type"] == "org.wbcsd.pathfinder.ProductFootprint.Published.v1"
        assert event["data"]["pfIds"] == sent[cid] and all(uuid.UUID(i).version == 4 for i in sent[cid])
        assert notify(s) == {}  # told once
    finally:
        callback.server.shutdown()
