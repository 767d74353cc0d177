"""The Dagster code location: definitions load, the job materialises with checks, a blocking check
failure publishes nothing, the schedule is defined."""

import dataclasses
import shutil

import dagster as dg
import pytest

from pipelines.assets.factors import factor_checks
from pipelines.definitions import defs, nightly_schedule, warehouse_assets
from pipelines.release import list_releases


def test_definitions_load():
    repo = defs.get_repository_def()
    keys = {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()}
    assert {"cn_mee_electricity_co2", "cpcd_snapshot", "epa_sef_v1_2", "uk_desnz_ghg_cf_2024", "epa_ghg_ef_hub_2025",
            "owid_ember_electricity_intensity", "ipcc_gwp_openclimatedata", "cn_fuel_defaults", "literature",
            "validated_factors", "harmonised_factors", "factor_release"} <= keys
    assert defs.resolve_job_def("factor_warehouse_job") is not None
    assert nightly_schedule.cron_schedule == "0 2 * * *" and nightly_schedule.execution_timezone == "Asia/Shanghai"


@pytest.fixture
def env(tmp_path, monkeypatch, sources_dir):
    small = tmp_path / "sources"
    shutil.copytree(sources_dir / "cn_mee_electricity_co2", small / "cn_mee_electricity_co2")
    shutil.copytree(sources_dir / "ipcc_gwp_openclimatedata", small / "ipcc_gwp_openclimatedata")
    monkeypatch.setenv("PCF_SOURCES_DIR", str(small))
    monkeypatch.setenv("PCF_CURATED_DIR", str(tmp_path / "curated"))
    return tmp_path


def _run(tmp_path, run_config=None):
    return dg.materialize([*warehouse_assets, *factor_checks], instance=dg.DagsterInstance.ephemeral(),
                          resources={"io_manager": dg.FilesystemIOManager(base_dir=str(tmp_path / "assets"))},
                          run_config=run_config, raise_on_error=False)


def test_job_materialises_with_checks_and_gwp_set_per_run(env):
    from pipelines.config import settings

    result = _run(env)
    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"ge_factor_critical": True, "ge_factor_warning": True, "ge_quarantine_critical": True,
                      "raw_row_conservation": True, "licence_gate": True}
    assert [m["gwp_set"] for m in list_releases(settings())] == ["AR6"]
    again = _run(env)
    assert again.output_for_node("factor_release")["published"] is False  # nothing changed
    ar5 = _run(env, {"ops": {"validated_factors": {"config": {"gwp_set": "AR5"}}}})
    assert ar5.output_for_node("factor_release")["published"] is True
    assert [m["gwp_set"] for m in list_releases(settings())] == ["AR6", "AR5"]


def test_blocking_check_failure_publishes_nothing(env, monkeypatch):
    from pipelines import warehouse
    from pipelines.config import settings

    assert _run(env).success
    real = warehouse.conservation

    def leaky(*args):
        out = real(*args)
        return {**out, "curated_raw_rows": out["curated_raw_rows"] - 1, "balanced": False}

    monkeypatch.setattr(warehouse, "conservation", leaky)
    path = env / "sources" / "cn_mee_electricity_co2" / "cn_electricity_factors_2021_2022_plus.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",0.5227,", ",0.5300,"), encoding="utf-8")
    failed = _run(env)
    assert not failed.success
    failing = [e.check_name for e in failed.get_asset_check_evaluations() if not e.passed]
    assert failing == ["raw_row_conservation"]
    assert [m["version"] for m in list_releases(settings())] == ["v0001"]
