"""Taking an enterprise upload in: the one path the CLI (`pcf ingest enterprise`) and the web platform share.

1. `precheck`: the intake's own reading and checks on the file, writing nothing (the web platform refuses a
   file that is not a readable workbook, or that names another enterprise, before anything is stored);
2. `keep_raw`: the file kept under data/raw/enterprise/ as received (raw is immutable and content-addressed:
   a different file under a name already taken gets its hash in the name);
3. `materialise_upload`: its Dagster partition (`enterprise_upload`), which ingests it into the restricted zone.
The rebuild that follows is a Dagster run of the warehouse job (`pcf build`), started by the caller.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from pipelines.config import Settings
from pipelines.enterprise.intake import UploadResult, _process, upload_id_for


def precheck(path: Path) -> UploadResult:
    """The intake's reading and checks of `path` (enterprise, products, lines, allocation): nothing written."""
    return _process(Path(path), upload_id_for(Path(path))[0])


def keep_raw(settings: Settings, file: Path, folder: str | None = None, name: str | None = None) -> Path:
    """`file` kept under data/raw/enterprise[/folder]/ (unless it is there already); -> its path there."""
    root = settings.enterprise_raw_dir
    if file.resolve().is_relative_to(root.resolve()):
        return file
    target_dir = root / folder if folder else root
    target_dir.mkdir(parents=True, exist_ok=True)
    name = name or file.name
    target = target_dir / name
    digest = upload_id_for(file)[0]
    if target.exists() and upload_id_for(target)[0] != digest:
        target = target_dir / f"{Path(name).stem}.{digest[:12]}{Path(name).suffix}"
    if not target.exists():
        shutil.copyfile(file, target)
    return target


def materialise_upload(path: Path, instance) -> dict:
    """One upload through its Dagster partition (the sensor does the same) -> the materialisation's metadata."""
    import dagster as dg

    from pipelines.assets.enterprise import enterprise_upload, enterprise_upload_partitions, partition_key_for

    key = partition_key_for(path)
    instance.add_dynamic_partitions(enterprise_upload_partitions.name, [key])
    result = dg.materialize(
        [enterprise_upload],
        partition_key=key,
        instance=instance,
        raise_on_error=True,
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )
    return {k: v.value for k, v in result.get_asset_materialization_events()[0].materialization.metadata.items()}
