"""Issue 15: the web platform's access rules, route by route and role by role, tenancy between enterprises,
CSRF, login throttling, sessions, security headers, escaping of user text and the upload checks. Every
route the app has must appear in ROUTES below (a new route without an access rule fails
test_every_route_has_an_access_rule). The browser tests are in tests/test_web_browser.py."""

from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient

from pipelines.config import PROJECT_ROOT

ENT_A = "91350900MA8EXAMP2H"  # the battery-pack example enterprise
ENT_B = "91500113MA5UEXAM1C"  # the aluminium-profile example enterprise
PASSWORD = "correct horse battery staple"
ROLES = ("anonymous", "ent_a", "ent_b", "steward", "analyst", "certifier")


@pytest.fixture(scope="module")
def zone(marts_release, tmp_path_factory):
    """A private copy of the marts release (curated, restricted and raw: decisions and uploads write there)."""
    tmp = tmp_path_factory.mktemp("web")
    s = marts_release["settings"]
    shutil.copytree(s.curated_dir, tmp / "curated")
    shutil.copytree(s.restricted_dir, tmp / "restricted")
    shutil.copytree(PROJECT_ROOT / "data" / "raw", tmp / "raw")
    return tmp


@pytest.fixture
def web(zone, monkeypatch):
    monkeypatch.setenv("PCF_CURATED_DIR", str(zone / "curated"))
    monkeypatch.setenv("PCF_RESTRICTED_DIR", str(zone / "restricted"))
    monkeypatch.setenv("PCF_RAW_DIR", str(zone / "raw"))
    monkeypatch.setenv("PCF_WEB_ALLOW_PLAIN_HTTP", "1")  # the test client is not on loopback
    monkeypatch.setenv("PCF_PACT_REQUIRE_HTTPS", "0")
    from pipelines.config import settings
    from pipelines.web import accounts
    from pipelines.web.app import create_app

    s = settings()
    for name, role, ent in (
        ("ent_a", "enterprise", ENT_A),
        ("ent_b", "enterprise", ENT_B),
        ("steward", "steward", None),
        ("analyst", "analyst", None),
        ("certifier", "certifier", None),
    ):
        if accounts.get_user(s, name) is None:
            accounts.add_user(s, name, role, PASSWORD, ent)
    app = create_app(build_worker=False)  # builds are queued, not run (the browser test runs them)
    return app, s


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def client_as(app, role: str) -> tuple[TestClient, str]:
    """A client logged in as `role` (or anonymous) and its CSRF token."""
    c = TestClient(app, follow_redirects=False)
    token = _csrf(c.get("/login").text)
    if role != "anonymous":
        r = c.post("/login", data={"csrf": token, "name": role, "password": PASSWORD, "next": "/"})
        assert r.status_code == 303, r.text
        token = _csrf(c.get("/").text)  # a new session (and token) after login
    return c, token


def _products(s) -> pl.DataFrame:
    from pipelines.release.manifests import latest_release, read_table
    from pipelines.reporting.data import slug

    fp = read_table(s, latest_release(s)["version"], "product_footprint")
    return fp.with_columns(pl.col("product_key").map_elements(slug, return_dtype=pl.String).alias("page"))


def _upload_of(s, uscc: str) -> str:
    from pipelines.enterprise import store

    return next(e["upload_id"] for e in store.registry(s) if e["uscc"] == uscc)


# Who gets what. 200: the page; 303: sent to /login; 404: not found (another role's page or another
# enterprise's thing); None: not checked for this role here (covered by a dedicated test below).
PUBLIC = dict.fromkeys(ROLES, 200)
ENTERPRISE = {"anonymous": 303, "ent_a": 200, "ent_b": 200, "steward": 404, "analyst": 404, "certifier": 404}
STEWARD = {"anonymous": 303, "ent_a": 404, "ent_b": 404, "steward": 200, "analyst": 404, "certifier": 404}
SQL = {"anonymous": 303, "ent_a": 404, "ent_b": 404, "steward": 200, "analyst": 200, "certifier": 404}
CERTIFIER = {"anonymous": 303, "ent_a": 404, "ent_b": 404, "steward": 404, "analyst": 404, "certifier": 200}
A_ONLY = {"anonymous": 303, "ent_a": 200, "ent_b": 404, "steward": 404, "analyst": 404, "certifier": 404}
BUILDS = {"anonymous": 303, "ent_a": 200, "ent_b": 200, "steward": 200, "analyst": 404, "certifier": 404}

