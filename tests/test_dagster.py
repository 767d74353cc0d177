"""The Dagster code location: definitions load, the job materialises with checks, a blocking check
failure publishes nothing, the schedule is defined."""

import shutil

import dagster as dg
import pytest

from pipelines.asset_store import FrameStoreIOManager
from pipelines.definitions import defs, nightly_schedule, warehouse_assets, warehouse_checks
from pipelines.release.publish import list_releases
from pipelines.resources import WarehouseResource
from pipelines.runs import list_runs
from pipelines.sources import SOURCES


def test_definitions_load():
    repo = defs.get_repository_def()
    keys = {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()}
    assert {
        "cn_mee_electricity_co2",
        "cpcd_snapshot",
        "epa_sef_v1_2",
        "uk_desnz_ghg_cf_2024",
        "epa_ghg_ef_hub_2025",
        "owid_ember_electricity_intensity",
        "ipcc_gwp_openclimatedata",
        "cn_fuel_defaults",
        "literature",
        "validated_factors",
        "harmonised_factors",
        "factor_release",
    } <= keys
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


_INSTANCES: dict[str, dg.DagsterInstance] = {}  # one run storage per test: list_runs reads it


def _instance(tmp_path) -> dg.DagsterInstance:
    return _INSTANCES.setdefault(str(tmp_path), dg.DagsterInstance.ephemeral())


def _run(tmp_path, run_config=None):
    return dg.materialize(
        [*warehouse_assets, *warehouse_checks],
        instance=_instance(tmp_path),
        resources={
            "io_manager": FrameStoreIOManager(base_dir=str(tmp_path / "assets")),
            "warehouse": WarehouseResource(),
        },
        run_config=run_config,
        raise_on_error=False,
    )


def test_job_materialises_with_checks_and_gwp_set_per_run(env):
    from pipelines.config import settings

    result = _run(env)
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    checks = {e.check_name: e.passed for e in evaluations if e.check_name != "freshness"}
    assert checks == {
        "ge_factor_critical": True,
        "ge_factor_warning": True,
        "ge_quarantine_critical": True,
        "raw_row_conservation": True,
        "licence_gate": True,
        "release_guard": True,
        "marts_consistent": True,
        "release_matches_manifest": True,
    }
    # freshness warns per source: a source absent from this small sources dir fails it, the run goes on
    fresh = {e.asset_key.to_user_string(): e for e in evaluations if e.check_name == "freshness"}
    assert set(fresh) == set(SOURCES)
    assert not fresh["epa_sef_v1_2"].passed and fresh["epa_sef_v1_2"].severity == dg.AssetCheckSeverity.WARN
    assert fresh["literature"].passed  # rolling submissions are not judged
    summary = list_runs(_instance(env))[-1]
    assert summary["status"] == "published" and summary["release"]["version"] == "v0001"
    assert summary["validation"]["rows_in"] > 0 and summary["harmonised"]["factors"] > 0
    assert summary["sources"]["cn_mee_electricity_co2"]["status"] == "loaded"
    assert "freshness_epa_sef_v1_2" in summary["checks_failed"]
    assert [m["gwp_set"] for m in list_releases(settings())] == ["AR6"]
    # each release table is an asset of its own: columns typed and described, rows counted, file named
    manifest = list_releases(settings())[-1]
    mats = {e.asset_key.to_user_string(): e.materialization.metadata for e in result.get_asset_materialization_events()}
    assert {f"release/{name}" for name in manifest["tables"]} <= set(mats)
    factor = mats["release/factor"]
    assert factor["dagster/row_count"].value == manifest["tables"]["factor"]["rows"] > 0
    assert factor["sha256"].value == manifest["tables"]["factor"]["sha256"]
    columns = {c.name: c for c in factor["dagster/column_schema"].value.columns}
    assert list(columns)[:1] == ["factor_id"] and "CO2e" in columns["co2e_kg"].description
    assert columns["co2e_kg"].type == "double"
    again = _run(env)
    assert again.output_for_node("factor_release")["published"] is False  # nothing changed
    ar5 = _run(env, {"ops": {"validated_factors": {"config": {"gwp_set": "AR5"}}}})
    assert ar5.output_for_node("factor_release")["published"] is True
    assert [m["gwp_set"] for m in list_releases(settings())] == ["AR6", "AR5"]


