"""The nightly run and the raw-file sensor.

- nightly_factor_warehouse: 02:00 Asia/Shanghai, the whole warehouse job. Nothing changed -> nothing
  published (release hash); a blocking check fails -> nothing published, the run summary says which.
- raw_files_sensor: a new or changed file in the sources directory or in data/raw (sources, literature,
  models, the stewards' regional factors and decision log; enterprise uploads have their own sensor)
  requests a run of the same job. Its cursor is a fingerprint of (path, size, mtime) of those files.
"""

import hashlib
import json

import dagster as dg

from pipelines.config import settings


def raw_fingerprint() -> tuple[str, int]:
    s = settings()
    entries = []
    for root, skip in ((s.sources_dir, ()), (s.raw_dir, ("enterprise",))):
        if not root.exists():
            continue
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            if (
                not path.is_file()
                or (rel.parts and rel.parts[0] in skip)
                or path.name.startswith(".")
                or path.suffix == ".lock"
            ):
                continue
            st = path.stat()
            entries.append((str(root), str(rel), st.st_size, st.st_mtime_ns))
    return hashlib.sha256(json.dumps(entries).encode()).hexdigest(), len(entries)


def build(job):
    nightly = dg.ScheduleDefinition(
        name="nightly_factor_warehouse",
        job=job,
        cron_schedule="0 2 * * *",
        execution_timezone="Asia/Shanghai",
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description="Nightly recomputation: publishes only when something changed.",
    )

    @dg.sensor(
        job=job,
        minimum_interval_seconds=300,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="New or changed raw files (sources dir, data/raw except enterprise uploads): run the "
        "warehouse job.",
    )
    def raw_files_sensor(context: dg.SensorEvaluationContext):
        fingerprint, files = raw_fingerprint()
        if fingerprint == context.cursor:
            return dg.SkipReason(f"no raw file changed ({files} files)")
        context.update_cursor(fingerprint)
        return dg.RunRequest(run_key=f"raw-{fingerprint[:16]}", tags={"pcf/trigger": "raw_files_sensor"})

    return nightly, raw_files_sensor
