"""Ingest one enterprise upload into the restricted zone: read -> check -> allocate -> store.

Never raises on bad input: every problem becomes a quarantine row (sheet, row, column, rule, message
in Chinese and English) and the result says what was accepted. Re-ingesting identical bytes is a
no-op (the upload id is the file's SHA-256).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipelines.common import atomic
from pipelines.common.parsing import sha256_file
from pipelines.config import Settings
from pipelines.enterprise import store
from pipelines.enterprise.allocation import AllocationError, allocate
from pipelines.enterprise.checks import Checked, check
from pipelines.enterprise.reader import Issue, read_upload

QUARANTINE_SCHEMA = {
    "upload_id": pl.String,
    "file": pl.String,
    "sheet": pl.String,
    "row": pl.Int64,
    "column": pl.String,
    "rule": pl.String,
    "severity": pl.String,
    "message_zh": pl.String,
    "message_en": pl.String,
}


@dataclass
class UploadResult:
    upload_id: str
    file: str
    status: str  # accepted | partial | rejected
    uscc: str | None
    reporting_year: int | None
    encoding: str | None
    rows_read: int
    accepted: dict[str, int]
    quarantine: list[Issue]
    notices: list[Issue]
    lines: list[dict] = field(default_factory=list)  # per activity line: sheet, row, line_id, status, rule, message
    already_ingested: bool = False
    seq: int | None = None

    @property
    def accepted_lines(self) -> int:
        return self.accepted.get("activity", 0)


def upload_id_for(path: Path) -> tuple[str, str]:
    digest = sha256_file(path)
    return digest[:16], digest


_RACY_SECONDS = 2.0  # a file changed this recently may change again within its time stamp's tick: not kept


def upload_ids(settings: Settings, paths: list[Path]) -> dict[Path, str]:
    """path -> upload id (its content hash) for many upload files, each hashed only when its size, change
    time or inode differs from the last time it was hashed (restricted/upload_hashes.json; a file changed in
    the last two seconds is hashed again next time, as git does for its index). Every build asks this for
    every upload file: 0.6 s of hashing at 10,000 uploads, for files that do not change (raw is immutable)."""
    cache_path = settings.restricted_dir / "upload_hashes.json"
    try:
        cache = json.loads(cache_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cache = {}
    fresh: dict[str, list] = {}
    out: dict[Path, str] = {}
    now = time.time()
    for path in paths:
        st = path.stat()
        stamp = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
        key = str(path.resolve())
        seen = cache.get(key)
        if isinstance(seen, list) and len(seen) == 5 and seen[:4] == stamp:
            upload_id = seen[4]
        else:
            upload_id = upload_id_for(path)[0]
        out[path] = upload_id
        if now - max(st.st_mtime_ns, st.st_ctime_ns) / 1e9 > _RACY_SECONDS:
            fresh[key] = [*stamp, upload_id]
    if fresh != cache:
        atomic.write_text(cache_path, json.dumps(fresh, sort_keys=True))
    return out


def ingest_upload(path: Path, settings: Settings) -> UploadResult:
    path = Path(path)
    upload_id, digest = upload_id_for(path)
    with store.locked(settings):
        for entry in store.registry(settings):
            if entry["upload_id"] == upload_id:
                return _from_registry(settings, entry)
        result = _process(path, upload_id)
        _write(settings, path, digest, result)
    # the stewards' views (restricted.duckdb) are refreshed by the build that follows (inventory.write_inventory):
    # rebuilt here they cost every upload a pass over all uploads' files (quadratic at 10,000 uploads; issue 20)
    return result


def _process(path: Path, upload_id: str) -> UploadResult:
    read = read_upload(path)
    if read.file_issues:
        issues = [Issue(i.rule, i.message_zh, i.message_en, i.sheet, i.row, i.column) for i in read.file_issues]
        # Rows that were readable are still accounted for: each is quarantined under the file's rule.
        first = read.file_issues[0]
        issues += [
            Issue(
                "file.rejected",
                f"文件被拒收：{first.message_zh}",
                f"file rejected: {first.message_en}",
                r.sheet_name,
                r.row,
            )
            for r in read.records
        ]
        return UploadResult(
            upload_id, path.name, "rejected", None, None, read.encoding, len(read.records), {}, issues, read.notices
        )
    checked = check(read)
    allocation_rows, quarantine = [], list(checked.quarantine)
    kept = []
    for line in checked.activities:
        try:
            shares = allocate(line, checked.products)
        except AllocationError as exc:
            quarantine.append(Issue(exc.rule, exc.zh, exc.en, line["_sheet"], line["_row"], exc.column))
            continue
        kept.append(line)
        allocation_rows += [a.__dict__ for a in shares]
    checked.activities = kept
    ent = checked.enterprise
    status = "rejected" if ent is None or not kept else ("partial" if quarantine else "accepted")
    if ent is None and kept:
        quarantine += [
            Issue(
                "enterprise.unidentified",
                "企业信息无效，无法确认数据归属，整份文件不入库",
                "the enterprise record is invalid, so the lines cannot be attributed: nothing taken in",
                line["_sheet"],
                line["_row"],
            )
            for line in kept
        ]
        kept, allocation_rows = [], []
    result = UploadResult(
        upload_id,
        path.name,
        status,
        ent["uscc"] if ent else None,
        ent["reporting_year"] if ent else None,
        read.encoding,
        checked.rows_read,
        {
            "enterprise": int(ent is not None),
            "facility": len(checked.facilities),
            "product": len(checked.products),
            "activity": len(kept),
        }
        if status != "rejected"
        else {},
        quarantine,
        checked.notices,
    )
    result._checked = checked  # type: ignore[attr-defined]
    result._allocation = allocation_rows  # type: ignore[attr-defined]
    by_row = {(i.sheet, i.row): i for i in quarantine}
    for line in kept:
        result.lines.append(
            {
                "sheet": line["_sheet"],
                "row": line["_row"],
                "line_id": line["line_id"],
                "status": "accepted" if status != "rejected" else "rejected",
                "rule": None,
                "message": None,
            }
        )
    for issue in quarantine:
        if issue.row is not None:
            result.lines.append(
                {
                    "sheet": issue.sheet,
                    "row": issue.row,
                    "line_id": None,
                    "status": "quarantined",
                    "rule": issue.rule,
                    "message": f"{issue.message_zh} / {issue.message_en}",
                }
            )
    result.lines.sort(key=lambda x: (str(x["sheet"]), x["row"] or 0))
    del by_row
    return result


def _frame(records: list[dict], extra: dict) -> pl.DataFrame:
    rows = [
        {
            **{k: v for k, v in r.items() if not k.startswith("_")},
            "sheet": r.get("_sheet"),
            "row": r.get("_row"),
            **extra,
        }
        for r in records
    ]
    return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()


def _write(settings: Settings, path: Path, digest: str, result: UploadResult) -> None:
    target = store.upload_dir(settings, result.upload_id)
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, target / f"original{path.suffix.lower()}")
    ident = {"upload_id": result.upload_id, "uscc": result.uscc, "reporting_year": result.reporting_year}
    checked: Checked | None = getattr(result, "_checked", None)
    if checked is not None and result.status != "rejected":
        tables = {
            "enterprise": _frame([checked.enterprise], ident),  # type: ignore[list-item]
            "facility": _frame(checked.facilities, ident),
            "product": _frame(checked.products, ident),
            "activity": _frame(checked.activities, ident),
            # every row read for the types (an upload with over 100 shares, ints before floats, broke here)
            "allocation": pl.DataFrame(result._allocation, infer_schema_length=None).with_columns(  # type: ignore[attr-defined]
                *(pl.lit(v).alias(k) for k, v in ident.items())
            ),
        }
        for name, frame in tables.items():
            if frame.height:
                store.write_table(frame, target / f"{name}.parquet")
    quarantine = pl.DataFrame(
        [
            {
                "upload_id": result.upload_id,
                "file": result.file,
                "sheet": i.sheet,
                "row": i.row,
                "column": i.column,
                "rule": i.rule,
                "severity": i.severity,
                "message_zh": i.message_zh,
                "message_en": i.message_en,
            }
            for i in [*result.quarantine, *result.notices]
        ],
        schema=QUARANTINE_SCHEMA,
    )
    store.write_table(quarantine, target / "quarantine.parquet")
    meta = {
        "upload_id": result.upload_id,
        "file": result.file,
        "sha256": digest,
        "uscc": result.uscc,
        "reporting_year": result.reporting_year,
        "status": result.status,
        "encoding": result.encoding,
        "rows_read": result.rows_read,
        "accepted": result.accepted,
        "accepted_lines": result.accepted_lines,
        "quarantined": len(result.quarantine),
        "notices": len(result.notices),
        "ingested_at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
    }
    (target / "upload.json").write_text(
        json.dumps(meta, ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8"
    )
    entry = store.append_registry(
        settings,
        {
            k: meta[k]
            for k in (
                "upload_id",
                "file",
                "sha256",
                "uscc",
                "reporting_year",
                "status",
                "accepted_lines",
                "quarantined",
                "ingested_at",
            )
        },
    )
    result.seq = entry["seq"]


def _from_registry(settings: Settings, entry: dict) -> UploadResult:
    target = store.upload_dir(settings, entry["upload_id"])
    meta = json.loads((target / "upload.json").read_text(encoding="utf-8"))
    q = pl.read_parquet(target / "quarantine.parquet")
    issues = [
        Issue(r["rule"], r["message_zh"], r["message_en"], r["sheet"], r["row"], r["column"], r["severity"])
        for r in q.iter_rows(named=True)
    ]
    result = UploadResult(
        entry["upload_id"],
        entry["file"],
        entry["status"],
        entry["uscc"],
        entry["reporting_year"],
        meta.get("encoding"),
        meta.get("rows_read", 0),
        meta.get("accepted", {}),
        [i for i in issues if i.severity == "error"],
        [i for i in issues if i.severity == "notice"],
        already_ingested=True,
        seq=entry["seq"],
    )
    return result
