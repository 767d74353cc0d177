"""Validation: every staged row passes or goes to quarantine with one rule id and a message a steward
can act on. Vectorised over the whole staged frame (Polars); unit and geography look-ups run once per
distinct value.

Rules (ids used in the quarantine table, docs/validation_rules.md):
  file.*                   the file could not be read (encoding, missing columns, not a CSV/XLSX)
  value.not_number         a numeric cell that is not a number
  value.missing            no value published
  value.negative           negative without a declared removal
  year.excel_serial        a year cell holding an Excel serial date
  year.implausible         reference year outside 1980 .. assessment year + 1
  date.invalid             a date cell that is not a date
  provenance.required      publisher, document, locator or licence missing; literature without DOI/URL
  unit.unknown             the reference unit is not known to the unit registry
  unit.dimension_mismatch  the unit's dimension does not fit the activity category
  geography.invalid        not ISO 3166, GB/T 2260, an MEE grid region or GLO
  code.invalid             boundary, data type, purpose or category outside its code list
  gwp.missing_for_set      a gas has no GWP100 in the selected set
  gwp.sum_mismatch         the published CO2e differs from the sum over gases x published GWPs
  duplicate.natural_key    a second row with the same source and natural key (the first is kept)
Outliers against other sources are flagged on the curated factor (qa_flags), never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pipelines.common import geography
from pipelines.common.gwp import gas_advice, gwp_or_none, gwp_table
from pipelines.common.rules import first_failure
from pipelines.common.units import UnitError, dimension_allowed, unit_info
from pipelines.config import GWP_SETS
from pipelines.factors.schema import (
    ACTIVITY_CATEGORIES,
    DATA_TYPES,
    FACTOR_PURPOSES,
    QUARANTINE_SCHEMA,
    STAGED_GAS_COLUMNS,
    SYSTEM_BOUNDARIES,
)

# gwp.sum_mismatch tolerance, in the published unit: EPA SEF rounds gases to 3 significant figures
# (max abs difference 0.0095 kg/USD measured), DESNZ to 5 decimals.
GWP_SUM_ABS_TOL = 0.011
GWP_SUM_REL_TOL = 0.005


@dataclass
class ValidationResult:
    passed: pl.DataFrame  # staged rows + unit/geography columns, ready to harmonise
    quarantine: pl.DataFrame  # QUARANTINE_SCHEMA
    quarantine_lineage: pl.DataFrame  # the lineage list of each quarantined row


def _unit_table(labels: list[str]) -> pl.DataFrame:
    rows = []
    for label in labels:
        try:
            info = unit_info(label)
            rows.append(
                {
                    "unit_raw": label,
                    "unit": info.canonical,
                    "unit_dimension": info.dimension,
                    "unit_factor": info.per_label_to_per_canonical,
                    "unit_error": None,
                }
            )
        except (UnitError, Exception) as exc:  # pint raises its own types for odd input
            rows.append(
                {
                    "unit_raw": label,
                    "unit": None,
                    "unit_dimension": None,
                    "unit_factor": None,
                    "unit_error": str(exc) if isinstance(exc, UnitError) else f"unit {label!r} is not known ({exc})",
                }
            )
    schema = {
        "unit_raw": pl.String,
        "unit": pl.String,
        "unit_dimension": pl.String,
        "unit_factor": pl.Float64,
        "unit_error": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)


def _geo_table(raws: list[str]) -> pl.DataFrame:
    rows = []
    for raw in raws:
        try:
            g = geography.normalise(raw)
            country = "CN" if g.level in ("province", "grid_region") else g.code
            rows.append(
                {
                    "geography_raw": raw,
                    "geography_code": g.code,
                    "geography_level": g.level,
                    "geography_name": " / ".join(x for x in (g.name_zh, g.name_en) if x),
                    "geography_country": country,
                    "geo_error": None,
                }
            )
        except geography.GeographyError as exc:
            rows.append(
                {
                    "geography_raw": raw,
                    "geography_code": None,
                    "geography_level": None,
                    "geography_name": None,
                    "geography_country": None,
                    "geo_error": str(exc),
                }
            )
    schema = {
        "geography_raw": pl.String,
        "geography_code": pl.String,
        "geography_level": pl.String,
        "geography_name": pl.String,
        "geography_country": pl.String,
        "geo_error": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)


def _gas_check(staged: pl.DataFrame, gwp_set: str) -> pl.DataFrame:
    """Per row: other gases lacking a GWP in the selected set, and the sum over gases weighted with the
    publisher's GWP set (for the gwp.sum_mismatch rule). The six main gases are columns (vectorised);
    only the few rows with other gases are exploded."""
    main = [(gas, column) for gas, column in STAGED_GAS_COLUMNS.items()]
    any_main = pl.any_horizontal([pl.col(c).is_not_null() for _, c in main])
    main_sum = pl.lit(None, dtype=pl.Float64)
    for s in GWP_SETS:
        weighted = pl.sum_horizontal([pl.col(c).fill_null(0.0) * gwp_or_none(g, s) for g, c in main])
        main_sum = pl.when(pl.col("published_gwp_set") == s).then(weighted).otherwise(main_sum)
    frame = staged.select("_row", pl.when(any_main).then(main_sum).alias("_main_sum"), any_main.alias("_any_main"))
    others = (
        staged.filter(pl.col("gases").list.len() > 0)
        .select("_row", "gases", "published_gwp_set")
        .explode("gases")
        .unnest("gases")
    )
    if others.is_empty():
        return frame.select(
            "_row", pl.lit(None, dtype=pl.String).alias("missing_gwp"), pl.col("_main_sum").alias("published_sum")
        )
    names = others["gas"].unique().to_list()
    sel = {g: gwp_or_none(g, gwp_set) for g in names}
    pub_sets = [s for s in others["published_gwp_set"].unique().to_list() if s in GWP_SETS]
    pub = [{"gas": g, "published_gwp_set": s, "gwp_pub": gwp_or_none(g, s)} for g in names for s in pub_sets]
    pub_frame = pl.DataFrame(pub, schema={"gas": pl.String, "published_gwp_set": pl.String, "gwp_pub": pl.Float64})
    others = others.with_columns(
        pl.col("gas").replace_strict(sel, default=None, return_dtype=pl.Float64).alias("gwp_sel")
    )
    others = others.join(pub_frame, on=["gas", "published_gwp_set"], how="left")
    per_row = others.group_by("_row").agg(
        pl.col("gas").filter(pl.col("gwp_sel").is_null() & ~pl.col("as_co2e")).str.join(",").alias("missing_gwp"),
        pl.when(pl.col("as_co2e"))
        .then(pl.col("amount"))
        .otherwise(pl.col("amount") * pl.col("gwp_pub"))
        .sum()
        .alias("_other_sum"),
        (pl.col("gwp_pub").is_null() & ~pl.col("as_co2e")).any().alias("_pub_incomplete"),
        pl.col("published_gwp_set").first().is_in(GWP_SETS).alias("_pub_known"),
    )
    return frame.join(per_row, on="_row", how="left", maintain_order="left").select(
        "_row",
        "missing_gwp",
        pl.when(pl.col("_other_sum").is_null())
        .then(pl.col("_main_sum"))
        .when(~pl.col("_pub_incomplete") & pl.col("_pub_known"))
        .then(pl.col("_main_sum").fill_null(0.0) + pl.col("_other_sum"))
        .alias("published_sum"),
    )


def validate(staged: pl.DataFrame, gwp_set: str, assessment_year: int) -> ValidationResult:
    """Every rule on the whole frame (the in-memory path)."""
    result = split(mark_duplicates(check_rows(staged, gwp_set, assessment_year)))
    result.quarantine = result.quarantine.drop("_row")
    return result


def check_rows(staged: pl.DataFrame, gwp_set: str, assessment_year: int, offset: int = 0) -> pl.DataFrame:
    """Every rule except duplicate keys, row by row: the staged rows with `_row` (their position in the whole
    staged table: `offset` + the position here) and the first failing rule (`_rule`, `_col`, `_msg`; null when
    the row passed). Row-wise, so a table checked in chunks gives the rows checked whole."""
    gwp_table(gwp_set)  # fail early on an unknown set
    staged = staged.with_row_index("_row", offset=offset)
    units = _unit_table([u for u in staged["unit_raw"].unique().to_list() if u is not None])
    geos = _geo_table([g for g in staged["geography_raw"].unique().to_list() if g is not None])
    gas = _gas_check(staged, gwp_set)  # one row per staged row, in staged order: placed beside, not joined
    frame = (
        staged.with_columns(gas["missing_gwp"], gas["published_sum"])
        .join(units, on="unit_raw", how="left", maintain_order="left")
        .join(geos, on="geography_raw", how="left", maintain_order="left")
    )
    allowed = pl.DataFrame(
        [
            {"activity_category": c, "unit_dimension": d, "_dim_ok": dimension_allowed(c, d)}
            for c in ACTIVITY_CATEGORIES
            for d in units["unit_dimension"].drop_nulls().unique().to_list()
        ],
        schema={"activity_category": pl.String, "unit_dimension": pl.String, "_dim_ok": pl.Boolean},
    )
    frame = frame.join(allowed, on=["activity_category", "unit_dimension"], how="left", maintain_order="left")
    # advice that resolves a gas without GWP (unknown name: the synonym table; known species: why not)
    missing = [m for m in frame["missing_gwp"].unique().to_list() if m]
    advice = {m: gas_advice(m.split(","), gwp_set) for m in missing}
    frame = frame.with_columns(
        pl.col("missing_gwp").replace_strict(advice, default=None, return_dtype=pl.String).alias("_gas_advice")
    )

    main_gases = [pl.col(c) for c in STAGED_GAS_COLUMNS.values()]
    has_value = (
        pl.col("co2e_published").is_not_null()
        | pl.any_horizontal([c.is_not_null() for c in main_gases])
        | (pl.col("gases").list.len() > 0).fill_null(False)
    )
    neg = (
        (pl.col("co2e_published") < 0)
        | pl.any_horizontal([(c < 0).fill_null(False) for c in main_gases])
        | pl.col("gases").list.eval(pl.element().struct.field("amount") < 0).list.any().fill_null(False)
    )
    total = pl.col("co2e_published")
    diff = (total - pl.col("published_sum")).abs()
    sum_bad = (
        (pl.col("gas_basis") == "per_gas")
        & total.is_not_null()
        & pl.col("published_sum").is_not_null()
        & (diff > GWP_SUM_ABS_TOL)
        & (diff > GWP_SUM_REL_TOL * total.abs())
    )
    prov_missing = pl.concat_list(
        [
            pl.when(pl.col(c).is_null() | (pl.col(c).cast(pl.String).str.strip_chars() == "")).then(pl.lit(c))
            for c in ("publisher", "document", "locator", "licence")
        ]
    ).list.drop_nulls()
    lit_no_ref = (pl.col("source_id") == "literature") & pl.col("url").is_null() & pl.col("doi").is_null()
    year = pl.col("reference_year")
    bad_code = pl.concat_list(
        [
            pl.when(~pl.col("system_boundary").is_in(list(SYSTEM_BOUNDARIES))).then(
                pl.format("system_boundary '{}'", pl.col("system_boundary"))
            ),
            pl.when(~pl.col("data_type").is_in(list(DATA_TYPES))).then(
                pl.format("data_type '{}'", pl.col("data_type"))
            ),
            pl.when(~pl.col("factor_purpose").is_in(list(FACTOR_PURPOSES))).then(
                pl.format("factor_purpose '{}'", pl.col("factor_purpose"))
            ),
            pl.when(~pl.col("activity_category").is_in(list(ACTIVITY_CATEGORIES))).then(
                pl.format("activity_category '{}'", pl.col("activity_category"))
            ),
        ]
    ).list.drop_nulls()

    # (condition, rule, column, message) in priority order: the first that holds is the row's reason.
    rules = [
        (pl.col("error_rule").is_not_null(), pl.col("error_rule"), pl.col("error_column"), pl.col("error_message")),
        (~has_value, pl.lit("value.missing"), pl.lit("value"), pl.lit("no CO2e value and no gas amounts given")),
        (
            prov_missing.list.len() > 0,
            pl.lit("provenance.required"),
            prov_missing.list.join(","),
            pl.format(
                "provenance missing: {}; every factor needs publisher, document, locator and licence",
                prov_missing.list.join(", "),
            ),
        ),
        (
            lit_no_ref,
            pl.lit("provenance.required"),
            pl.lit("doi_or_url"),
            pl.lit("literature factor without DOI or URL; add the DOI (10.xxxx/...) or a URL of the publication"),
        ),
        (
            pl.col("unit_raw").is_null() | pl.col("unit_error").is_not_null(),
            pl.lit("unit.unknown"),
            pl.lit("unit"),
            pl.coalesce(pl.col("unit_error"), pl.lit("reference unit is empty")),
        ),
        (
            pl.col("_dim_ok").not_(),  # null (no unit to judge) stays null: not this rule
            pl.lit("unit.dimension_mismatch"),
            pl.lit("unit"),
            pl.format(
                "unit '{}' has dimension {}, which does not fit activity_category '{}'",
                pl.col("unit_raw"),
                pl.col("unit_dimension"),
                pl.col("activity_category"),
            ),
        ),
        (
            pl.col("geo_error").is_not_null() | pl.col("geography_raw").is_null(),
            pl.lit("geography.invalid"),
            pl.lit("geography"),
            pl.coalesce(pl.col("geo_error"), pl.lit("geography is empty")),
        ),
        (
            bad_code.list.len() > 0,
            pl.lit("code.invalid"),
            pl.lit("code"),
            pl.format("not in the code list: {}", bad_code.list.join(", ")),
        ),
        (
            year.is_null() | (year < 1980) | (year > assessment_year + 1),
            pl.lit("year.implausible"),
            pl.lit("reference_year"),
            pl.format(
                "reference_year {} outside 1980..{}",
                year.cast(pl.String).fill_null("(empty)"),
                pl.lit(assessment_year + 1),
            ),
        ),
        (
            neg & ~pl.col("removal_declared").fill_null(False),
            pl.lit("value.negative"),
            pl.lit("value"),
            pl.lit("negative factor without a declared removal (set removal=true for a removal factor)"),
        ),
        (
            pl.col("missing_gwp").fill_null("") != "",
            pl.lit("gwp.missing_for_set"),
            pl.lit("gases"),
            pl.format("no GWP100 in {} for {}: {}", pl.lit(gwp_set), pl.col("missing_gwp"), pl.col("_gas_advice")),
        ),
        (
            sum_bad,
            pl.lit("gwp.sum_mismatch"),
            pl.lit("co2e"),
            pl.format(
                "published CO2e {} differs from the sum over gases x {} GWP100 = {}",
                total,
                pl.col("published_gwp_set"),
                pl.col("published_sum").round(6),
            ),
        ),
    ]
    return first_failure(frame, rules, "_row")


def mark_duplicates(frame: pl.DataFrame) -> pl.DataFrame:
    """Duplicates among rows that passed every other rule: the first (file order, row order) is kept."""
    ok = pl.col("_rule").is_null()
    # Fast exact test first: distinct key hashes among those rows mean distinct keys (no duplicate);
    # only when two hashes coincide are the keys themselves compared (0.03 s instead of 0.08 s at 1M rows).
    hashes = frame.select(pl.struct("source_id", "natural_key").hash().filter(ok)).to_series()
    if hashes.n_unique() == hashes.len():
        frame = frame.with_columns(pl.lit(False).alias("_dup"))
    else:
        key = pl.when(ok).then(pl.struct("source_id", "natural_key"))
        frame = frame.with_columns((ok & ~key.is_first_distinct()).alias("_dup"))
    dups = frame.filter(pl.col("_dup"))
    if dups.height:
        first = (
            frame.filter(ok & ~pl.col("_dup"))
            .join(dups.select("source_id", "natural_key").unique(), on=["source_id", "natural_key"])
            .select(
                "source_id",
                "natural_key",
                pl.col("raw_file").alias("_first_file"),
                pl.col("raw_row").alias("_first_raw_row"),
                pl.col("co2e_published").alias("_first_value"),
            )
        )
        detail = dups.join(first, on=["source_id", "natural_key"], how="left").select(
            "_row", DUPLICATE_MESSAGE.alias("_dup_msg")
        )
        frame = (
            frame.join(detail, on="_row", how="left", maintain_order="left")
            .with_columns(
                pl.when(pl.col("_dup")).then(pl.lit("duplicate.natural_key")).otherwise(pl.col("_rule")).alias("_rule"),
                pl.when(pl.col("_dup")).then(pl.lit("natural_key")).otherwise(pl.col("_col")).alias("_col"),
                pl.coalesce("_dup_msg", "_msg").alias("_msg"),
            )
            .drop("_dup_msg")
        )
    return frame


# the message of a duplicate row, given the first row's file, row and value (_first_file, _first_raw_row,
# _first_value) beside its own columns
DUPLICATE_MESSAGE = pl.format(
    "duplicate of {} row {} (key {}); {}",
    pl.col("_first_file"),
    pl.col("_first_raw_row"),
    pl.col("natural_key"),
    pl.when(pl.col("_first_value") == pl.col("co2e_published"))
    .then(pl.lit("same value, first kept"))
    .otherwise(pl.format("value differs: kept {}, this row {}", pl.col("_first_value"), pl.col("co2e_published"))),
)


def split(frame: pl.DataFrame) -> ValidationResult:
    """Checked rows -> passed rows and quarantine (one row per failing staged row, with its `_row`)."""
    bad = frame.filter(pl.col("_rule").is_not_null())
    return ValidationResult(
        _passed(frame.filter(pl.col("_rule").is_null())), quarantine_rows(bad), bad.select("lineage")
    )


def quarantine_rows(bad: pl.DataFrame) -> pl.DataFrame:
    """QUARANTINE_SCHEMA (+ `_row`) from failing rows (their `_rule`, `_col`, `_msg`)."""
    return bad.select(
        "_row",
        "source_id",
        "source_version",
        "raw_file",
        "raw_sha256",
        "raw_sheet",
        "raw_row",
        pl.col("lineage").list.len().cast(pl.Int64).alias("raw_rows_count"),
        pl.col("_col").alias("column_name"),
        pl.col("_rule").alias("rule_id"),
        pl.col("_msg").alias("message"),
        "natural_key",
        pl.struct("natural_key", "name_zh", "name_en", "unit_raw", "co2e_published", "geography_raw", "reference_year")
        .struct.json_encode()
        .alias("record"),
    ).cast(QUARANTINE_SCHEMA)  # type: ignore[arg-type]


def _passed(ok: pl.DataFrame) -> pl.DataFrame:
    return ok.drop(
        "_rule",
        "_col",
        "_msg",
        "_dup",
        "error_rule",
        "error_column",
        "error_message",
        "unit_error",
        "geo_error",
        "_dim_ok",
        "_gas_advice",
        strict=False,  # `_dup` only after mark_duplicates
    )