def test_blocking_check_failure_publishes_nothing(env, monkeypatch):
    from pipelines.config import settings
    from pipelines.factors import warehouse

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
    failing = [
        e.check_name for e in failed.get_asset_check_evaluations() if not e.passed and e.check_name != "freshness"
    ]
    assert failing == ["raw_row_conservation"]
    assert [m["version"] for m in list_releases(settings())] == ["v0001"]
    summary = list_runs(_instance(env))[-1]  # the failed run says which check failed and on what
    assert summary["status"] == "failed: blocking check raw_row_conservation" and "release" not in summary
    check = next(c for c in summary["checks"] if c["name"] == "raw_row_conservation")
    assert (
        check["details"]["raw_rows"] - check["details"]["curated_raw_rows"] - check["details"]["quarantined_raw_rows"]
        == 1
    )


def test_nightly_schedule_and_raw_file_sensor_evaluate(tmp_path, monkeypatch):
    import datetime as dt

    from pipelines.definitions import raw_files_sensor

    tick = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 11, 26, 2, 0))
    data = nightly_schedule.evaluate_tick(tick)
    assert len(data.run_requests) == 1 and nightly_schedule.job_name == "factor_warehouse_job"
    assert defs.get_schedule_def("nightly_factor_warehouse").execution_timezone == "Asia/Shanghai"

    raw, sources = tmp_path / "raw", tmp_path / "sources"
    (raw / "literature").mkdir(parents=True)
    (raw / "enterprise").mkdir()
    sources.mkdir()
    (raw / "literature" / "a.csv").write_text("record_id\n1\n", encoding="utf-8")
    monkeypatch.setenv("PCF_RAW_DIR", str(raw))
    monkeypatch.setenv("PCF_SOURCES_DIR", str(sources))
    first = dg.build_sensor_context(cursor=None)
    request = raw_files_sensor(first)
    assert isinstance(request, dg.RunRequest) and request.run_key.startswith("raw-")
    again = dg.build_sensor_context(cursor=first.cursor)
    assert isinstance(raw_files_sensor(again), dg.SkipReason)  # nothing changed
    (raw / "enterprise" / "upload.xlsx").write_bytes(b"x")  # enterprise uploads have their own sensor
    assert isinstance(raw_files_sensor(dg.build_sensor_context(cursor=first.cursor)), dg.SkipReason)
    (sources / "new_source").mkdir()
    (sources / "new_source" / "data.csv").write_text("a\n1\n", encoding="utf-8")
    later = raw_files_sensor(dg.build_sensor_context(cursor=first.cursor))
    assert isinstance(later, dg.RunRequest) and later.run_key != request.run_key
    assert defs.get_sensor_def("raw_files_sensor").job_name == "factor_warehouse_job"


def test_the_warehouse_resource_is_the_one_list_of_settings_and_scopes_them_to_the_run(monkeypatch):
    """Every setting is a field of the resource; a run's configuration is what code deep below an asset
    sees (pipelines.config.settings()), during that run only; EnvVar fills the code location's resource."""
    import dataclasses

    from pipelines.config import Settings, settings
    from pipelines.resources import WarehouseResource, from_environment

    assert set(WarehouseResource.model_fields) == {f.name for f in dataclasses.fields(Settings)}
    seen = {}

    @dg.asset
    def probe(warehouse: WarehouseResource) -> None:
        from pipelines.curation.guard import guard_share  # reads settings() far from the asset

        seen["share"], seen["rows"] = guard_share(), settings().review_page_rows

    monkeypatch.setenv("PCF_REVIEW_PAGE_ROWS", "11")
    result = dg.materialize([probe], resources={"warehouse": WarehouseResource(release_guard_share="0.35")})
    assert result.success and seen == {"share": 0.35, "rows": 11}
    assert settings().release_guard_share == 0.1  # outside the run: the environment and defaults again
    bad = dg.materialize(
        [probe], resources={"warehouse": WarehouseResource(review_page_rows="many")}, raise_on_error=False
    )
    assert not bad.success  # a value of the wrong type stops the run with the setting named
    env_resource = from_environment()
    assert isinstance(env_resource.review_page_rows, dg.EnvVar) and env_resource.release_guard_share is None


