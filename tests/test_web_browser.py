"""Issue 15: the web platform as its users use it, in the system Chromium driven by Playwright (no browser
download: `executable_path`). One server on localhost over a fresh warehouse (its own curated, restricted
and raw directories, one `pcf build` first); every build the pages start is a real `pcf build` run.

  enterprise: logs in, uploads a workbook with an error, sees the line (sheet, row, column, message), fixes
              it, uploads again (superseding), sees its footprint from the new release, downloads the PDF;
              another enterprise's product, label, PACT document and upload by URL: 404
  steward:    approves a factor from the review queue; the enterprise's footprint page shows the new release
  anonymous:  public pages only, sent to the login page elsewhere
  CSRF:       a POST without the token is refused (403)
Screenshots go to test-artifacts/web-*.png.
"""

from __future__ import annotations

import copy
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import polars as pl
import pytest

from pipelines.config import PROJECT_ROOT
from tests.browser import FLAGS, chromium

ENT_A = "91350900MA8EXAMP2H"
ENT_B = "91500113MA5UEXAM1C"
PASSWORD = "correct horse battery staple"
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
BUILD_WAIT_MS = 180_000


def _chromium() -> str:
    found = chromium()
    if not found:
        pytest.skip("Chromium not installed (the CI installs it)")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(sources_dir, tmp_path_factory):
    """A fresh warehouse (one `pcf build`), accounts, and the platform on a localhost port."""
    import uvicorn

    tmp = tmp_path_factory.mktemp("web_browser")
    shutil.copytree(PROJECT_ROOT / "data" / "raw", tmp / "raw")
    env = {
        "PCF_CURATED_DIR": str(tmp / "curated"),
        "PCF_RESTRICTED_DIR": str(tmp / "restricted"),
        "PCF_RAW_DIR": str(tmp / "raw"),
        "PCF_SOURCES_DIR": str(sources_dir),
        "PCF_SITE_BASE_URL": "http://127.0.0.1",
    }
    mp = pytest.MonkeyPatch()
    for k, v in env.items():
        mp.setenv(k, v)  # the server thread and the builds it starts (child processes) read these
    mp.delenv("DAGSTER_HOME", raising=False)
    first = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "build"], capture_output=True, text=True, env={**os.environ}
    )
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    from pipelines.config import settings
    from pipelines.web import accounts
    from pipelines.web.app import create_app

    s = settings()
    accounts.add_user(s, "alu", "enterprise", PASSWORD, ENT_B)
    accounts.add_user(s, "steward", "steward", PASSWORD)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.1)
    yield {"url": f"http://127.0.0.1:{port}", "settings": s, "tmp": tmp}
    srv.should_exit = True
    thread.join(10)
    mp.undo()


@pytest.fixture(scope="module")
def browser(server):
    chromium = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("PCF_REQUIRE_CHROMIUM") == "1":
            pytest.fail("playwright is required here (it is in the test extras of the lockfile)")
        pytest.skip("playwright not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=FLAGS, headless=True)
        yield b
        b.close()


def _login(browser, url: str, name: str):
    ctx = browser.new_context(accept_downloads=True, locale="zh-CN")
    page = ctx.new_page()
    page.goto(f"{url}/login")
    page.fill('input[name="name"]', name)
    page.fill('input[name="password"]', PASSWORD)
    page.click("#login-submit")
    page.wait_for_load_state()
    return ctx, page


def _workbook(tmp: Path, name: str, amount, broken: bool) -> Path:
    from pipelines.enterprise.examples import EXAMPLES
    from pipelines.enterprise.template import write_workbook

    data = copy.deepcopy(EXAMPLES["aluminium_profile"])
    data["activity"][0]["amount"] = amount
    if broken:
        data["activity"][1]["amount"] = "about 20"
    return write_workbook(tmp / name, data)


def _wait_build(page, server) -> None:
    box = page.locator("#build-status")
    build_id = box.get_attribute("data-build")
    log = server["settings"].curated_dir / "web" / "builds" / f"{build_id}.log"
    try:
        page.wait_for_selector(
            '.build-state[data-state="succeeded"], .build-state[data-state="failed"]', timeout=BUILD_WAIT_MS
        )
    except Exception:
        pytest.fail(f"build {build_id} did not end: {log.read_text()[-3000:] if log.exists() else 'no log'}")
    state = page.locator(".build-state").get_attribute("data-state")
    assert state == "succeeded", f"build {build_id} {state}: {log.read_text()[:4000] if log.exists() else ''}"


def _footprint(s, product_id: str) -> tuple[str, float]:
    from pipelines.release.manifests import latest_release, read_table

    v = latest_release(s)["version"]
    fp = read_table(s, v, "product_footprint").filter(pl.col("product_id") == product_id)
    return v, fp["co2e_kg"][0]


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"web-{name}.png"), full_page=True)