ROUTES: list[tuple[str, str, dict]] = [
    ("GET", "/", PUBLIC),
    ("GET", "/factors?q=diesel", PUBLIC),
    ("GET", "/factors.html", dict.fromkeys(ROLES, 303)),
    ("GET", "/products", PUBLIC),
    ("GET", "/index.html", PUBLIC),
    ("GET", "/products/{a_page}.html", PUBLIC),
    ("GET", "/assets/NotoSansCJKsc-subset.otf", PUBLIC),
    ("GET", "/login", PUBLIC),
    ("GET", "/lang/{lang}", dict.fromkeys(ROLES, 303)),
    ("GET", "/favicon.ico", dict.fromkeys(ROLES, 204)),
    ("GET", "/static/app.js", PUBLIC),
    ("GET", "/enterprise", ENTERPRISE),
    ("GET", "/enterprise/template.xlsx", ENTERPRISE),
    ("GET", "/enterprise/mappings", ENTERPRISE),
    ("GET", "/enterprise/uploads/{a_upload}", A_ONLY),
    ("GET", "/enterprise/products/{a_page}", A_ONLY),
    ("GET", "/enterprise/products/{a_page}/report.pdf", A_ONLY),
    ("GET", "/enterprise/products/{a_page}/label.{svg}", A_ONLY),
    ("GET", "/enterprise/products/{a_page}/label.{png}", A_ONLY),
    ("GET", "/enterprise/products/{a_page}/pact.json", A_ONLY),
    ("GET", "/builds/{build}", BUILDS),
    ("GET", "/builds/{build}.json", BUILDS),
    ("GET", "/steward", STEWARD),
    ("GET", "/steward/factors/{factor}", STEWARD),
    ("GET", "/steward/mappings", STEWARD),
    ("GET", "/steward/releases", STEWARD),
    ("GET", "/steward/releases/diff?old={release}&new={release}", STEWARD),
    ("GET", "/steward/runs", STEWARD),
    ("GET", "/steward/audit", STEWARD),
    ("GET", "/analyst/sql", SQL),
    ("GET", "/certifier", CERTIFIER),
]
# POST routes: answered only with the session's CSRF token; checked by role in test_post_routes_by_role
POSTS = [
    "/login",
    "/logout",
    "/enterprise/upload",
    "/steward/decide",
    "/steward/changes/decide",
    "/steward/map",
    "/steward/build",
    "/analyst/sql",
    "/analyst/sql/download",
]
API = [
    "/auth/token",
    "/2/footprints",
    "/2/footprints/{id}",
    "/2/events",
    "/3/footprints",
    "/3/footprints/{id}",
    "/3/events",
]  # the PACT host's routes: tests/test_pact_host.py


def _values(app, s) -> dict:
    prods = _products(s)
    a_page = prods.filter(pl.col("uscc") == ENT_A)["page"][0]
    from pipelines.release.manifests import latest_release

    q = pl.read_parquet(s.curated_dir / "review" / "queue.parquet")
    ticket = app.state.platform.builds.request("test")
    return {
        "a_page": a_page,
        "a_upload": _upload_of(s, ENT_A),
        "factor": q["factor_id"][0],
        "release": latest_release(s)["version"],
        "build": ticket.build_id,
        "lang": "en",
        "svg": "svg",
        "png": "png",
    }


def test_every_route_has_an_access_rule(web):
    app, _ = web
    known = {re.sub(r"\?.*", "", p) for _, p, _ in ROUTES} | set(POSTS) | set(API)
    pattern = {re.sub(r"\{[^}]+\}", "{}", p) for p in known}
    routes = []
    for route in app.routes:  # included routers (FastAPI keeps them as one entry each): their own routes
        inner = getattr(route, "original_router", None)
        routes += inner.routes if inner is not None else [route]
    assert len(routes) > 40
    for route in routes:
        path = getattr(route, "path", "")
        if path.startswith("/static"):
            continue
        assert re.sub(r"\{[^}]+\}", "{}", path) in pattern, f"{path}: no access rule in tests/test_web_access.py"


