"""Release integrity (issue 21): kill the publisher at every fault point, damage files, truncate a manifest,
tear the decision log, fill the disk, build twice at once; each ends with a catalogue that says what the
manifests say and a clear verdict from `pcf verify`."""

from __future__ import annotations

import dataclasses
import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.config import PROJECT_ROOT, settings
from pipelines.factors.warehouse import build_tables, load_source, source_manifest
from pipelines.release.catalog import catalog_mismatch, connect_readonly
from pipelines.release.publish import FAULT_POINTS, list_releases, publish
from pipelines.release.verify import verify

PUBLISH_SCRIPT = """
import dataclasses, sys
from pathlib import Path
from pipelines.config import settings
from pipelines.release.publish import publish
from pipelines.factors.warehouse import build_tables, load_source, source_manifest
s = dataclasses.replace(settings(), sources_dir=Path(sys.argv[1]), curated_dir=Path(sys.argv[2]), gwp_set=sys.argv[3])
batches = [load_source("cn_mee_electricity_co2", s)]
tables, summary = build_tables(batches, s)
print(publish(s, tables, summary, source_manifest(batches)).version)
"""


@pytest.fixture
def zone(tmp_path, sources_dir):
    src = tmp_path / "sources"
    shutil.copytree(sources_dir / "cn_mee_electricity_co2", src / "cn_mee_electricity_co2")
    s = dataclasses.replace(settings(), sources_dir=src, curated_dir=tmp_path / "curated", raw_dir=tmp_path / "raw")
    shutil.copytree(PROJECT_ROOT / "data" / "raw", s.raw_dir)
    (s.raw_dir / "curation" / "decisions.jsonl").write_text("", encoding="utf-8")
    _publish(s)
    return s


def _publish(s, gwp_set: str | None = None):
    s = dataclasses.replace(s, gwp_set=gwp_set or s.gwp_set)
    batches = [load_source("cn_mee_electricity_co2", s)]
    tables, summary = build_tables(batches, s)
    return publish(s, tables, summary, source_manifest(batches))


def _change(s, value: str = "0.5300", was: str = "0.5227") -> None:
    path = s.sources_dir / "cn_mee_electricity_co2" / "cn_electricity_factors_2021_2022_plus.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(f",{was},", f",{value},"), encoding="utf-8")


def _script(tmp_path: Path) -> Path:
    path = tmp_path / "publish.py"
    path.write_text(PUBLISH_SCRIPT, encoding="utf-8")
    return path


def _cli(s, *args):
    env = {
        "PCF_CURATED_DIR": str(s.curated_dir),
        "PCF_SOURCES_DIR": str(s.sources_dir),
        "PCF_RAW_DIR": str(s.raw_dir),
        "COLUMNS": "200",
    }
    return CliRunner().invoke(app, list(args), env=env)


def _latest_in_catalogue(s) -> str:
    con = connect_readonly(s)
    try:
        return con.execute("select version from meta.release where is_latest").fetchone()[0]
    finally:
        con.close()


@pytest.mark.parametrize("point", FAULT_POINTS)
def test_a_publisher_killed_at_any_point_leaves_a_consistent_warehouse(zone, tmp_path, point):
    s = zone
    _change(s)
    run = subprocess.run(
        [sys.executable, str(_script(tmp_path)), str(s.sources_dir), str(s.curated_dir), s.gwp_set],
        env={**os.environ, "PCF_FAULT": point},
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )
    assert run.returncode == 137, run.stderr
    versions = [m["version"] for m in list_releases(s)]
    assert versions in (["v0001"], ["v0001", "v0002"])  # before the rename: old; after: new; never partial
    status = _cli(s, "status")
    assert status.exit_code == 0 and "Traceback" not in status.output
    assert catalog_mismatch(s) is None and _latest_in_catalogue(s) == versions[-1]  # status repaired it if needed
    out = _cli(s, "sql", "select count(*) as n from factor where natural_key like '2022:provincial_average:CN-CQ%'")
    assert out.exit_code == 0
    assert verify(s).ok, verify(s).problems
    again = _publish(s)  # the next run cleans up and publishes (or finds nothing new)
    assert again.version == "v0002" and not list(s.releases_dir.glob(".staging-*"))
    assert not list((s.objects_dir / ".tmp").glob("*")) and verify(s).ok


