"""Reading releases: the release directories, their manifests (the single source of truth), the latest
one, a table of a release; and the fault points of the crash tests. Kept apart from publishing
(pipelines/release/publish.py) so that the catalogue reads manifests without importing the publisher."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import polars as pl

from pipelines.config import Settings

MANIFEST = "manifest.json"


VERSION_NAME = re.compile(r"^v\d{4,}$")


def release_dirs(settings: Settings) -> list[Path]:
    """Every release directory (vNNNN), oldest first, whether or not its manifest is sound."""
    root = settings.releases_dir
    if not root.is_dir():
        return []
    return sorted(
        (d for d in root.iterdir() if d.is_dir() and VERSION_NAME.match(d.name)), key=lambda d: int(d.name[1:])
    )


def load_manifest(directory: Path) -> tuple[dict | None, str | None]:
    """-> (manifest, None), or (None, why it cannot be used): missing, truncated or not this release's."""
    path = directory / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, f"{path}: missing"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"{path}: unreadable ({type(exc).__name__}: {exc})"
    if (
        not isinstance(manifest, dict)
        or manifest.get("version") != directory.name
        or not isinstance(manifest.get("tables"), dict)
        or "release_hash" not in manifest
    ):
        return None, f"{path}: not a manifest of release {directory.name}"
    return manifest, None


def list_releases(settings: Settings) -> list[dict]:
    """The manifests that can be used, oldest first. A damaged one is left out here (never a traceback in
    status, diff, approve or build) and named by `pcf verify`."""
    return [m for m in (load_manifest(d)[0] for d in release_dirs(settings)) if m is not None]


def read_manifest(settings: Settings, version: str | None = None) -> dict:
    """The manifest of release `version`, or of the latest one; FileNotFoundError when there is none."""
    if version is None:
        latest = latest_release(settings)
        if latest is None:
            raise FileNotFoundError("no release yet: run `pcf build`")
        return latest
    manifest, why = load_manifest(release_dir(settings, version))
    if manifest is None:
        raise FileNotFoundError(
            f"release {version!r} not found"
            if why and why.endswith("missing") and not release_dir(settings, version).is_dir()
            else f"release {version!r}: {why}"
        )
    return manifest


def latest_release(settings: Settings) -> dict | None:
    """The newest usable manifest: read from the newest release back, so a call costs one manifest (the web
    platform asks on every page), not one per release ever published."""
    for d in reversed(release_dirs(settings)):
        manifest, _why = load_manifest(d)
        if manifest is not None:
            return manifest
    return None


def release_dir(settings: Settings, version: str) -> Path:
    return settings.releases_dir / version


def read_table(settings: Settings, version: str, table: str) -> pl.DataFrame:
    return pl.read_parquet(release_dir(settings, version) / f"{table}.parquet")


def fault_point(name: str) -> None:
    """Fault injection for the crash tests: PCF_FAULT=<name> kills the process here (as kill -9 would)."""
    if os.environ.get("PCF_FAULT") == name:
        os._exit(137)


FAULT_POINTS = (
    "objects_written",
    "staging_linked",
    "manifest_written",
    "release_renamed",
    "catalog_temp_written",
    "catalog_swapped",
)
