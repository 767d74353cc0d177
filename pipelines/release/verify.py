"""`pcf verify`: is every release what its manifest says, and does everything derived from the manifests agree?

Checks, per release (or all): the manifest is readable and belongs to its directory; every table file exists,
its SHA-256 equals the manifest's and its row count (Parquet footer) equals the manifest's; the chain of
parent versions (each parent exists and is older). Across releases: the SQL catalogue lists exactly the
sound releases with `latest` on the newest (catalog.catalog_mismatch), and every line of the decision log
reads (a bad line is reported with its number, unless a steward has acknowledged skipping it).

`--repair` restores what can be restored without guessing: a damaged table file is re-linked from the
content-addressed object of the same SHA-256 when that object is sound; the catalogue is rebuilt. Anything
else (no sound object, a damaged manifest) is reported with what to do (docs/architecture.md, Recovery).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow.parquet as pq

from pipelines.common.atomic import link_or_copy
from pipelines.common.parsing import sha256_file
from pipelines.config import Settings
from pipelines.release.manifests import MANIFEST, load_manifest, release_dirs


@dataclass
class Verdict:
    problems: list[str] = field(default_factory=list)  # what is damaged, with the exact file
    repaired: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)  # release versions checked

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(settings: Settings, version: str | None = None, repair: bool = False) -> Verdict:
    v = Verdict()
    dirs = release_dirs(settings)
    names = [d.name for d in dirs]
    chosen = dirs if version is None else [d for d in dirs if d.name == version]
    if version is not None and not chosen:
        v.problems.append(f"release {version!r} not found; releases: {', '.join(names) or 'none'}")
        return v
    for d in chosen:
        v.checked.append(d.name)
        manifest, why = load_manifest(d)
        if manifest is None:
            v.problems.append(
                f"{why}: this release cannot be used; restore {d / MANIFEST} from a backup, or remove "
                f"{d} (its tables stay in the objects store) and rebuild"
            )
            continue
        parent = manifest.get("parent_version")
        if parent is not None and (parent not in names or int(parent[1:]) >= int(d.name[1:])):
            v.problems.append(f"{d / MANIFEST}: parent_version {parent} is not an earlier release")
        for table, meta in sorted(manifest["tables"].items()):
            _check_table(settings, d, table, meta, repair, v)
    _check_catalog(settings, repair, v)
    _check_log(settings, repair, v)
    return v


def _table_problem(path, meta) -> str | None:
    if not path.exists():
        return f"{path}: missing (manifest: {meta['rows']} rows, sha256 {meta['sha256'][:16]}...)"
    digest = sha256_file(path)
    if digest != meta["sha256"]:
        return f"{path}: SHA-256 {digest[:16]}... differs from the manifest's {meta['sha256'][:16]}... (damaged)"
    try:
        rows = pq.ParquetFile(path).metadata.num_rows
    except Exception as exc:  # a file whose hash matches but that is not Parquet cannot happen; report anyway
        return f"{path}: not a readable Parquet file ({type(exc).__name__})"
    if rows != meta["rows"]:
        return f"{path}: {rows} rows, the manifest says {meta['rows']}"
    return None


def _check_table(settings: Settings, d, table: str, meta: dict, repair: bool, v: Verdict) -> None:
    path = d / meta.get("file", f"{table}.parquet")
    problem = _table_problem(path, meta)
    if problem is None:
        return
    source = settings.objects_dir / f"{meta['sha256']}.parquet"
    if repair and source.exists() and _table_problem(source, meta) is None:
        link_or_copy(source, path)
        v.repaired.append(f"{path}: restored from {source}")
        return
    hint = (
        f"; `pcf verify --repair` restores it from {source.name}"
        if source.exists() and _table_problem(source, meta) is None
        else "; no sound copy in the objects store: rebuild with `pcf build` (the same inputs give the same bytes), "
        "then `pcf verify --repair`, or restore the file from a backup"
    )
    v.problems.append(problem + hint)


def _check_catalog(settings: Settings, repair: bool, v: Verdict) -> None:
    from pipelines.release.catalog import catalog_mismatch, ensure_catalog

    why = catalog_mismatch(settings)
    if why is None:
        return
    if repair:
        ensure_catalog(settings)
        v.repaired.append(f"{settings.warehouse_path}: rebuilt ({why})")
    else:
        v.problems.append(
            f"{settings.warehouse_path}: {why}; `pcf verify --repair` (or any build or `pcf status`) "
            f"rebuilds it from the manifests"
        )


def _check_log(settings: Settings, repair: bool, v: Verdict) -> None:
    from pipelines.common.filelock import exclusive
    from pipelines.curation.decisions import DecisionError, isolate_torn_tail, log_path, log_problems, read_log

    try:
        read_log(settings)
    except DecisionError as exc:
        v.problems.append(str(exc))
    problems = log_problems(settings)
    if problems and repair:
        with exclusive(log_path(settings).with_suffix(".lock")):
            moved = isolate_torn_tail(settings)
        if moved:
            v.repaired.append(f"{log_path(settings)}: {moved}")
        problems = log_problems(settings)
    v.problems += [
        p + "; `pcf verify --repair` moves a cut tail aside (kept in decisions.torn.jsonl, never applied)"
        for p in problems
    ]
