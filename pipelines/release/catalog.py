"""The analysts' SQL catalogue: data/curated/warehouse.duckdb.

It holds only views over the immutable release Parquet files: schema `latest` for the current release
and one schema per release (v0001, v0002 ...). It is rebuilt into a temporary file and swapped in with
an atomic rename, so the nightly run never writes to a file an analyst has open: a reader keeps the
catalogue it opened (and the files it points to never change), and a publish never waits for a reader.
Restricted enterprise data never gets a view here.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import duckdb

from pipelines.common.atomic import replacing
from pipelines.common.filelock import exclusive
from pipelines.config import Settings
from pipelines.release.manifests import fault_point, list_releases, release_dir


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def build_catalog(settings: Settings) -> Path:
    target = settings.warehouse_path
    with replacing(target) as tmp:
        _write_catalog(settings, tmp, list_releases(settings), release_dir)
        fault_point("catalog_temp_written")
    fault_point("catalog_swapped")
    return target


def _write_catalog(settings: Settings, tmp: Path, releases: list[dict], release_dir) -> None:
    con = duckdb.connect(str(tmp))
    try:
        con.execute("create schema meta")
        # where the views point: a catalogue copied with data/curated to another place is rebuilt there
        con.execute("create table meta.catalog(releases_dir varchar)")
        con.execute("insert into meta.catalog values (?)", [str(settings.releases_dir.resolve())])
        con.execute(
            "create table meta.release(version varchar, parent_version varchar, created_at varchar, "
            "git_commit varchar, gwp_set varchar, release_hash varchar, is_latest boolean)"
        )
        for i, manifest in enumerate(releases):
            version = manifest["version"]
            con.execute(
                "insert into meta.release values (?, ?, ?, ?, ?, ?, ?)",
                [
                    version,
                    manifest.get("parent_version"),
                    manifest["created_at"],
                    manifest["git_commit"],
                    manifest.get("gwp_set"),
                    manifest["release_hash"],
                    i == len(releases) - 1,
                ],
            )
            schemas = [version] + (["latest"] if i == len(releases) - 1 else [])
            for schema in schemas:
                con.execute(f'create schema "{schema}"')
                for table in manifest["tables"]:
                    path = release_dir(settings, version) / f"{table}.parquet"
                    # Marts carry the release they belong to (kept out of the file so unchanged content
                    # keeps its hash from release to release).
                    extra = f", '{version}' as release_version" if table.startswith("product_") else ""
                    con.execute(
                        f'create view "{schema}"."{table}" as select *{extra} from read_parquet({_quote(path)})'
                    )
        con.execute("checkpoint")
    finally:
        con.close()


def catalog_mismatch(settings: Settings) -> str | None:
    """Why the catalogue does not say what the manifests say (None: it does). The manifests are the truth."""
    expected = [(m["version"], m["release_hash"]) for m in list_releases(settings)]
    target = settings.warehouse_path
    if not target.exists():
        return "the catalogue is missing" if expected else None
    try:
        con = duckdb.connect(str(target), read_only=True)
        try:
            rows = con.execute("select version, release_hash, is_latest from meta.release").fetchall()
            where = con.execute("select releases_dir from meta.catalog").fetchone()
        finally:
            con.close()
    except duckdb.Error as exc:
        return f"the catalogue cannot be read ({type(exc).__name__})"
    listed = [(v, h) for v, h, _ in rows]
    if listed != expected:
        latest_cat = next((v for v, _, is_latest in rows if is_latest), None)
        return (
            f"the catalogue lists {len(listed)} release(s) (latest {latest_cat}), the manifests "
            f"{len(expected)} (latest {expected[-1][0] if expected else None})"
        )
    if expected and [v for v, _, is_latest in rows if is_latest] != [expected[-1][0]]:
        return "schema latest does not point at the newest release"
    if where is None or where[0] != str(settings.releases_dir.resolve()):
        return (
            f"the catalogue's views point at {where[0] if where else '?'}, the releases are at {settings.releases_dir}"
        )
    return None


def ensure_catalog(settings: Settings, locked: bool = False) -> str | None:
    """Rebuild the catalogue atomically when it disagrees with the manifests (after a crash, a lost file, a
    copy to another place); the repair is logged in data/curated/catalog_repairs.jsonl. -> why it was
    rebuilt, or None. `locked`: the caller holds the publish lock already."""
    if catalog_mismatch(settings) is None:
        return None
    if not locked:
        with exclusive(settings.curated_dir / ".publish.lock"):
            return ensure_catalog(settings, locked=True)
    why = catalog_mismatch(settings)  # re-checked under the lock: another writer may have repaired it
    if why is None:
        return None
    build_catalog(settings)
    with open(settings.curated_dir / "catalog_repairs.jsonl", "a", encoding="utf-8") as fh:
        fh.write(
            json.dumps(
                {"at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(), "why": why},
                ensure_ascii=False,
            )
            + "\n"
        )
    return why


def connect_readonly(settings: Settings, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only catalogue connection; `memory_limit` (e.g. '2GB') caps the session before its
    configuration is locked."""
    if not settings.warehouse_path.exists():
        raise FileNotFoundError(f"{settings.warehouse_path} does not exist yet: run `make run` (or `pcf build`) first")
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    if memory_limit:
        con.execute(f"set memory_limit = '{memory_limit.replace(chr(39), '')}'")
    # The views read release Parquet files; nothing else on disk is reachable from an analyst session
    # (not the restricted enterprise zone, not raw uploads), and the session cannot undo this.
    allowed = str(settings.releases_dir.resolve()) + os.sep
    con.execute(f"set allowed_directories = ['{allowed.replace(chr(39), chr(39) * 2)}']")
    con.execute("set enable_external_access = false")
    con.execute("set lock_configuration = true")
    return con
