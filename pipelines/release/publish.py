"""Versioned, immutable releases: Parquet files plus a manifest, published atomically.

Layout under data/curated/:
  objects/<sha256>.parquet         content-addressed table files, written once (storage grows with
                                   changes, not copies)
  releases/v0007/<table>.parquet   hard links to those objects: plain Parquet paths any engine reads
  releases/v0007/manifest.json     version, parent, created-at, git commit, per-table SHA-256 and rows,
                                   source file hashes, validation summary
  warehouse.duckdb                 SQL catalogue: schema `latest` and one schema per release (views)

Publishing builds the release in releases/.staging-*, then renames it into place (one atomic rename):
a crash before the rename leaves the previous release current and nothing partial visible; staging
leftovers are removed by the next publish. A release whose tables hash exactly like the current one is
not published: the same inputs make no new release.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import os
import shutil
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.common.filelock import exclusive
from pipelines.common.parsing import sha256_file
from pipelines.common.parts import Parts
from pipelines.config import PROJECT_ROOT, Settings
from pipelines.release.catalog import build_catalog, ensure_catalog
from pipelines.release.manifests import (  # noqa: F401
    FAULT_POINTS,
    MANIFEST,
    VERSION_NAME,
    fault_point,
    latest_release,
    list_releases,
    load_manifest,
    read_manifest,
    read_table,
    release_dir,
    release_dirs,
)

RELEASE_TABLES = (
    "factor",
    "factor_gas",
    "factor_lineage",
    "quarantine",
    "source",
    "raw_file",
    "gwp",
    "geography",
    "fuel_property",
    "import_issue",
    "steward_decision",
    "product_footprint",
    "product_footprint_stage",
    "product_footprint_gas",
    "product_contribution",
    "product_benchmark",
)


@dataclass
class PublishResult:
    version: str
    published: bool
    manifest: dict
    reason: str


RELEASE_ENCODING = "release-parquet"  # `write_parquet`'s settings, as `Parts.encoded_as`


def release_parts(frames: dict[str, pl.DataFrame], directory: Path) -> dict[str, Parts]:
    """Each frame written once, as the release will hold it (`write_parquet`, in parallel), as a one-file
    Parts: the asset store links the file instead of writing the frame again, the checks scan only the columns
    they need, and `publish` links it instead of encoding the rows again (the 7 million rows of the product
    marts at 10,000 uploads were written three times and read twice per build: issue 20). The bytes are what
    `write_parquet(frame)` gives, so the release is the same, byte for byte."""

    def one(name: str) -> Parts:
        path = directory / f"{name}.parquet"
        write_parquet(frames[name], path)
        return Parts([str(path)], frames[name].schema, frames[name].height, RELEASE_ENCODING)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(frames, pool.map(one, frames)))


def write_parquet(frame: pl.DataFrame | Parts, path: Path) -> None:
    """Deterministic bytes for the same rows: fixed codec, row-group size and no timestamps.
    Polars' writer is multi-threaded (about twice pyarrow's speed here); the bytes depend only on the
    rows and the pinned Polars version. A table in parts is streamed into the file (bounded memory): Polars'
    sink writes the same bytes as its writer on the whole frame (tests/test_streaming.py)."""
    if isinstance(frame, Parts) and frame.encoded_as == RELEASE_ENCODING and len(frame.files) == 1:
        _link(Path(frame.files[0]), path)  # written in this form already (`release_parts`)
    elif isinstance(frame, Parts):
        frame.scan().sink_parquet(
            path, compression="zstd", compression_level=1, statistics=True, row_group_size=256_000
        )
    else:
        frame.write_parquet(path, compression="zstd", compression_level=1, statistics=True, row_group_size=256_000)


def git_commit() -> str:
    try:
        return (
            subprocess.run(
                ["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=5
            ).stdout.strip()
            or "unknown"
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _store_object(settings: Settings, frame: pl.DataFrame | Parts, scratch: Path) -> tuple[str, Path]:
    tmp = scratch / f"{os.getpid()}-{threading.get_ident()}-{id(frame)}.parquet"
    write_parquet(frame, tmp)
    digest = sha256_file(tmp)
    target = settings.objects_dir / f"{digest}.parquet"
    # An object is reused only if its bytes still hash to its name: a damaged one (a flipped byte, a truncated
    # file) is replaced by the bytes just written and never linked into a new release. Releases that already
    # link the damaged copy are named by `pcf verify` and restored with `pcf verify --repair`.
    if target.exists() and sha256_file(target) == digest:
        tmp.unlink()
    else:
        os.replace(tmp, target)
    return digest, target


class PublishError(OSError):
    pass


def _link(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:  # file systems without hard links: copy
        shutil.copyfile(src, dst)


def publish(
    settings: Settings,
    tables: dict[str, pl.DataFrame | Parts],
    summary: dict,
    sources: list[dict],
    force: bool = False,
) -> PublishResult:
    """One writer at a time (an exclusive lock on data/curated/.publish.lock, whoever calls: a Dagster run,
    the CLI, a test); readers never take it. A full disk (or any write error) leaves the previous release
    current: what was half-written is removed now or by the next publish, and the error says so."""
    with exclusive(settings.curated_dir / ".publish.lock"):
        try:
            return _publish(settings, tables, summary, sources, force)
        except OSError as exc:
            _clean_partial(settings)
            why = "the disk is full" if exc.errno == errno.ENOSPC else f"{type(exc).__name__}: {exc}"
            raise PublishError(
                f"publishing failed ({why}); the previous release stays current and nothing "
                f"half-written is kept; free space and run again"
            ) from None


def _clean_partial(settings: Settings) -> None:
    for leftover in settings.releases_dir.glob(".staging-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    shutil.rmtree(settings.objects_dir / ".tmp", ignore_errors=True)
    for tmp in settings.curated_dir.glob(".warehouse.duckdb.*.tmp"):
        tmp.unlink(missing_ok=True)


def _publish(
    settings: Settings,
    tables: dict[str, pl.DataFrame | Parts],
    summary: dict,
    sources: list[dict],
    force: bool = False,
) -> PublishResult:
    settings.objects_dir.mkdir(parents=True, exist_ok=True)
    settings.releases_dir.mkdir(parents=True, exist_ok=True)
    _clean_partial(settings)  # leftovers of a crashed or failed publish
    scratch = settings.objects_dir / ".tmp"
    scratch.mkdir(exist_ok=True)
    # Tables are written and hashed concurrently (Parquet encoding and hashlib release the GIL).
    names = [name for name in RELEASE_TABLES if name in tables]
    with ThreadPoolExecutor(max_workers=4) as pool:
        stored = dict(zip(names, pool.map(lambda n: _store_object(settings, tables[n], scratch), names)))
    fault_point("objects_written")
    table_hashes = {name: digest for name, (digest, _) in stored.items()}
    release_hash = hashlib.sha256(json.dumps(table_hashes, sort_keys=True).encode()).hexdigest()
    parent = latest_release(settings)
    if parent and parent.get("release_hash") == release_hash and not force:
        ensure_catalog(settings, locked=True)  # nothing new to publish, but the catalogue must say the truth
        return PublishResult(parent["version"], False, parent, "no table changed since the current release")
    # the next number after every release directory, sound or damaged (a damaged one is never overwritten)
    dirs = release_dirs(settings)
    version = f"v{(int(dirs[-1].name[1:]) + 1) if dirs else 1:04d}"
    manifest = {
        "version": version,
        "parent_version": parent["version"] if parent else None,
        "created_at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "git_commit": git_commit(),
        "release_hash": release_hash,
        "gwp_set": summary.get("gwp_set"),
        "assessment_year": summary.get("assessment_year"),
        "tables": {
            name: {"file": f"{name}.parquet", "sha256": digest, "rows": tables[name].height}
            for name, (digest, _) in stored.items()
        },
        "sources": sources,
        "validation": summary,
    }
    staging = settings.releases_dir / f".staging-{version}-{os.getpid()}"
    staging.mkdir()
    for name, (_digest, path) in stored.items():
        _link(path, staging / f"{name}.parquet")
    fault_point("staging_linked")
    with open(staging / MANIFEST, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True))
        fh.flush()
        os.fsync(fh.fileno())
    _fsync_dir(staging)
    fault_point("manifest_written")
    os.rename(staging, release_dir(settings, version))  # the commit point
    _fsync_dir(settings.releases_dir)
    fault_point("release_renamed")
    build_catalog(settings)
    return PublishResult(version, True, manifest, "published")


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def diff(settings: Settings, old: str, new: str) -> dict[str, pl.DataFrame]:
    """Factors added, removed, changed (published values and units), CO2e recomputed only, and the next
    values of series, between two releases (pipelines/factors/factor_diff.py)."""
    from pipelines.factors.factor_diff import compare

    return compare(read_table(settings, old, "factor"), read_table(settings, new, "factor"))