@pytest.mark.parametrize("role", ROLES)
def test_get_routes_by_role(web, role):
    app, s = web
    values = _values(app, s)
    c, _ = client_as(app, role)
    for method, path, rule in ROUTES:
        expected = rule[role]
        r = c.request(method, path.format(**values))
        assert r.status_code == expected, (role, path, r.status_code)
        if expected == 303 and role == "anonymous" and rule is not PUBLIC and "/lang/" not in path:
            assert r.headers["location"].startswith("/login?next=") or path == "/factors.html", path
        if expected == 404:
            assert values["a_page"] not in r.text  # nothing of A in the answer (not even the address asked for)
            assert role == "ent_a" or ENT_A not in r.text


@pytest.mark.parametrize("role", ROLES)
def test_post_routes_by_role(web, role):
    """Without the CSRF token every POST is refused (403) before anything happens; with it, a role's own
    form answers and another role's is 404 (anonymous: sent to log in)."""
    app, _ = web
    c, token = client_as(app, role)
    own = {
        "/enterprise/upload": ("ent_a", "ent_b"),
        "/steward/decide": ("steward",),
        "/steward/changes/decide": ("steward",),
        "/steward/map": ("steward",),
        "/steward/build": ("steward",),
        "/analyst/sql": ("steward", "analyst"),
        "/analyst/sql/download": ("steward", "analyst"),
    }
    for path in POSTS:
        r = c.post(path, data={"query": "select 1"})
        if path in own and role == "anonymous":
            assert r.status_code == 303, (path, r.status_code)  # to the login page, nothing done
        elif path in own and role not in own[path]:
            assert r.status_code == 404, (path, role, r.status_code)
        else:
            assert r.status_code == 403, (path, role, r.status_code)
        r = c.post(path, data={"csrf": "forged" + token[6:], "query": "select 1"})
        assert r.status_code in (303, 403, 404), (path, r.status_code)
    for path, roles in own.items():
        if role in roles and path.startswith("/analyst"):
            r = c.post(path, data={"csrf": token, "query": "select count(*) as n from factor", "dialect": "duckdb"})
            assert r.status_code == 200, (path, r.text[:300])


def test_enterprise_sees_nothing_of_another_enterprise(web):
    app, s = web
    prods = _products(s)
    b_pages = prods.filter(pl.col("uscc") == ENT_B)["page"].to_list()
    b_names = prods.filter(pl.col("uscc") == ENT_B)["product_name"].to_list()
    b_upload = _upload_of(s, ENT_B)
    c, _ = client_as(app, "ent_a")
    home = c.get("/enterprise").text
    for name in b_names:
        assert name not in home
    assert b_upload not in home and ENT_B not in home
    for page in b_pages:
        for suffix in ("", "/report.pdf", "/label.svg", "/label.png", "/pact.json?spec=3.0"):
            r = c.get(f"/enterprise/products/{page}{suffix}")
            assert r.status_code == 404 and page not in r.text and ENT_B not in r.text, (page, suffix)
    r = c.get(f"/enterprise/uploads/{b_upload}")
    assert r.status_code == 404 and b_upload not in r.text
    for guess in ("../" + b_upload, b_upload.upper(), b_upload[:8], "%2e%2e%2f" + b_upload):
        assert c.get(f"/enterprise/uploads/{guess}").status_code == 404
    # B's inventory lines (restricted) never reach A's pages, and A's own product page shows A's own
    lines = pl.read_parquet(s.restricted_dir / "inventory" / "line_emissions.parquet")
    a_page = prods.filter(pl.col("uscc") == ENT_A)["page"][0]
    mine = c.get(f"/enterprise/products/{a_page}").text
    a_items = set(lines.filter(pl.col("uscc") == ENT_A)["item"].to_list())
    b_only = set(lines.filter(pl.col("uscc") == ENT_B)["item"].to_list()) - a_items
    assert b_only
    for item in b_only:
        assert item not in mine and item not in home, item
    a_item = lines.filter(pl.col("uscc") == ENT_A)["item"][0]
    assert a_item in mine  # the enterprise's own report detail is there
    assert "pcf@example.com" not in c.get("/factors?q=example").text  # the public search has no enterprise data


