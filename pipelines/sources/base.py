"""What every source adapter shares: the source description, raw-file records, the batch it returns."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipelines.common.parsing import InputError, sha256_file
from pipelines.factors.schema import STAGED_SCHEMA, staged_frame

RAW_FILE_SCHEMA = {
    "source_id": pl.String,
    "raw_file": pl.String,
    "raw_sha256": pl.String,
    "bytes": pl.Int64,
    "rows": pl.Int64,
    "encoding": pl.String,
    "error": pl.String,
}


@dataclass(frozen=True)
class SourceSpec:
    source_id: str
    title: str
    publisher: str
    licence: str
    redistributable: bool
    approved_by_source: bool  # national / international published data: approved by configuration
    location: str  # 'external' (sources dir) or 'embedded' (data/raw)
    dir_glob: str  # directory (or glob of edition directories) under its root
    expected_refresh_days: int
    url: str | None = None
    doi: str | None = None
    # Precedence tier in factor selection (pipelines/matching/selection.py, docs/factor_selection.md):
    # steward_regional > official_cn > official_other > literature > third_party
    authority: str = "official_other"

    @property
    def steward_default(self) -> str:
        if not self.redistributable:
            return "internal_only"
        return "approved" if self.approved_by_source else "pending"


@dataclass
class SourceBatch:
    """One load of one source: staged candidate factors (or error rows), its raw files, its record."""

    spec: SourceSpec
    edition: str
    staged: pl.DataFrame
    raw_files: pl.DataFrame
    status: str = "loaded"  # loaded, missing, error
    message: str = ""
    extras: dict[str, pl.DataFrame] = field(default_factory=dict)  # reference tables (fuel_property ...)
    edition_meta: dict | None = None  # what the edition's own files say of it (sources/editions.py)

    @property
    def source_version(self) -> str:
        digest = hashlib.sha256("".join(sorted(self.raw_files["raw_sha256"].to_list())).encode()).hexdigest()
        return f"{self.edition}+{digest[:12]}"

    def source_record(self) -> dict:
        s = self.spec
        m = self.edition_meta or {}
        return {
            "source_id": s.source_id,
            "source_version": self.source_version if self.raw_files.height else self.edition,
            "edition": self.edition,
            "title": s.title,
            "publisher": s.publisher,
            "licence": s.licence,
            "redistributable": s.redistributable,
            "approved_by_source": s.approved_by_source,
            "location": s.location,
            "url": m.get("url") or s.url,
            "doi": m.get("doi") or s.doi,
            "status": self.status,
            "message": self.message,
            "expected_refresh_days": s.expected_refresh_days,
            "raw_files": self.raw_files.height,
            "raw_rows": int(self.raw_files["rows"].sum() or 0),
            "staged_rows": self.staged.height,
            "authority": s.authority,
            "edition_meta": json.dumps(self.edition_meta, ensure_ascii=False, sort_keys=True)
            if self.edition_meta
            else None,
        }


def raw_file_record(
    spec: SourceSpec,
    path: Path,
    root: Path,
    rows: int,
    encoding: str = "utf-8",
    error: str | None = None,
    sha256: str | None = None,
) -> dict:
    """`sha256`: the hash of the bytes actually parsed, when the caller read them (no second read)."""
    return {
        "source_id": spec.source_id,
        "raw_file": relative_name(path, root),
        "raw_sha256": sha256 or sha256_file(path),
        "bytes": path.stat().st_size,
        "rows": rows,
        "encoding": encoding,
        "error": error,
    }


def relative_name(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve().parent))
    except ValueError:
        return path.name


def raw_files_frame(records: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(records, schema=RAW_FILE_SCHEMA) if records else pl.DataFrame(schema=RAW_FILE_SCHEMA)


def missing_batch(spec: SourceSpec, where: Path) -> SourceBatch:
    return SourceBatch(
        spec, "absent", staged_frame([]), raw_files_frame([]), "missing", f"{spec.source_id}: nothing found at {where}"
    )


def lineage(raw_file: str, sha: str, *rows: int) -> list[dict]:
    return [{"raw_file": raw_file, "raw_sha256": sha, "raw_row": int(r)} for r in rows]


def file_error_rows(spec: SourceSpec, raw: dict, exc: InputError, n_rows: int, sheet: str | None = None) -> list[dict]:
    """A file that cannot be read at all: one error row carrying every data line, so none is lost."""
    return [
        {
            "source_id": spec.source_id,
            "natural_key": f"file:{raw['raw_file']}",
            "raw_file": raw["raw_file"],
            "raw_sha256": raw["raw_sha256"],
            "raw_row": 0,
            "raw_sheet": sheet,
            "lineage": lineage(raw["raw_file"], raw["raw_sha256"], *range(1, n_rows + 1)),
            "error_rule": exc.rule,
            "error_column": exc.column,
            "error_message": str(exc),
            "licence": spec.licence,
            "redistributable": spec.redistributable,
        }
    ]


def edition_dirs(root: Path, pattern: str) -> list[Path]:
    """Edition directories of a source, oldest first: epa_sef_v1_2 < epa_sef_v1_3_0 (numeric order)."""

    def key(p: Path):
        return [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", p.name)]

    return sorted((p for p in root.glob(pattern) if p.is_dir()), key=key)


def year_start(year: int | None) -> dt.date | None:
    return dt.date(year, 1, 1) if year else None


_CO2E_UNIT = re.compile(r"^\s*(?P<mass>kg|t|g|mg)\s*CO2(?P<e>e)?\s*/\s*(?P<den>.+?)\s*$")


def split_factor_unit(text: str) -> tuple[float, bool, str]:
    """'kgCO2e/kWh' -> (1.0, True, 'kWh'); 'tCO2/MWh' -> (1000.0, False, 'MWh')."""
    from pipelines.common.units import MASS_PREFIX_TO_KG

    m = _CO2E_UNIT.match(text or "")
    if not m:
        raise InputError(f"unit: expected '<kg|t|g>CO2[e]/<unit>', got {text!r}", "unit", "unit.unknown")
    return MASS_PREFIX_TO_KG[m.group("mass")], bool(m.group("e")), m.group("den")


# codes adapters already give (fossil/biogenic origin is the adapter's knowledge, not the name's)
_KEEP_GAS = {"CO2_fossil", "CO2_biogenic", "CH4_fossil", "CH4_biogenic"}


def finish(spec: SourceSpec, edition: str, rows: list[dict], raw_records: list[dict], **extras) -> SourceBatch:
    batch = SourceBatch(spec, edition, staged_frame([]), raw_files_frame(raw_records), extras=extras)
    version = batch.source_version
    from pipelines.common.gwp import canonical_gas

    for r in rows:
        if r.get("gases"):  # every source's gas names through the one synonym table
            r["gases"] = [
                {**g, "gas": canonical_gas(g["gas"]) if g.get("gas") not in _KEEP_GAS else g["gas"]} for g in r["gases"]
            ]
        r.setdefault("source_id", spec.source_id)
        r["source_version"] = version
        r.setdefault("licence", spec.licence)
        r.setdefault("redistributable", spec.redistributable)
        r.setdefault("steward_default", spec.steward_default)
        r.setdefault("authority", spec.authority)
        r.setdefault("publisher", spec.publisher)
        r.setdefault("url", spec.url)
        r.setdefault("doi", spec.doi)
    batch.staged = staged_frame(rows)
    return batch


__all__ = [name for name in dir() if not name.startswith("_")] + ["STAGED_SCHEMA"]
