"""Staged batches of the slow sources, kept between builds and keyed by everything staging reads.

Staging is a pure function of a source's raw files, the code and reference tables under pipelines/, the
installed libraries and the PCF_* settings (edition pins): re-parsing TianGong's ILCD archive (~4.5 s) on
every build, with nothing of it changed, was the largest part of a one-upload rebuild after the enterprise
steps (issue 20). A batch staged in parts (a large literature file) keeps its parts in the entry. The key hashes:
  - every file under the source's directory (relative path and SHA-256 of the bytes);
  - every file of the pipelines package (code, reference CSVs), the installed distributions and versions;
  - the PCF_* environment.
A hit returns the batch exactly as stored (asset_store's frame store: dtypes round-trip); anything
different is staged again and replaces the entry. Only sources whose staging reads nothing else opt in
(`CACHED`); the store is intermediate data under the asset store (pcf verify does not cover it, and
deleting it only costs time).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from pipelines import asset_store
from pipelines.common.parsing import sha256_file
from pipelines.common.parts import Parts
from pipelines.config import PACKAGE_DIR
from pipelines.sources.base import SourceBatch

# sources whose staging reads only their own directory (and the package's reference tables); literature: a
# national collection of millions of rows takes ~30 s to stage at 10,000,000 rows, on every rebuild
CACHED = frozenset({"tiangong_ilcd", "epa_sef_v1_2", "literature"})


@lru_cache(maxsize=1)
def _environment_key() -> str:
    from importlib import metadata

    h = hashlib.sha256()
    for path in sorted(p for p in PACKAGE_DIR.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
        h.update(hashlib.sha256(path.read_bytes()).digest())
    dists = sorted(f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions())
    h.update("\n".join(dists).encode())
    return h.hexdigest()


def key(source_dir_glob: str, root: Path) -> str:
    h = hashlib.sha256(_environment_key().encode())
    h.update(repr(sorted((k, v) for k, v in os.environ.items() if k.startswith("PCF_"))).encode())
    h.update(str(root.resolve()).encode())
    for folder in sorted(root.glob(source_dir_glob)):
        files = [folder] if folder.is_file() else sorted(p for p in folder.rglob("*") if p.is_file())
        for path in files:
            h.update(path.relative_to(root).as_posix().encode())
            h.update(sha256_file(path).encode())
    return h.hexdigest()


def cached_load(source_id: str, dir_glob: str, root: Path, store: Path, load: Callable[[], SourceBatch]) -> SourceBatch:
    if source_id not in CACHED:
        return load()
    entry = store / source_id / key(dir_glob, root)
    if (entry / asset_store.OBJECT).exists():
        try:
            return asset_store.read(entry)
        except Exception:  # a damaged entry is staged again (and replaced)
            pass
    batch = load()
    if batch.status == "loaded":
        for old in (store / source_id).glob("*") if (store / source_id).is_dir() else []:
            if old != entry:
                shutil.rmtree(old, ignore_errors=True)
        try:
            asset_store.write(entry, batch)
        except OSError:  # another build stored the same entry at the same moment: theirs stands
            return batch
        if isinstance(batch.staged, Parts):  # its scratch parts are the entry's now: read them from there
            return asset_store.read(entry)
    return batch