def test_the_build_path_keeps_no_outputs_and_stores_the_same(tmp_path):
    """Issue 20: `pcf build` runs its job with output capture off (pipelines/common/dagster_exec.py) so a
    step's frames are freed when the next starts. Pinned on a small graph: the stored outputs are identical to
    `dg.materialize`'s, checks and metadata are reported the same, and no output value is held by the result."""
    import polars as pl

    from pipelines.asset_store import read
    from pipelines.common.dagster_exec import materialize_uncaptured, metadata_of

    @dg.asset
    def rows() -> pl.DataFrame:
        return pl.DataFrame({"k": list(range(1000)), "v": [i * 0.5 for i in range(1000)]})

    @dg.asset
    def doubled(context: dg.AssetExecutionContext, rows: pl.DataFrame) -> pl.DataFrame:
        context.add_output_metadata({"rows": rows.height})
        return rows.with_columns(pl.col("v") * 2)

    @dg.asset_check(asset=doubled, blocking=True)
    def doubled_positive(doubled: pl.DataFrame) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=bool((doubled["v"] >= 0).all()))

    outputs = {}
    for how in ("captured", "uncaptured"):
        base = tmp_path / how
        resources = {"io_manager": FrameStoreIOManager(base_dir=str(base))}
        instance = dg.DagsterInstance.ephemeral()
        if how == "captured":
            result = dg.materialize([rows, doubled, doubled_positive], instance=instance, resources=resources)
            assert result.output_for_node("doubled").height == 1000  # materialize holds every output
        else:
            result = materialize_uncaptured(
                [rows, doubled, doubled_positive],
                selection=dg.AssetSelection.all(),
                instance=instance,
                resources=resources,
                tags={"pcf/build_id": "t"},
            )
            with pytest.raises(dg.DagsterInvariantViolationError):
                result.output_for_node("doubled")  # nothing held in memory
            assert instance.get_runs()[0].tags["pcf/build_id"] == "t"
        assert result.success and metadata_of(result, "doubled") == {"rows": 1000}
        assert [e.passed for e in result.get_asset_check_evaluations()] == [True]
        outputs[how] = read(next(base.rglob("doubled*")))
    assert outputs["captured"].equals(outputs["uncaptured"])


def test_the_instance_captures_no_step_output_and_upgrades_only_its_own_settings(tmp_path, monkeypatch):
    # a process started with SIGINT ignored ends up ignoring SIGTERM after Dagster's interrupt capture; the
    # local compute-log capture's `tail -F` per step then never stopped on terminate and each step waited 30 s
    import dataclasses
    import signal
    import subprocess
    import sys

    from dagster._core.storage.noop_compute_log_manager import NoOpComputeLogManager

    from pipelines.config import settings
    from pipelines.runs import instance, instance_home

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    s = dataclasses.replace(settings(), curated_dir=tmp_path / "curated")
    home = instance_home(s)
    home.mkdir(parents=True)
    earlier = (
        "# Dagster instance settings for `make dev` / `make run` (copied to $DAGSTER_HOME/dagster.yaml when absent).\n"
        "telemetry:\n  enabled: false\n"
    )
    (home / "dagster.yaml").write_text(earlier, encoding="utf-8")
    assert isinstance(instance(s).compute_log_manager, NoOpComputeLogManager)  # an earlier version: upgraded
    own = "telemetry:\n  enabled: false\n"
    (home / "dagster.yaml").write_text(own, encoding="utf-8")
    instance(s)
    assert (home / "dagster.yaml").read_text(encoding="utf-8") == own  # the operator's own: left alone
    # and the reason, pinned: after Dagster's capture, SIGTERM follows an ignored SIGINT
    code = (
        "import signal; from dagster._utils.interrupts import capture_interrupts\n"
        "with capture_interrupts(): pass\n"
        "print(signal.getsignal(signal.SIGTERM) == signal.SIG_IGN)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        check=True,
    )
    assert out.stdout.strip() == "True"
