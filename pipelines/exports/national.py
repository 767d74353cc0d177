"""The package for the national PCF factor database: approved, redistributable factors of one release.

  factors.csv       one row per factor, UTF-8, the fields of NATIONAL_FIELDS in that order
  factors.parquet   the same table, typed
  schema.json       field names, types, units, descriptions (zh/en) and code lists: for the receiving side
  package.json      schema version, release (version, hash, created), submitting organisation, GWP set,
                    counts (by source, geography level, approval basis), what was left out and why (counts
                    only), SHA-256 and bytes of every file

Only factors with steward_status 'approved' and redistributable licences go in: national and
international published sources approved by configuration, literature approved by a steward, regional
factors the stewards published. Pending, internal_only (licence), rejected and deprecated factors stay
out, and so does everything from the restricted zone: the package is built from the release's factor
and steward_decision tables only, and validate() checks it before anything is written (then the files
appear at once by a directory rename). The same release gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

import polars as pl

from pipelines.config import Settings
from pipelines.exports.restricted import RestrictedValues
from pipelines.exports.spreadsheet import neutralise
from pipelines.factors.schema import FACTOR_COLUMNS, FACTOR_PURPOSES, SYSTEM_BOUNDARIES
from pipelines.release.publish import read_manifest, read_table, write_parquet
from pipelines.sources import notices

SCHEMA_VERSION = "1.0.0"
FACTOR_FIELDS = [
    "factor_id",
    "name_zh",
    "name_en",
    "classification_scheme",
    "classification_code",
    "activity_category",
    "activity_key",
    "factor_purpose",
    "co2e_kg",
    "unit",
    "unit_label",
    "gwp_set",
    "gas_basis",
    "co2_fossil_kg",
    "co2_biogenic_kg",
    "ch4_fossil_kg",
    "ch4_biogenic_kg",
    "ch4_unspecified_kg",
    "n2o_kg",
    "fgas_co2e_kg",
    "co2e_biogenic_kg",
    "published_co2e_kg",
    "published_gwp_set",
    "geography_code",
    "geography_level",
    "geography_name",
    "reference_year",
    "valid_from",
    "valid_to",
    "technology",
    "system_boundary",
    "data_type",
    "source_id",
    "source_version",
    "publisher",
    "document",
    "locator",
    "url",
    "doi",
    "publication_date",
    "licence",
    "dq_reliability",
    "dq_completeness",
    "dq_temporal",
    "dq_geographical",
    "dq_technological",
    "dqr",
    "uncertainty_distribution",
    "gsd2",
    "metrological_traceability",
    "steward_status",
    "raw_sha256",
]
EXTRA_FIELDS = {
    "approval_basis": (
        "string",
        "source_configuration (a national / international published source approved by "
        "configuration), steward_decision, steward_override, regional_publication",
        "批准依据：来源配置 / 审核员决定 / 审核员修订值 / 区域发布",
    ),
    "approved_by": ("string", "steward who decided (null when approved by source configuration)", "审核员"),
    "approved_at": ("string", "UTC time of the decision (null when approved by source configuration)", "批准时间"),
    "approval_reason": ("string", "the steward's reason (and, for an override, the source of the value)", "批准理由"),
    "submitting_organisation": ("string", "organisation submitting the package (PCF_SUBMITTER)", "报送单位"),
    "release_version": ("string", "warehouse release the package was built from", "数据库发布版本"),
}
NATIONAL_FIELDS = FACTOR_FIELDS + list(EXTRA_FIELDS)
# Where text written by people can travel; coded columns (status, purpose, units ...) hold code-list values only.
FREE_TEXT_FIELDS = [
    "name_zh",
    "name_en",
    "classification_code",
    "technology",
    "geography_name",
    "publisher",
    "document",
    "locator",
    "url",
    "doi",
    "licence",
    "approved_by",
    "approval_reason",
    "submitting_organisation",
]
REQUIRED = [
    "factor_id",
    "co2e_kg",
    "unit",
    "gwp_set",
    "geography_code",
    "reference_year",
    "system_boundary",
    "data_type",
    "publisher",
    "document",
    "licence",
    "dqr",
    "gsd2",
    "steward_status",
    "approval_basis",
    "submitting_organisation",
    "release_version",
]
ZH = {
    "factor_id": "因子编号",
    "name_zh": "中文名称",
    "name_en": "英文名称",
    "co2e_kg": "排放因子值（kgCO2e/单位）",
    "unit": "单位",
    "gwp_set": "GWP 基准",
    "geography_code": "地理代码",
    "reference_year": "数据年份",
    "system_boundary": "系统边界",
    "data_type": "数据类型",
    "publisher": "发布机构",
    "document": "来源文件",
    "locator": "表/页",
    "dqr": "数据质量评分",
    "gsd2": "不确定性（几何标准差平方）",
    "metrological_traceability": "计量溯源性",
    "steward_status": "审核状态",
}


class ExportValidationError(ValueError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("the national package failed validation (nothing written):\n  - " + "\n  - ".join(problems))


def submitter() -> str:
    from pipelines.config import settings

    return settings().submitter


def build_table(factor: pl.DataFrame, decisions: pl.DataFrame, version: str) -> tuple[pl.DataFrame, dict]:
    eligible = factor.filter((pl.col("steward_status") == "approved") & pl.col("redistributable"))
    left_out = factor.join(eligible.select("factor_id"), on="factor_id", how="anti").with_columns(
        pl.when(~pl.col("redistributable"))
        .then(pl.lit("licence forbids redistribution"))
        .otherwise(pl.col("steward_status"))
        .alias("why")
    )
    applied = (
        decisions.filter(pl.col("applied"))
        if decisions.height and "applied" in decisions.columns
        else pl.DataFrame(
            schema={
                "factor_id": pl.String,
                "action": pl.String,
                "steward": pl.String,
                "at": pl.String,
                "reason": pl.String,
                "source": pl.String,
            }
        )
    )
    approval = applied.select(
        "factor_id",
        pl.when(pl.col("action") == "override")
        .then(pl.lit("steward_override"))
        .otherwise(pl.lit("steward_decision"))
        .alias("approval_basis"),
        pl.col("steward").alias("approved_by"),
        pl.col("at").alias("approved_at"),
        pl.when(pl.col("action") == "override")
        .then(pl.format("{} (value from: {})", "reason", "source"))
        .otherwise(pl.col("reason"))
        .alias("approval_reason"),
    )
    table = (
        eligible.join(approval, on="factor_id", how="left")
        .with_columns(
            pl.when(pl.col("approval_basis").is_not_null())
            .then(pl.col("approval_basis"))
            .when(pl.col("source_id") == "regional_steward")
            .then(pl.lit("regional_publication"))
            .otherwise(pl.lit("source_configuration"))
            .alias("approval_basis"),
            pl.lit(submitter()).alias("submitting_organisation"),
            pl.lit(version).alias("release_version"),
        )
        .select(NATIONAL_FIELDS)
        .sort("factor_id")
    )
    return table, dict(sorted(left_out.group_by("why").len().rows()))


def validate(table: pl.DataFrame, restricted: RestrictedValues | None = None) -> None:
    """Everything the receiving side relies on, checked before a byte is written."""
    problems = []
    if table.columns != NATIONAL_FIELDS:
        problems.append(f"columns differ from the schema: {sorted(set(table.columns) ^ set(NATIONAL_FIELDS))}")
    for col in REQUIRED:
        if col in table.columns and (n := table[col].null_count()):
            ids = table.filter(pl.col(col).is_null())["factor_id"].head(5).to_list()
            problems.append(f"{col}: {n} empty value(s), e.g. {ids}")
    if table["factor_id"].is_duplicated().any():
        problems.append("factor_id repeats")
    bad_status = table.filter(pl.col("steward_status") != "approved")
    if bad_status.height:
        problems.append(f"{bad_status.height} factor(s) not approved: {bad_status['factor_id'].head(5).to_list()}")
    values = table["co2e_kg"].to_list()
    if any(v is None or not math.isfinite(v) for v in values):
        problems.append("co2e_kg: a value is not a finite number")
    for col, allowed in (("system_boundary", SYSTEM_BOUNDARIES), ("factor_purpose", FACTOR_PURPOSES)):
        unknown = set(table[col].drop_nulls().unique()) - set(allowed)
        if unknown:
            problems.append(f"{col}: values outside the code list: {sorted(unknown)}")
    if table.filter(
        pl.col("factor_id").str.starts_with("product:") | pl.col("source_id").is_in(["enterprise", "MODEL"])
    ).height:
        problems.append("enterprise products in a factor package")
    if restricted is not None:
        text_columns = [c for c in FREE_TEXT_FIELDS if c in table.columns]
        hits = restricted.find(table, text_columns, [c for c in ("co2e_kg",) if c in table.columns])
        if hits:
            problems.append(f"restricted-zone values found in the package: {hits[:5]}")
    if problems:
        raise ExportValidationError(problems)


def schema_document(version: str) -> dict:
    docs = {c.name: c for c in FACTOR_COLUMNS}
    kinds: dict[Any, str] = {
        pl.String: "string",
        pl.Float64: "number",
        pl.Int32: "integer",
        pl.Int8: "integer",
        pl.Int64: "integer",
        pl.Boolean: "boolean",
        pl.Date: "date",
    }
    fields = []
    zh: str | None
    for name in NATIONAL_FIELDS:
        if name in EXTRA_FIELDS:
            kind, en, zh = EXTRA_FIELDS[name]
        else:
            kind, en, zh = kinds.get(docs[name].dtype, "string"), docs[name].doc, ZH.get(name)
        fields.append(
            {
                "name": name,
                "type": kind,
                "required": name in REQUIRED,
                "description_en": en,
                **({"description_zh": zh} if zh else {}),
            }
        )
    return {
        "schema_version": SCHEMA_VERSION,
        "title": "National PCF factor record (export of the PCF Factor Warehouse)",
        "built_from_release": version,
        "primary_key": "factor_id",
        "fields": fields,
        "code_lists": {
            "system_boundary": SYSTEM_BOUNDARIES,
            "factor_purpose": FACTOR_PURPOSES,
            "data_type": ["primary", "site_specific", "secondary"],
            "geography_level": ["province", "grid_region", "country", "region", "global"],
            "gas_basis": ["per_gas", "co2_only", "co2e_only"],
            "approval_basis": ["source_configuration", "steward_decision", "steward_override", "regional_publication"],
            "gwp_set": ["SAR", "AR4", "AR5", "AR6"],
        },
        "notes": [
            "co2e_kg is kg CO2e per one `unit` under `gwp_set` (GWP100).",
            "Per-gas columns are kg of that gas per unit; null means not given by the source.",
            "Geography: ISO 3166-1 alpha-2 for countries, GB/T 2260 six-digit codes for provinces, "
            "CN-GRID-* for the MEE regional grids, GLO for global.",
        ],
    }


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def approved_factors(settings: Settings, version: str | None = None) -> tuple[dict, pl.DataFrame, pl.DataFrame, dict]:
    """-> the release's manifest, its factor table, the national table (approved, redistributable) and the
    counts left out by reason. The one selection every public output uses (package, openLCA, site)."""
    manifest = read_manifest(settings, version)
    version = manifest["version"]
    factor = read_table(settings, version, "factor")
    decisions = (
        read_table(settings, version, "steward_decision")
        if "steward_decision" in manifest["tables"]
        else pl.DataFrame()
    )
    table, left_out = build_table(factor, decisions, version)
    return manifest, factor, table, left_out


def export(
    settings: Settings, out: Path, version: str | None = None, restricted: RestrictedValues | None = None
) -> dict:
    manifest, _factor, table, left_out = approved_factors(settings, version)
    version = manifest["version"]
    validate(table, restricted)
    out = Path(out)
    staging = out.parent / f".{out.name}.staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    neutralise(table).write_csv(staging / "factors.csv")  # spreadsheet-safe text cells (exports/spreadsheet.py)
    write_parquet(table, staging / "factors.parquet")
    (staging / "schema.json").write_text(
        json.dumps(schema_document(version), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    files = ["factors.csv", "factors.parquet", "schema.json"]
    notice = notices(table["source_id"].to_list(), settings.sources_dir)
    if notice:  # licences such as MIT ask for their notice in every copy
        (staging / "NOTICE.txt").write_text(notice, encoding="utf-8")
        files.append("NOTICE.txt")
    package = {
        "schema_version": SCHEMA_VERSION,
        "release": {
            "version": version,
            "release_hash": manifest["release_hash"],
            "created_at": manifest["created_at"],
            "gwp_set": manifest.get("gwp_set"),
        },
        "submitting_organisation": submitter(),
        "factors": table.height,
        "by_source": dict(sorted(table.group_by("source_id").len().rows())),
        "by_geography_level": dict(sorted(table.group_by("geography_level").len().rows())),
        "by_approval_basis": dict(sorted(table.group_by("approval_basis").len().rows())),
        "left_out": left_out,
        "files": {name: {"sha256": _sha(staging / name), "bytes": (staging / name).stat().st_size} for name in files},
    }
    (staging / "package.json").write_text(
        json.dumps(package, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    if out.exists():
        shutil.rmtree(out)
    os.rename(staging, out)
    return package