def test_anonymous_gets_only_public_pages_and_no_restricted_data(web):
    app, s = web
    c, _ = client_as(app, "anonymous")
    from pipelines.enterprise import store

    suppliers = store.read_current(s, "activity")["supplier"].drop_nulls().unique().to_list()
    assert suppliers
    page = _products(s)["page"][0]
    text = c.get(f"/products/{page}.html").text + c.get("/products").text + c.get("/factors").text
    for marker in ("pcf@example.com", "示例电芯厂", *suppliers):
        assert marker not in text, marker
    assert "kg CO2e" in c.get(f"/products/{page}.html").text


def test_login_throttling_and_session_rules(web):
    app, s = web
    c = TestClient(app, follow_redirects=False)
    token = _csrf(c.get("/login").text)
    for _ in range(s.web_login_attempts):
        r = c.post("/login", data={"csrf": token, "name": "analyst", "password": "wrong password!"})
        assert r.status_code == 401 and "analyst" not in r.headers.get("set-cookie", "")
    r = c.post("/login", data={"csrf": token, "name": "analyst", "password": PASSWORD})
    assert r.status_code == 429  # even the right password waits out the window
    from pipelines.web import audit

    actions = [e["action"] for e in audit.read(s) if e["who"] == "analyst"]
    assert actions.count("login.failed") >= s.web_login_attempts and "login.throttled" in actions
    # a fresh session id at login; HttpOnly, SameSite=Strict cookie; unknown user costs a hash check too
    c2 = TestClient(app, follow_redirects=False)
    token2 = _csrf(c2.get("/login").text)
    before = c2.cookies.get("pcf_session")
    r = c2.post("/login", data={"csrf": token2, "name": "certifier", "password": PASSWORD})
    cookie = r.headers["set-cookie"].lower()
    assert r.status_code == 303 and "httponly" in cookie and "samesite=strict" in cookie
    assert c2.cookies.get("pcf_session") != before
    # disabled: the next request has no session any more
    from pipelines.web import accounts

    assert c2.get("/certifier").status_code == 200
    accounts.set_disabled(s, "certifier", True)
    try:
        assert c2.get("/certifier").status_code == 303
        assert accounts.authenticate(s, "certifier", PASSWORD) is None
    finally:
        accounts.set_disabled(s, "certifier", False)
    # logout ends the session
    c3, t3 = client_as(app, "analyst" if False else "steward")
    assert c3.post("/logout", data={"csrf": t3}).status_code == 303
    assert c3.get("/steward").status_code == 303


def test_login_over_plain_http_from_another_host_is_refused(web, monkeypatch):
    app, _ = web
    monkeypatch.setenv("PCF_WEB_ALLOW_PLAIN_HTTP", "0")
    c = TestClient(app, follow_redirects=False)
    token = _csrf(c.get("/login").text)
    r = c.post("/login", data={"csrf": token, "name": "steward", "password": PASSWORD})
    assert r.status_code == 400
    https = TestClient(app, base_url="https://testserver", follow_redirects=False)
    token = _csrf(https.get("/login").text)
    r = https.post("/login", data={"csrf": token, "name": "steward", "password": PASSWORD})
    assert r.status_code == 303 and "secure" in r.headers["set-cookie"].lower()
    assert "max-age=31536000" in https.get("/").headers["strict-transport-security"]


def test_security_headers_on_every_answer(web):
    app, s = web
    c, _ = client_as(app, "anonymous")
    page = _products(s)["page"][0]
    for path in ("/", "/login", "/factors", f"/products/{page}.html", "/nowhere", "/2/footprints"):
        h = c.get(path).headers
        csp = h["content-security-policy"]
        script = next(p for p in csp.split(";") if p.strip().startswith("script-src"))
        assert "'unsafe-inline'" not in script and "frame-ancestors 'none'" in csp, path
        assert h["x-frame-options"] == "DENY" and h["x-content-type-options"] == "nosniff", path
    for path in ("/", "/login", "/factors", f"/products/{page}.html"):
        assert "<script>" not in c.get(path).text and "onclick=" not in c.get(path).text  # no inline script