def test_a_damaged_table_is_named_never_reused_and_restored(zone):
    s = zone
    path = s.releases_dir / "v0001" / "factor.parquet"
    _flip(path)  # one flipped byte (the object store shares this file: a hard link)
    verdict = verify(s)
    assert not verdict.ok and any(str(path) in p and "SHA-256" in p for p in verdict.problems)
    assert _cli(s, "verify").exit_code == 1
    # the next build's bytes for that table are the same: the damaged object is replaced, never linked again
    _change(s)
    result = _publish(s)
    factor_object = s.objects_dir / f"{result.manifest['tables']['factor']['sha256']}.parquet"
    assert result.version == "v0002" and verify(s, "v0002").ok and factor_object.exists()
    # v0001's own copy: restored from the sound object by --repair once the object of its hash is sound again
    _change(s, "0.5227", was="0.5300")
    assert _publish(s).version == "v0003"  # v0001's content again: its object is rewritten sound
    repaired = _cli(s, "verify", "--repair")
    assert "restored from" in repaired.output
    assert verify(s).ok


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    tmp = path.with_suffix(".flip")
    tmp.write_bytes(bytes(data))
    with open(path, "r+b") as fh:  # in place, as a disk error would: every hard link sees it
        fh.write(tmp.read_bytes())
    tmp.unlink()


def test_a_deleted_table_is_restored_from_its_object(zone):
    s = zone
    path = s.releases_dir / "v0001" / "gwp.parquet"
    path.unlink()
    assert any("gwp.parquet: missing" in p for p in verify(s).problems)
    assert _cli(s, "verify", "--repair").exit_code == 0 and verify(s).ok and path.exists()


def test_a_truncated_manifest_blocks_nothing_and_is_named(zone):
    s = zone
    _change(s)
    _publish(s)
    manifest = s.releases_dir / "v0002" / "manifest.json"
    manifest.write_text(manifest.read_text(encoding="utf-8")[:100], encoding="utf-8")
    for args in (["status"], ["diff", "v0001", "v0002"], ["release", "list"]):
        out = _cli(s, *args)
        assert "Traceback" not in out.output and (out.exception is None or isinstance(out.exception, SystemExit)), args
    assert [m["version"] for m in list_releases(s)] == ["v0001"] and catalog_mismatch(s) is None
    verdict = verify(s)
    assert any(str(manifest) in p and "unreadable" in p for p in verdict.problems)
    _change(s, "0.5400", was="0.5300")
    assert _publish(s).version == "v0003"  # numbering continues after the damaged directory, never overwrites it


def test_a_deleted_or_copied_catalogue_is_rebuilt(zone, tmp_path):
    s = zone
    s.warehouse_path.unlink()
    assert _cli(s, "sql", "select count(*) from factor").exit_code == 0 and s.warehouse_path.exists()
    copy = tmp_path / "copied"
    shutil.copytree(s.curated_dir, copy)
    moved = dataclasses.replace(s, curated_dir=copy)
    assert "point at" in catalog_mismatch(moved)
    shutil.rmtree(s.curated_dir)  # the original is gone: the copy must stand on its own
    out = _cli(moved, "sql", "select count(*) as n from factor")
    assert out.exit_code == 0 and "91" in out.output