def test_anonymous_sees_public_pages_only(server, browser):
    url = server["url"]
    ctx = browser.new_context()
    page = ctx.new_page()
    r = page.goto(f"{url}/factors?q=diesel")
    assert r.status == 200 and int(page.inner_text("#match-count")) > 0
    _shot(page, "catalogue")
    page.goto(f"{url}/products")
    assert page.locator("a[href^='products/']").count() >= 3
    for path in ("/enterprise", "/steward", "/analyst/sql", "/certifier"):
        page.goto(url + path)
        assert page.url.startswith(f"{url}/login?next="), path
    ctx.close()


def test_enterprise_upload_fix_footprint_pdf_and_steward_release(server, browser, tmp_path):
    url, s = server["url"], server["settings"]
    ctx, page = _login(browser, url, "alu")
    assert page.url == f"{url}/enterprise"
    # 1. a workbook with an error: the line is shown with sheet, row, column and message
    page.set_input_files("#upload-file", str(_workbook(tmp_path, "profiles-2024.xlsx", 7700, broken=True)))
    page.click("#upload-submit")
    page.wait_for_selector("#issues")
    row = page.locator("#issues tbody tr.error").first
    cells = row.locator("td").all_inner_texts()
    assert cells[1] == "4" and cells[2] == "amount" and "about 20" in cells[4], cells
    _shot(page, "upload-errors")
    _wait_build(page, server)
    # 2. fixed and uploaded again: supersedes the first, no quarantined line, footprint recomputed
    page.goto(f"{url}/enterprise")
    page.set_input_files("#upload-file", str(_workbook(tmp_path, "profiles-2024-fixed.xlsx", 7700, broken=False)))
    page.click("#upload-submit")
    page.wait_for_selector("#upload-status")
    assert page.inner_text("#issue-count") == "0"
    _wait_build(page, server)
    version, value = _footprint(s, "AP-6063")
    page.goto(f"{url}/enterprise")
    assert page.locator("#uploads tbody tr").count() >= 3  # the example, the broken one, the fixed one
    page.click("#products a >> nth=0")
    page.wait_for_selector("#footprint-value")
    shown = page.inner_text("#footprint-value")
    product_id = page.locator("h1 small").inner_text()
    version, value = _footprint(s, product_id)
    assert page.inner_text("#footprint-release") == version and f"{value:.4g}" in shown, (shown, value)
    assert page.locator("svg.bars").count() == 3  # stage, gas and contribution charts
    _shot(page, "footprint")
    with page.expect_download() as dl:
        page.click("#report-en")
    pdf = Path(dl.value.path()).read_bytes()
    assert pdf[:5] == b"%PDF-" and len(pdf) > 20_000
    product_page = page.url
    # 3. another enterprise's things by URL: 404, nothing of it shown
    from pipelines.enterprise import store
    from pipelines.release.manifests import latest_release, read_table
    from pipelines.reporting.data import slug

    fp = read_table(s, latest_release(s)["version"], "product_footprint")
    other = slug(fp.filter(pl.col("uscc") == ENT_A)["product_key"][0])
    other_upload = next(e["upload_id"] for e in store.registry(s) if e["uscc"] == ENT_A)
    for path in (
        f"/enterprise/products/{other}",
        f"/enterprise/products/{other}/report.pdf",
        f"/enterprise/products/{other}/label.png",
        f"/enterprise/products/{other}/pact.json",
        f"/enterprise/uploads/{other_upload}",
        "/steward",
        "/analyst/sql",
    ):
        r = page.request.get(url + path)
        assert r.status == 404, (path, r.status)
        assert ENT_A not in r.text() and other not in r.text()
    # 4. a POST without the CSRF token is refused, with the session cookie sent along
    status = page.evaluate(
        "async () => (await fetch('/enterprise/upload', {method: 'POST', body: new FormData()})).status"
    )
    assert status == 403
    # 5. a steward approves a factor; a new release; the enterprise's page shows it
    sctx, spage = _login(browser, url, "steward")
    assert spage.url == f"{url}/steward"
    spage.goto(f"{url}/steward?status=pending")
    if spage.locator("#queue input.pick").count() == 0:
        spage.goto(f"{url}/steward")
    spage.locator("#queue input.pick").first.check()
    spage.fill("#decide-reason", "checked against the source document (browser test)")
    _shot(spage, "review-queue")
    spage.click("#approve-selected")
    spage.wait_for_selector("#build-reasons")
    before = latest_release(s)["version"]
    _wait_build(spage, server)
    after = latest_release(s)["version"]
    assert after != before
    page.goto(product_page)
    assert page.inner_text("#footprint-release") == after
    status = spage.evaluate("async () => (await fetch('/steward/build', {method: 'POST'})).status")
    assert status == 403
    from pipelines.web import audit

    actions = [e["action"] for e in audit.read(s)]
    assert actions.count("upload") == 2 and "decision.approve" in actions and actions.count("login") >= 2
    sctx.close()
    ctx.close()