def test_user_text_is_escaped(web):
    app, s = web
    evil = "<img src=x onerror=alert(1)>"
    c, _ = client_as(app, "anonymous")
    r = c.get("/factors", params={"q": evil, "source": evil})
    assert evil not in r.text and "&lt;img src=x onerror=alert(1)&gt;" in r.text
    st, token = client_as(app, "steward")
    q = pl.read_parquet(s.curated_dir / "review" / "queue.parquet")
    fid = q["factor_id"][0]
    r = st.post("/steward/decide", data={"csrf": token, "action": "approve", "factor_id": fid, "reason": evil})
    assert r.status_code == 303, r.text[:500]
    audit_page = st.get("/steward/audit").text
    assert evil not in audit_page and "&lt;img" in audit_page
    r = st.get("/login", params={"next": "//evil.example/x"})
    assert 'value="/"' in r.text  # no open redirect after login
    assert st.get("/lang/en", params={"next": "https://evil.example"}).headers["location"] == "/"


def test_steward_decision_goes_through_the_log_and_queues_a_build(web):
    app, s = web
    from pipelines.curation.decisions import read_log
    from pipelines.web import audit

    st, token = client_as(app, "steward")
    q = pl.read_parquet(s.curated_dir / "review" / "queue.parquet")
    ids = q["factor_id"].head(3).to_list()
    before = read_log(s).height
    r = st.post("/steward/decide", data={"csrf": token, "action": "reject", "factor_id": ids, "reason": "test: web"})
    assert r.status_code == 303 and r.headers["location"].startswith("/builds/")  # to the build's progress
    assert "reject 3 factor(s) by steward" in st.get(r.headers["location"]).text
    log = read_log(s)
    assert log.height == before + 3 and set(log.tail(3)["factor_id"]) == set(ids)
    assert set(log.tail(3)["steward"]) == {"steward"}
    entry = audit.read(s)[-1]
    assert entry["action"] == "decision.reject" and entry["factors"] == 3 and entry["address"] == "testclient"
    assert app.state.platform.builds.busy()  # a rebuild is queued, the request did not wait for it
    r = st.post("/steward/decide", data={"csrf": token, "action": "approve", "factor_id": ids[0], "reason": " "})
    assert r.status_code == 400 and "reason is required" in r.text
    r = st.post(
        "/steward/decide",
        data={"csrf": token, "action": "override", "factor_id": ids[0], "reason": "x", "value": "-1", "source": "doc"},
    )
    assert r.status_code == 400 and read_log(s).height == before + 3  # nothing written by a refused decision
    r = st.post("/steward/decide", data={"csrf": token, "action": "approve", "factor_id": "Fnope", "reason": "x"})
    assert r.status_code == 400 and "not in release" in r.text


def _workbook(tmp_path: Path, uscc: str, break_line: bool = False) -> Path:
    from pipelines.enterprise.examples import EXAMPLES
    from pipelines.enterprise.template import write_workbook

    data = copy.deepcopy(EXAMPLES["aluminium_profile"])
    data["enterprise"][0]["uscc"] = uscc
    data["activity"][0]["amount"] = 7651  # not the example's bytes
    if break_line:
        data["activity"][1]["amount"] = "lots"
    return write_workbook(tmp_path / ("broken.xlsx" if break_line else "fixed.xlsx"), data)


