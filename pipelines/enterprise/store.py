"""The restricted zone (data/restricted/, outside the curated warehouse).

    uploads/<upload_id>/upload.json         what was received, status, counts
    uploads/<upload_id>/original.<ext>      the upload as received (history survives a re-upload)
    uploads/<upload_id>/<table>.parquet     enterprise, facility, product, activity, allocation, quarantine
    registry.jsonl                          append-only: one line per upload, in the order received
    inventory/<table>.parquet               current product inventories (enterprise_inventory asset)
    inventory/matched/{lines,queue}.parquet matched lines kept between builds (enterprise/matched_cache.py)
    current/<table>.parquet                 the tables of the uploads in force, kept between reads (read_current)
    restricted.duckdb                       views for stewards: uploads, current_*, inventory_* (refreshed by each build)

A newer upload for the same enterprise (credit code) and reporting year supersedes the older one once it
has accepted lines; the older one stays in history. An upload that is rejected as a whole never
supersedes anything, so a bad re-upload cannot lose what was accepted before.
Writers take an exclusive lock on the zone; the DuckDB file is rebuilt to a temporary file and swapped.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import polars as pl

from pipelines.common import stat_cache
from pipelines.common.atomic import replacing
from pipelines.common.filelock import exclusive
from pipelines.common.splice import spliced
from pipelines.config import Settings

TABLES = ("enterprise", "facility", "product", "activity", "allocation", "quarantine")
CURRENT_STATUSES = ("accepted", "partial")
KEPT_LAG = 50  # uploads the kept table of the uploads in force may lag by before it is rewritten


def locked(settings: Settings):
    return exclusive(settings.restricted_dir / ".lock")


def upload_dir(settings: Settings, upload_id: str) -> Path:
    return settings.restricted_dir / "uploads" / upload_id


def registry(settings: Settings) -> list[dict]:
    """The registry's entries (copies). Parsed again only when the file changed (`stat_cache`; it is only ever
    appended to): a build asks for it a dozen times, 10,000 JSON lines each (issue 20)."""
    try:
        entries = stat_cache.parsed(settings.restricted_dir / "registry.jsonl", _registry_entries)
    except FileNotFoundError:
        return []
    return [dict(e) for e in entries]


def _registry_entries(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def append_registry(settings: Settings, entry: dict) -> dict:
    entries = registry(settings)
    entry = {**entry, "seq": len(entries) + 1}
    with open(settings.restricted_dir / "registry.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return entry


def withdrawals(settings: Settings) -> list[dict]:
    """withdrawals.jsonl: append-only withdraw / reinstate events (who, when, why) for uploads."""
    path = settings.restricted_dir / "withdrawals.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def withdrawn(settings: Settings) -> dict[str, dict]:
    """upload_id -> the withdraw event in force (a later reinstate cancels it)."""
    state: dict[str, dict] = {}
    for event in withdrawals(settings):
        if event["action"] == "withdraw":
            state[event["upload_id"]] = event
        else:
            state.pop(event["upload_id"], None)
    return state


def record_withdrawal(settings: Settings, upload_id: str, action: str, reason: str, by: str, at: str) -> dict:
    """Take an upload out of force (or back in): logged, reversible; the files stay in the zone."""
    if action not in ("withdraw", "reinstate"):
        raise ValueError(f"action {action!r}: withdraw or reinstate")
    if not reason.strip():
        raise ValueError("a reason is required")
    known = {e["upload_id"]: e for e in registry(settings)}
    if upload_id not in known:
        raise ValueError(f"no upload {upload_id!r} in the restricted zone")
    is_withdrawn = upload_id in withdrawn(settings)
    if (action == "withdraw") == is_withdrawn:
        raise ValueError(f"upload {upload_id} is {'already withdrawn' if is_withdrawn else 'not withdrawn'}")
    event = {"action": action, "upload_id": upload_id, "reason": reason, "by": by, "at": at}
    with open(settings.restricted_dir / "withdrawals.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(event, ensure_ascii=False, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return event


def current_uploads(settings: Settings) -> list[dict]:
    """The upload in force per (credit code, reporting year): the latest one with accepted lines that is not
    withdrawn (withdrawing it brings the one before back into force)."""
    current: dict[tuple, dict] = {}
    out = withdrawn(settings)
    for entry in registry(settings):
        if entry["status"] in CURRENT_STATUSES and entry["upload_id"] not in out:
            current[(entry["uscc"], entry["reporting_year"])] = entry
    return sorted(current.values(), key=lambda e: (e["uscc"], e["reporting_year"]))


def read_current(settings: Settings, table: str) -> pl.DataFrame:
    """One table of every upload in force, in the order of `current_uploads`, exactly as a concatenation of
    the upload files in that order gives it (columns in order of first appearance, each column's common
    type). Uploads are immutable, so the result is kept (`current/<table>.parquet`, with each upload's row
    count and schema in its metadata) and the next call reads only the files of uploads not in it: reading
    10,000 uploads' files one by one was ~5 s per table, several tables per build (issue 20). The kept rows
    are used only when the combined schema is the same; otherwise every file is read again."""
    import pyarrow.parquet as pq

    from pipelines.common import parquet_meta

    ids = [e["upload_id"] for e in current_uploads(settings)]
    uploads = settings.restricted_dir / "uploads"

    def path_of(upload_id: str) -> Path:  # on demand: 10,000 Path objects per table cost 0.2 s (issue 20)
        return uploads / upload_id / f"{table}.parquet"

    kept_path = settings.restricted_dir / "current" / f"{table}.parquet"
    known: dict[str, list] = parquet_meta.read_meta(kept_path) or {}
    kept_ids = set(known)
    for i in ids:  # [rows, schema text]: from the kept metadata when known (the files never change)
        if i not in known:
            meta = pq.read_metadata(path_of(i))
            known[i] = [meta.num_rows, str(meta.schema.to_arrow_schema().remove_metadata())]
    with_rows = [i for i in ids if known[i][0]]
    if not with_rows:
        return pl.DataFrame()
    groups: dict[str, list[str]] = {}
    for i in with_rows:
        groups.setdefault(known[i][1], []).append(i)
    # the combined schema a concatenation in upload order gives (Polars' own rules, on empty frames), columns
    # in order of first appearance
    schemas = [pl.read_parquet_schema(path_of(g[0])) for g in groups.values()]  # one file of each kind
    shape = pl.concat([pl.DataFrame(schema=schema) for schema in schemas], how="diagonal_relaxed")
    columns = list(dict.fromkeys(c for schema in schemas for c in schema))
    target = shape.select(columns).schema
    kept = pl.read_parquet(kept_path) if kept_ids and kept_path.exists() else None
    have = set(kept["upload_id"].unique().to_list()) if kept is not None and kept.schema == target else set()
    frames = (
        [kept.filter(pl.col("upload_id").is_in([i for i in with_rows if i in have]))]
        if kept is not None and have
        else []
    )
    fresh_groups: dict[str, list[str]] = {}
    for i in with_rows:
        if i not in have:
            fresh_groups.setdefault(known[i][1], []).append(str(path_of(i)))
    fresh = [pl.read_parquet(g) for g in fresh_groups.values()]
    order = pl.DataFrame({"upload_id": ids, "_pos": range(len(ids))})

    def placed(parts: list[pl.DataFrame]) -> pl.DataFrame:  # in the common schema, with each upload's position
        return (
            pl.concat([shape.select(columns), *parts], how="diagonal_relaxed")
            .cast(dict(target))  # type: ignore[arg-type]
            .join(order, on="upload_id", how="left", maintain_order="left")
        )

    # the kept rows are in upload order already: the few fresh uploads' rows are spliced in where they belong
    # (sorting the five tables of 10,000 uploads again was 0.6 s of every one-upload build)
    result = spliced(placed(frames), placed(fresh).sort("_pos", maintain_order=True), "_pos", ["_pos"]).select(columns)
    # The kept file is rewritten when it is missing or unusable, or lags the uploads in force by many: a few
    # new or superseded uploads are read from their own files (a rewrite of the five tables was 1.2 s of
    # every one-upload build at 10,000 uploads); the views bind the kept file plus those files.
    lag = len(set(ids) ^ kept_ids)
    if not have or lag > max(KEPT_LAG, len(ids) // 100):
        parquet_meta.write(kept_path, result, {i: known[i] for i in ids})
    return result


def rebuild_views(settings: Settings) -> Path:
    """restricted.duckdb: views over the zone's Parquet for stewards (never attached to the catalogue).
    Rebuilt only when what the views show changed (registry, withdrawals, the inventory files and their
    schemas): binding the views over 1,000 uploads' files took ~3 s, twice in every build."""
    target = settings.restricted_dir / "restricted.duckdb"
    signature = _views_signature(settings)
    if _stored_signature(target) == signature:
        return target
    with replacing(target) as tmp:
        _write_views(settings, tmp, signature)
    return target


