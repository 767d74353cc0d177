"""Benchmark: the web platform under load, on the 1,000,000-row benchmark warehouse.

1. The benchmark warehouse: bench_ingest's generated 1,000,000-row literature file beside the embedded data,
   built with `pcf build`; a steward approves the generated factors (`pcf approve --source literature`, and
   the held mass change if the release guard holds it) and `pcf build --repeat-last` publishes them, so the
   public catalogue holds them (it shows approved, redistributable factors only).
2. `pcf serve` in its own process on localhost (one process, as in production behind its proxy).
3. 50 concurrent users from an asyncio client (httpx) in this process, each waiting 0.5-1.5 s between its
   requests (a person reading a page): anonymous catalogue searches with words drawn from the generated
   names and the real sources, and enterprise users (logged in) opening their product pages.

Prints `name: value` lines:
  web_catalogue_factors          factors the public catalogue searches
  web_search_p50_ms, web_search_p95_ms            catalogue search latency
  web_product_page_p50_ms, web_product_page_p95_ms  an enterprise's product page (charts, report body)
  web_requests_per_second        answered requests per second over the run, all kinds
  web_errors                     answers other than 200
Targets (issue 15): p95 < 300 ms on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ingest import generate, pcf_env  # noqa: E402

from pipelines.config import PROJECT_ROOT  # noqa: E402

USERS = 50
PASSWORD = "benchmark password 1"
ENTERPRISES = {"91350900MA8EXAMP2H": "battery", "91500113MA5UEXAM1C": "alu"}
WORDS = ["电", "钢", "steel", "electricity", "diesel", "柴油", "铝", "cement", "水泥", "transport", "gas", "煤", "铜"]


def _pcf(env: dict, *args: str) -> subprocess.CompletedProcess:
    pcf = Path(sys.executable).with_name("pcf")
    return subprocess.run([str(pcf), *args], env=env, capture_output=True, text=True)


def warehouse(work: Path, rows: int) -> dict:
    raw = work / "raw"
    shutil.copytree(PROJECT_ROOT / "data" / "raw", raw)
    generate(raw / "literature" / "bench_web.csv", rows)
    env = pcf_env(raw, work / "curated", work / "restricted")
    for step in (
        ("build",),
        ("approve", "--source", "literature", "--yes", "--reason", "benchmark: generated rows", "--no-apply"),
        ("build", "--repeat-last"),
    ):
        done = _pcf(env, *step)
        if done.returncode != 0 and step[0] == "build" and "release guard" in done.stdout:
            held = _pcf(env, "approve", "--change", "literature", "--reason", "benchmark", "--no-apply")
            assert held.returncode == 0, held.stdout[-2000:]
            done = _pcf(env, "build", "--repeat-last")
        if done.returncode != 0:
            raise SystemExit(f"pcf {' '.join(step)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _login(client, name: str) -> None:
    page = await client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = await client.post("/login", data={"csrf": token, "name": name, "password": PASSWORD, "next": "/"})
    assert r.status_code == 303, r.text[:300]


async def load(base: str, seconds: float, product_pages: dict[str, list[str]]) -> dict:
    import httpx

    timings: dict[str, list[float]] = {"search": [], "product": []}
    errors = 0
    stop = time.perf_counter() + seconds

    async def user(i: int) -> None:
        nonlocal errors
        rnd = random.Random(i)
        async with httpx.AsyncClient(base_url=base, timeout=60, follow_redirects=False) as client:
            kind = "product" if i % 5 == 0 else "search"  # one user in five is an enterprise at its products
            if kind == "product":
                uscc = list(ENTERPRISES)[i % 2]
                await _login(client, f"{ENTERPRISES[uscc]}{i}")
                pages = product_pages[uscc]
            await asyncio.sleep(rnd.uniform(0, 1))
            while time.perf_counter() < stop:
                if kind == "product":
                    path = f"/enterprise/products/{rnd.choice(pages)}"
                else:
                    path = f"/factors?q={rnd.choice(WORDS)}" + (
                        f"&year={rnd.randint(2015, 2024)}" if rnd.random() < 0.3 else ""
                    )
                t0 = time.perf_counter()
                r = await client.get(path)
                timings[kind].append(time.perf_counter() - t0)
                if r.status_code != 200:
                    errors += 1
                await asyncio.sleep(rnd.uniform(0.5, 1.5))

    t0 = time.perf_counter()
    await asyncio.gather(*(user(i) for i in range(USERS)))
    return {"timings": timings, "errors": errors, "seconds": time.perf_counter() - t0}


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 1 else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pcf-bench-web-"))
    server = None
    try:
        env = warehouse(work, args.rows)
        os.environ.update({k: env[k] for k in ("PCF_RAW_DIR", "PCF_CURATED_DIR", "PCF_RESTRICTED_DIR")})
        from pipelines.config import settings
        from pipelines.release.manifests import latest_release, read_table
        from pipelines.reporting.data import slug
        from pipelines.web import accounts
        from pipelines.web.public import ReleaseCache

        s = settings()
        for i in range(USERS):
            uscc = list(ENTERPRISES)[i % 2]
            accounts.add_user(s, f"{ENTERPRISES[uscc]}{i}", "enterprise", PASSWORD, uscc)
        fp = read_table(s, latest_release(s)["version"], "product_footprint")
        pages = {u: [slug(k) for k in fp.filter(fp["uscc"] == u)["product_key"]] for u in ENTERPRISES}
        catalogue = ReleaseCache().catalogue(s).height
        port = _free_port()
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("pcf")), "serve", "--port", str(port)],
            env={**env, "PCF_WEB_LOGIN_ATTEMPTS": "1000"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import httpx

        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(base + "/factors?q=warm-up", timeout=120).status_code == 200:  # loads the catalogue
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        asyncio.run(load(base, 0.1, pages))  # each product page rendered once (as after a day's first visit)
        result = asyncio.run(load(base, args.seconds, pages))
        t = result["timings"]
        total = len(t["search"]) + len(t["product"])
        print(f"web_catalogue_factors: {catalogue}")
        print(f"web_users: {USERS}")
        print(f"web_search_p50_ms: {_pct(t['search'], 50):.0f}")
        print(f"web_search_p95_ms: {_pct(t['search'], 95):.0f}")
        print(f"web_product_page_p50_ms: {_pct(t['product'], 50):.0f}")
        print(f"web_product_page_p95_ms: {_pct(t['product'], 95):.0f}")
        print(f"web_requests_per_second: {total / result['seconds']:.1f}")
        print(f"web_errors: {result['errors']}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