def test_the_decision_log_is_all_or_nothing_and_a_bad_line_needs_a_steward(zone):
    from pipelines.curation.decisions import Decision, append_many, log_path, now_utc, read_log
    from pipelines.release.publish import read_table

    s = zone
    ids = read_table(s, "v0001", "factor")["factor_id"].head(3).to_list()
    good = [Decision("approve", f, "0" * 64, "st", now_utc(), "ok") for f in ids]
    append_many(s, good)
    assert read_log(s).height == 3
    path = log_path(s)
    # a killed batch append: 2 of 3 lines of a new batch and a cut line
    batch = [Decision("reject", f, "1" * 64, "st", now_utc(), "killed") for f in ids]
    append_many(s, batch)
    lines = path.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join(lines[:5]) + b"\n" + lines[5][:20])
    assert read_log(s)["action"].to_list() == ["approve"] * 3  # the incomplete batch and the cut line: not applied
    assert _cli(s, "verify").exit_code == 1
    later = [Decision("deprecate", ids[0], "2" * 64, "st", now_utc(), "later")]
    append_many(s, later)  # isolates the torn tail first: the new line is intact and applied
    assert read_log(s)["action"].to_list() == ["approve"] * 3 + ["deprecate"]
    assert b"killed" in (path.parent / "decisions.torn.jsonl").read_bytes()
    # a corrupt line in the middle stops the build with the line named; a steward's acknowledgement skips it
    text = path.read_text(encoding="utf-8").splitlines()
    text[1] = text[1][:-5] + "garbage"
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.raises(Exception, match="line 2.*--skip-log-line 2"):
        read_log(s)
    skip = _cli(s, "verify", "--skip-log-line", "2", "--reason", "garbled by an editor; re-decided below")
    assert skip.exit_code == 0, skip.output
    assert read_log(s)["log_line"].to_list() == [1, 3, 4]


def test_a_full_disk_during_publish_leaves_the_previous_release_current(zone, monkeypatch):
    from pipelines.release import publish as release

    s = zone
    _change(s)
    real = release.write_parquet
    calls = []

    def fill(frame, path):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(frame, path)

    monkeypatch.setattr(release, "write_parquet", fill)
    with pytest.raises(release.PublishError, match="disk is full"):
        _publish(s)
    monkeypatch.undo()
    assert [m["version"] for m in list_releases(s)] == ["v0001"] and catalog_mismatch(s) is None
    assert not list((s.objects_dir / ".tmp").glob("*")) and verify(s).ok
    assert _publish(s).version == "v0002"


def test_two_builds_at_once_each_publish_their_own(zone, tmp_path):
    s = zone
    _change(s)
    script = _script(tmp_path)
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(s.sources_dir), str(s.curated_dir), g],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=PROJECT_ROOT,
        )
        for g in ("AR6", "AR5")
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    releases = list_releases(s)
    assert [m["version"] for m in releases] == ["v0001", "v0002", "v0003"]
    for m in releases[1:]:  # each release is entirely what its manifest says: never another build's data
        factor = pl.read_parquet(s.releases_dir / m["version"] / "factor.parquet")
        assert set(factor["gwp_set"]) == {m["gwp_set"]}
    assert verify(s).ok and catalog_mismatch(s) is None