def _views_signature(settings: Settings) -> str:
    import hashlib

    import pyarrow.parquet as pq

    h = hashlib.sha256()
    for name in ("registry.jsonl", "withdrawals.jsonl"):
        path = settings.restricted_dir / name
        h.update(path.read_bytes() if path.exists() else b"-")
    inventory = settings.restricted_dir / "inventory"
    for path in sorted(inventory.glob("*.parquet")) if inventory.exists() else []:
        h.update(f"{path.name}:{pq.read_schema(path).remove_metadata()}".encode())
    for table in TABLES:  # which uploads the kept tables hold (the views bind them and the other files)
        kept = _kept(settings, table)
        h.update(repr(sorted(kept[1]) if kept else None).encode())
    return h.hexdigest()


def _stored_signature(target: Path) -> str | None:
    if not target.exists():
        return None
    try:
        con = duckdb.connect(str(target), read_only=True)
    except duckdb.Error:
        return None
    try:
        row = con.execute("select signature from views_signature").fetchone()
        return row[0] if row else None
    except duckdb.Error:  # a file from before the signature: rebuilt
        return None
    finally:
        con.close()


UPLOADS_SCHEMA = {
    "seq": pl.Int32,
    "upload_id": pl.String,
    "file": pl.String,
    "sha256": pl.String,
    "uscc": pl.String,
    "reporting_year": pl.Int32,
    "status": pl.String,
    "accepted_lines": pl.Int32,
    "quarantined": pl.Int32,
    "ingested_at": pl.String,
    "is_current": pl.Boolean,
}


