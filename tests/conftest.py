"""Shared fixtures. Tests that read ../shared/data/sources use `sources_dir`: in CI
(PCF_REQUIRE_SHARED=1) a missing directory fails them; elsewhere they are skipped."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pytest

from pipelines.config import PROJECT_ROOT, settings

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


def _sources_dir() -> Path:
    return settings().sources_dir


@pytest.fixture(autouse=True, scope="session")
def _isolated_zones(tmp_path_factory):
    """No test writes into the project's data/restricted or data/curated: both default to temporary
    directories for the whole session (a test that needs its own still sets them)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("PCF_RESTRICTED_DIR", str(tmp_path_factory.mktemp("restricted_default")))
    mp.setenv("PCF_CURATED_DIR", str(tmp_path_factory.mktemp("curated_default")))
    yield
    mp.undo()


@pytest.fixture(scope="session")
def sources_dir() -> Path:
    path = _sources_dir()
    if not (path / "cn_mee_electricity_co2").is_dir():
        message = f"shared sources not found at {path} (set PCF_SOURCES_DIR)"
        if os.environ.get("PCF_REQUIRE_SHARED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def raw_copy(tmp_path: Path) -> Path:
    """A private copy of the embedded data/raw, so a test can add or break files."""
    target = tmp_path / "raw"
    shutil.copytree(PROJECT_ROOT / "data" / "raw", target)
    return target


@pytest.fixture
def make_settings(tmp_path: Path):
    def _make(**overrides):
        base = dataclasses.replace(settings(), curated_dir=tmp_path / "curated", raw_dir=PROJECT_ROOT / "data" / "raw")
        return dataclasses.replace(base, **overrides)

    return _make


@pytest.fixture(scope="session")
def full_build(tmp_path_factory, sources_dir):
    """One full build of every real source, shared by the read-only tests."""
    from pipelines.factors.warehouse import build_tables, load_source, source_manifest
    from pipelines.release.publish import publish
    from pipelines.sources import SOURCES

    curated = tmp_path_factory.mktemp("curated")
    s = dataclasses.replace(
        settings(), curated_dir=curated, sources_dir=sources_dir, raw_dir=PROJECT_ROOT / "data" / "raw"
    )
    batches = [load_source(k, s) for k in SOURCES]
    tables, summary = build_tables(batches, s)
    result = publish(s, tables, summary, source_manifest(batches))
    return {"settings": s, "tables": tables, "summary": summary, "result": result, "batches": batches}


@pytest.fixture(scope="session")
def marts_release(full_build, tmp_path_factory):
    """A release with curated factors, steward decisions and product marts from the two example enterprises
    (its own curated and restricted directories), and the engine tables behind the marts."""
    from pipelines.curation.run import curate
    from pipelines.engine.marts import build_marts
    from pipelines.engine.results import compute
    from pipelines.enterprise.intake import ingest_upload
    from pipelines.enterprise.inventory import build_inventory, in_scope, write_inventory
    from pipelines.release.publish import publish

    tmp = tmp_path_factory.mktemp("marts_release")
    s = dataclasses.replace(
        full_build["settings"],
        curated_dir=tmp / "curated",
        restricted_dir=tmp / "restricted",
        raw_dir=PROJECT_ROOT / "data" / "raw",
    )
    for name in ("aluminium_profile", "nev_battery_pack"):
        assert ingest_upload(PROJECT_ROOT / "data" / "raw" / "enterprise" / "examples" / f"{name}.xlsx", s).accepted
    curated = curate(
        s,
        {
            "tables": full_build["tables"],
            "summary": full_build["summary"],
            "sources": full_build["result"].manifest["sources"],
        },
    )
    tables = curated["tables"]
    inv = build_inventory(s, tables["factor"], None, s.gwp_set)
    engine = compute(
        inv["line_emissions"],
        in_scope(s)["product"],
        inv["product_summary"],
        tables["factor"],
        tables["factor_gas"],
        s.gwp_set,
        iterations=200,
    )
    write_inventory(s, engine["inventory"])  # the restricted zone as a run leaves it
    marts = build_marts(engine)
    result = publish(s, {**tables, **marts}, curated["summary"], curated["sources"])
    return {"settings": s, "result": result, "engine": engine, "marts": marts}