def test_a_build_refuses_to_build_on_a_damaged_release(zone, monkeypatch, tmp_path):
    import dagster as dg

    from pipelines.asset_store import FrameStoreIOManager
    from pipelines.definitions import warehouse_assets, warehouse_checks
    from pipelines.resources import WarehouseResource

    s = zone
    _flip(s.releases_dir / "v0001" / "factor_gas.parquet")
    for k, v in (("PCF_CURATED_DIR", s.curated_dir), ("PCF_SOURCES_DIR", s.sources_dir), ("PCF_RAW_DIR", s.raw_dir)):
        monkeypatch.setenv(k, str(v))
    result = dg.materialize(
        [*warehouse_assets, *warehouse_checks],
        instance=dg.DagsterInstance.ephemeral(),
        resources={
            "io_manager": FrameStoreIOManager(base_dir=str(tmp_path / "assets")),
            "warehouse": WarehouseResource(),
        },
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "is damaged; not building on it" in str(failure.event_specific_data.error.message)
    assert [m["version"] for m in list_releases(s)] == ["v0001"]


def test_an_approval_re_runs_the_blocking_checks_and_publishes_nothing_past_them(tmp_path, sources_dir):
    """Issue 21: after a build stopped on a blocking check, approving one factor published a release from the
    stored, check-failed intermediate data. Now a decision runs the whole build again."""
    from tests.editions import copy_sources, write_epa_sef_next

    src = copy_sources(sources_dir, tmp_path / "sources", "epa_sef_v1_2")
    raw = tmp_path / "raw"
    shutil.copytree(PROJECT_ROOT / "data" / "raw", raw)
    (raw / "curation" / "decisions.jsonl").write_text("", encoding="utf-8")
    s = dataclasses.replace(
        settings(),
        sources_dir=src,
        curated_dir=tmp_path / "curated",
        raw_dir=raw,
        restricted_dir=tmp_path / "restricted",
    )
    env = {
        "PCF_CURATED_DIR": str(s.curated_dir),
        "PCF_SOURCES_DIR": str(src),
        "PCF_RAW_DIR": str(raw),
        "PCF_RESTRICTED_DIR": str(s.restricted_dir),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "COLUMNS": "200",
    }
    runner = CliRunner()
    assert runner.invoke(app, ["build"], env=env).exit_code == 0
    write_epa_sef_next(src, all_fail=True)
    held = runner.invoke(app, ["build"], env=env)
    assert held.exit_code == 1 and "release guard" in held.output
    fid = pl.read_parquet(s.releases_dir / "v0001" / "factor.parquet").filter(pl.col("source_id") == "literature")[
        "factor_id"
    ][0]
    approve = runner.invoke(app, ["approve", fid, "--reason", "checked"], env=env)
    assert approve.exit_code == 1 and "release guard" in approve.output
    assert [m["version"] for m in list_releases(s)] == ["v0001"]
    # a decision's rebuild uses the last build's options: with --sources-dir elsewhere and no PCF_SOURCES_DIR,
    # the approval of the held change rebuilds from that directory and publishes it
    runner.invoke(app, ["build", "--sources-dir", str(src), "--gwp-set", "AR5"], env={**env, "PCF_SOURCES_DIR": ""})
    change = runner.invoke(
        app,
        ["approve", "--change", "epa_sef_v1_2", "--reason", "withdrawn by the publisher"],
        env={**env, "PCF_SOURCES_DIR": ""},
    )
    assert change.exit_code == 0, change.output
    latest = list_releases(s)[-1]
    assert latest["version"] == "v0002" and latest["gwp_set"] == "AR5"


def test_a_killed_builds_pool_slot_and_data_are_reclaimed(tmp_path):
    import dagster as dg

    from pipelines.asset_store import build_area, hold_area, reclaim
    from pipelines.cli import PID_TAG, _reclaim

    home = tmp_path / "home"
    home.mkdir()
    instance = dg.DagsterInstance.local_temp(str(home))
    storage = instance.event_log_storage
    storage.set_concurrency_slots("pcf_warehouse_writer", 1)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that is gone
    run = instance.create_run_for_job(
        dg.GraphDefinition("g").to_job(), tags={PID_TAG: str(dead.pid)}, status=dg.DagsterRunStatus.STARTED
    )
    assert storage.claim_concurrency_slot("pcf_warehouse_writer", run.run_id, "factor_release").is_claimed
    assert storage.get_concurrency_info("pcf_warehouse_writer").active_slot_count == 1
    s = dataclasses.replace(settings(), curated_dir=tmp_path / "curated")
    base = s.asset_store_dir
    (build_area(base, "killed-build")).mkdir(parents=True)
    (build_area(base, "killed-build") / ".in-use").write_text("")  # nobody holds it: its process is gone
    hold_area(base, "running-build")  # held by this (live) process
    _reclaim(instance, s)
    assert storage.get_concurrency_info("pcf_warehouse_writer").active_slot_count == 0
    assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
    assert not build_area(base, "killed-build").exists() and build_area(base, "running-build").exists()
    assert reclaim(base) == []


def test_a_second_writer_waits_then_stops_with_a_message(tmp_path):
    from pipelines.common.filelock import LockTimeout, exclusive

    lock = tmp_path / ".publish.lock"
    script = tmp_path / "hold.py"  # a script file, not `python -c` (stack notes: pyspark's import-time check)
    script.write_text(
        "import sys, time\nfrom pathlib import Path\nfrom pipelines.common.filelock import exclusive\n"
        "with exclusive(Path(sys.argv[1])):\n    print('held', flush=True)\n    time.sleep(30)\n",
        encoding="utf-8",
    )
    holder = subprocess.Popen(
        [sys.executable, str(script), str(lock)], stdout=subprocess.PIPE, text=True, cwd=PROJECT_ROOT
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockTimeout, match=rf"held by another writer \(pid {holder.pid} since"):
            with exclusive(lock, timeout=0.5):
                pass
    finally:
        holder.kill()
        holder.wait()
    with exclusive(lock, timeout=5):  # the kernel freed the dead holder's lock
        pass