def _write_views(settings: Settings, tmp: Path, signature: str) -> None:
    con = duckdb.connect(str(tmp))
    try:
        entries = registry(settings)
        current = {e["upload_id"] for e in current_uploads(settings)}
        uploads = pl.DataFrame(
            [
                {
                    **{k: e.get(k) for k in UPLOADS_SCHEMA if k != "is_current"},
                    "is_current": e["upload_id"] in current,
                }
                for e in entries
            ],
            schema=UPLOADS_SCHEMA,
        )
        con.register("uploads_frame", uploads)
        con.execute("create table uploads as select * from uploads_frame")
        con.unregister("uploads_frame")
        con.execute("create table views_signature as select ? as signature", [signature])
        for table in TABLES:
            kept = _kept(settings, table)

            def files_of(of: list[dict]) -> list[str]:
                def existing(entries: list[dict]) -> list[str]:
                    paths = (upload_dir(settings, e["upload_id"]) / f"{table}.parquet" for e in entries)  # noqa: B023
                    return [str(p) for p in paths if p.exists()]

                if table == "quarantine":  # noqa: B023 - the registry counts them: bind only files with rows
                    # (10,000 empty quarantine files took 1.4 s to bind, and looking for them 0.4 s); one
                    # file always, for the columns
                    return existing([e for e in of if e.get("quarantined", 1)]) or next(
                        (found for e in of if (found := existing([e]))), []
                    )
                return existing(of)

            only_current = ""
            if kept:  # one file for most uploads (binding 10,000 files took seconds per view), the others' own
                kept_file, inside = kept
                outside_current = current - inside  # once, not per entry
                cur = [kept_file, *files_of([e for e in entries if e["upload_id"] in outside_current])]
                paths = [kept_file, *files_of([e for e in entries if e["upload_id"] not in inside])]
                if inside - current:  # the kept file still holds uploads taken out of force since
                    only_current = " where upload_id in (select upload_id from uploads where is_current)"
            else:
                paths = files_of(entries)
                cur = files_of([e for e in entries if e["upload_id"] in current])
            for name, files, where in ((f"history_{table}", paths, ""), (f"current_{table}", cur, only_current)):
                if files:
                    con.execute(
                        f"create view {name} as select * from read_parquet({files!r}, union_by_name=true){where}"
                    )
        inventory = settings.restricted_dir / "inventory"
        for path in sorted(inventory.glob("*.parquet")) if inventory.exists() else []:
            con.execute(f"create view inventory_{path.stem} as select * from read_parquet('{path}')")
        con.execute("checkpoint")
    finally:
        con.close()


def _kept(settings: Settings, table: str) -> tuple[str, set[str]] | None:
    """The kept table of the uploads in force (`read_current`) and the uploads it holds, if it is readable."""
    from pipelines.common import parquet_meta

    path = settings.restricted_dir / "current" / f"{table}.parquet"
    known = parquet_meta.read_meta(path) if path.exists() else None
    return (str(path), set(known)) if known is not None else None


def write_table(frame: pl.DataFrame, path: Path) -> None:
    with replacing(path) as tmp:
        frame.write_parquet(tmp, compression="zstd", statistics=True)