def test_upload_checks_before_anything_is_stored(web, tmp_path):
    app, s = web
    from pipelines.enterprise import store

    c, token = client_as(app, "ent_a")
    before = len(store.registry(s))
    other = _workbook(tmp_path, ENT_B)  # a valid workbook of another enterprise
    r = c.post("/enterprise/upload", data={"csrf": token}, files={"file": ("b.xlsx", other.read_bytes())})
    assert r.status_code == 403 and len(store.registry(s)) == before
    r = c.post("/enterprise/upload", data={"csrf": token}, files={"file": ("x.exe", b"MZ...")})
    assert r.status_code == 400
    r = c.post("/enterprise/upload", data={"csrf": token}, files={"file": ("x.xlsx", b"not a zip at all")})
    assert r.status_code == 422 and "<table" in r.text and len(store.registry(s)) == before
    big = b"0" * int(s.web_max_upload_mb * 1024 * 1024 + 200_000)
    r = c.post("/enterprise/upload", data={"csrf": token}, files={"file": ("big.csv", big)})
    assert r.status_code == 413 and len(store.registry(s)) == before
    assert not any((s.restricted_dir / "web" / "incoming").iterdir())  # nothing left behind
    # B uploads its own workbook with a broken line: stored, quarantined lines shown with sheet/row/column
    cb, tb = client_as(app, "ent_b")
    broken = _workbook(tmp_path, ENT_B, break_line=True)
    r = cb.post("/enterprise/upload", data={"csrf": tb}, files={"file": ("<b>broken</b>.xlsx", broken.read_bytes())})
    assert r.status_code == 303, r.text[:500]
    page = cb.get(r.headers["location"])
    assert page.status_code == 200 and 'id="issues"' in page.text and "<b>broken" not in page.text
    upload_id = r.headers["location"].split("/")[3].split("?")[0]
    q = pl.read_parquet(store.upload_dir(s, upload_id) / "quarantine.parquet")
    assert q.height >= 1 and q["row"][0] is not None
    from markupsafe import escape

    bad = q.filter(pl.col("severity") == "error").row(0, named=True)
    assert f"<td>{bad['row']}</td>" in page.text and str(escape(bad["message_zh"])) in page.text
    assert c.get(r.headers["location"]).status_code == 404  # A cannot open B's upload


def test_analyst_console_uses_the_sql_guard(web):
    app, _ = web
    c, token = client_as(app, "analyst")
    for bad in (
        "drop table factor",
        "select * from read_csv('/etc/passwd')",
        "copy factor to '/tmp/x.csv'",
        "select 1; select 2",
        "attach '/tmp/x.duckdb'",
    ):
        r = c.post("/analyst/sql", data={"csrf": token, "query": bad, "dialect": "duckdb"})
        assert r.status_code == 400 and 'id="sql-error"' in r.text, bad
    r = c.post("/analyst/sql/download", data={"csrf": token, "query": "select '=1+1' as x, 2 as y", "format": "csv"})
    assert r.status_code == 200 and r.text.splitlines()[1].startswith("'=1+1")
    r = c.post("/analyst/sql/download", data={"csrf": token, "query": "select 1 as x", "format": "parquet"})
    assert r.status_code == 200 and r.content[:4] == b"PAR1"
    examples = c.get("/analyst/sql").text
    from pipelines.release.analyst_sql import example_queries

    for name, _d, _q in example_queries():
        assert f"example={name}" in examples
        r = c.get("/analyst/sql", params={"example": name})
        assert r.status_code == 200


def test_pact_host_still_answers_in_the_same_app(web):
    app, s = web
    from pipelines.pact import access

    cid, secret = access.add_client(s, "Web GmbH")
    c = TestClient(app)
    r = c.post("/auth/token", auth=(cid, secret), data={"grant_type": "client_credentials"})
    assert r.status_code == 200 and "set-cookie" not in r.headers  # no web session for API calls
    h = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert c.get("/2/footprints", headers=h).json() == {"data": []}  # nothing granted to it
    assert c.get("/2/nothing", headers=h).status_code == 404


def test_user_cli(zone, monkeypatch):
    from typer.testing import CliRunner

    from pipelines.cli import app

    monkeypatch.setenv("PCF_RESTRICTED_DIR", str(zone / "restricted"))
    runner = CliRunner()
    r = runner.invoke(
        app,
        ["user", "add", "cli-user", "--role", "enterprise", "--enterprise", ENT_A, "--password-stdin"],
        input="a long enough password\n",
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        app,
        ["user", "add", "cli-user2", "--role", "enterprise", "--enterprise", "123", "--password-stdin"],
        input="a long enough password\n",
    )
    assert r.exit_code != 0 and "18 characters" in r.output
    r = runner.invoke(app, ["user", "add", "x", "--role", "steward", "--password-stdin"], input="short\n")
    assert r.exit_code != 0
    r = runner.invoke(app, ["user", "disable", "cli-user"])
    assert r.exit_code == 0
    r = runner.invoke(app, ["user", "list"])
    assert "cli-user" in r.output and "disabled" in r.output
    stored = (zone / "restricted" / "web" / "users.jsonl").read_text(encoding="utf-8")
    assert "a long enough password" not in stored and "$argon2id$" in stored
