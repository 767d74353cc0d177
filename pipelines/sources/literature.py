"""Literature factors: the documented template (CSV UTF-8 or XLSX) in ``data/raw/literature/``.

Columns are documented in docs/literature_template.md. A DOI or URL is required on every row. The
reader is vectorised (Polars expressions, no Python per row) because a province may load millions of
rows; every cell that cannot be read becomes an error on its row, naming the column and the value.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl

from pipelines.common.parsing import (
    InputError,
    count_data_lines,
    decode_bytes,
    number_expr,
    parse_number_columns,
    sha256_file,
)
from pipelines.common.parts import PartsWriter, scratch_dir
from pipelines.common.rules import first_failure
from pipelines.factors.schema import GAS_STRUCT, STAGED_GAS_COLUMNS, STAGED_SCHEMA, staged_frame
from pipelines.sources.base import SourceBatch, SourceSpec, file_error_rows, raw_file_record, raw_files_frame

SPEC = SourceSpec(
    source_id="literature",
    title="Literature factors submitted in the warehouse template",
    publisher="various (per row)",
    licence="per row",
    redistributable=True,
    approved_by_source=False,  # literature needs a steward's approval
    location="embedded",
    dir_glob="literature",
    expected_refresh_days=90,
    authority="literature",
)

REQUIRED = [
    "record_id",
    "name_zh",
    "name_en",
    "activity_category",
    "unit",
    "geography",
    "reference_year",
    "system_boundary",
    "data_type",
    "publisher",
    "document",
    "locator",
    "doi_or_url",
    "publication_date",
    "licence",
]
GAS_INPUTS = {
    "co2_fossil_kg": "CO2_fossil",
    "co2_biogenic_kg": "CO2_biogenic",
    "ch4_fossil_kg": "CH4_fossil",
    "ch4_biogenic_kg": "CH4_biogenic",
    "n2o_kg": "N2O",
}
NUMERIC = ["co2e_kg", *GAS_INPUTS, "gsd2", "reference_year", "dq_reliability", "dq_completeness", "dq_technological"]
OPTIONAL = [
    "classification_scheme",
    "classification_code",
    "activity_key",
    "factor_purpose",
    "published_gwp_set",
    "co2e_kg",
    *GAS_INPUTS,
    "valid_from",
    "valid_to",
    "technology",
    "gsd2",
    "removal",
    "redistributable",
    "dq_reliability",
    "dq_completeness",
    "dq_technological",
]
ALL_COLUMNS = REQUIRED + OPTIONAL


def _read(path: Path) -> pl.DataFrame:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            frame = pl.read_excel(path, engine="calamine", infer_schema_length=0)
        except Exception as exc:
            raise InputError(
                f"{path.name}: cannot read as an Excel workbook ({type(exc).__name__}: {exc})", None, "file.unreadable"
            ) from None
        return frame.select(pl.all().cast(pl.String))
    try:
        # Polars maps the file and validates UTF-8 itself (and skips a BOM): no copy, no decode pass. Its
        # parallel reader returns ~100 chunks per column; one rechunk here (0.05 s at 1M rows) spares the
        # steps below from realigning them again and again.
        return pl.read_csv(path, infer_schema=False, truncate_ragged_lines=False).rechunk()
    except pl.exceptions.ComputeError as exc:
        if "utf-8" in str(exc).lower() or "utf8" in str(exc).lower():
            decode_bytes(path.read_bytes(), path.name, allow_gbk=False)  # raises the precise encoding error
        raise InputError(f"{path.name}: not a well-formed CSV ({exc})", None, "file.unreadable") from None
    except Exception as exc:
        raise InputError(f"{path.name}: not a well-formed CSV ({exc})", None, "file.unreadable") from None


def _date_expr(col: str) -> pl.Expr:
    text = pl.col(col).str.strip_chars()
    serial = number_expr(col)
    as_serial = pl.when(serial.is_between(20000, 80000)).then(
        pl.date(1899, 12, 30) + pl.duration(days=serial.cast(pl.Int64))
    )
    return pl.coalesce(
        text.str.to_date("%Y-%m-%d", strict=False), text.str.to_date("%Y/%m/%d", strict=False), as_serial.cast(pl.Date)
    )


def _identity(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns, st.st_ino


def stage_file(path: Path, raw_root: Path, spec: SourceSpec = SPEC) -> tuple[pl.DataFrame, dict]:
    """One template file -> staged rows (errors included) and its raw-file record."""
    # The SHA-256 is computed in a thread while Polars parses (hashlib releases the GIL). Both read the
    # file from the page cache; a file that changes meanwhile (size, mtime or inode differ afterwards)
    # is refused, so that the hash and the parsed rows come from the same content.
    before = _identity(path)
    with ThreadPoolExecutor(max_workers=1) as pool:
        digest = pool.submit(sha256_file, path)
        try:
            frame = _read(path)
            _unchanged(path, before)
        except InputError as exc:
            return _unreadable(path, raw_root, spec, exc, digest.result())
        raw = raw_file_record(spec, path, raw_root, frame.height, "utf-8", sha256=digest.result())
    return stage_frame(frame, raw, path, spec), raw


def _unchanged(path: Path, before: tuple[int, int, int]) -> None:
    if _identity(path) != before:
        raise InputError(
            f"{path.name}: the file changed while it was being read; run again once it is complete",
            None,
            "file.unreadable",
        )


def _unreadable(
    path: Path, raw_root: Path, spec: SourceSpec, exc: InputError, sha256: str
) -> tuple[pl.DataFrame, dict]:
    raw = raw_file_record(
        spec, path, raw_root, count_data_lines(path) if path.suffix == ".csv" else 0, error=str(exc), sha256=sha256
    )
    return staged_frame(file_error_rows(spec, raw, exc, raw["rows"])), raw


def stream_file(
    path: Path,
    raw_root: Path,
    chunk_rows: int,
    writer: PartsWriter,
    spec: SourceSpec = SPEC,
    source_version: str = "",
    known: tuple[tuple[int, int, int], str] | None = None,
) -> dict:
    """A large CSV staged a chunk at a time into `writer` (the same rows as `stage_file`, chunk after chunk):
    Polars streams the text cells into a Parquet file of `chunk_rows` row groups, each group is staged on its
    own. -> the raw-file record. A file Polars cannot stream is read whole (for its precise error).
    `known`: the file's identity and SHA-256 taken by the caller (identity first): not hashed again."""
    import pyarrow.parquet as pq

    before, known_sha = known if known else (_identity(path), None)
    with ThreadPoolExecutor(max_workers=1) as pool:
        hashing = pool.submit(sha256_file, path) if known_sha is None else None

        def digest() -> str:
            return known_sha or hashing.result()  # type: ignore[union-attr]

        cells = writer.directory / f"cells-{path.stem}.parquet"
        try:
            try:
                pl.scan_csv(path, infer_schema=False, truncate_ragged_lines=False).sink_parquet(
                    cells, compression="lz4", statistics=False, row_group_size=chunk_rows
                )
            except Exception:
                frame = _read(path)  # raises the precise InputError (encoding, malformed CSV)
                _unchanged(path, before)
                raw = raw_file_record(spec, path, raw_root, frame.height, "utf-8", sha256=digest())
                writer.write(_versioned(stage_frame(frame, raw, path, spec), source_version))
                return raw
            _unchanged(path, before)
        except InputError as exc:
            staged, raw = _unreadable(path, raw_root, spec, exc, digest())
            writer.write(_versioned(staged, source_version))
            return raw
        file = pq.ParquetFile(cells)
        raw = raw_file_record(spec, path, raw_root, file.metadata.num_rows, "utf-8", sha256=digest())
        offset = 0
        for group in range(file.num_row_groups):
            cells_of_group = pl.from_arrow(file.read_row_group(group))
            assert isinstance(cells_of_group, pl.DataFrame)
            writer.write(_versioned(stage_frame(cells_of_group, raw, path, spec, offset), source_version))
            offset += cells_of_group.height
        if file.metadata.num_rows == 0:
            writer.write(_versioned(stage_frame(pl.read_parquet(cells), raw, path, spec), source_version))
        del file
        cells.unlink()
        return raw


def _versioned(staged: pl.DataFrame, source_version: str) -> pl.DataFrame:
    return staged.with_columns(pl.lit(source_version or None, dtype=pl.String).alias("source_version"))


def stage_frame(frame: pl.DataFrame, raw: dict, path: Path, spec: SourceSpec = SPEC, offset: int = 0) -> pl.DataFrame:
    """Text cells of one file (or of rows offset+1.. of it) -> staged rows. Row-wise: a file staged in chunks
    gives the same rows as staged whole."""
    frame = frame.select(pl.all().cast(pl.String))
    frame = frame.rename({c: c.strip() for c in frame.columns})
    missing = [c for c in REQUIRED if c not in frame.columns]
    for c in ALL_COLUMNS:
        if c not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(c))
    # Trim text cells and read empty ones as null; only columns that have such cells pay for it (numbers
    # are cleaned while parsed, on the few cells the plain cast cannot read).
    text_columns = [c for c in ALL_COLUMNS if c not in NUMERIC]
    untidy = frame.select(
        (pl.col(c).str.starts_with(" ") | pl.col(c).str.ends_with(" ") | (pl.col(c) == "")).any() for c in text_columns
    ).row(0, named=True)
    frame = frame.with_columns(pl.col(c).str.strip_chars().replace("", None) for c in text_columns if untidy[c])
    parsed = parse_number_columns(frame, NUMERIC)
    # Dates parsed once, and only in columns that hold any (validity dates are usually left empty).
    parsed = parsed.with_columns(
        (_date_expr(c) if parsed[c].null_count() < parsed.height else pl.lit(None, dtype=pl.Date)).alias(f"_d_{c}")
        for c in ("valid_from", "valid_to")
    )
    # Errors, first failing check wins (the validation step adds the rule checks on readable rows).
    checks: list[tuple[pl.Expr, str, str, pl.Expr]] = []
    for c in NUMERIC:
        checks.append(
            (
                pl.col(c).is_not_null() & pl.col(f"_n_{c}").is_null(),
                "value.not_number",
                c,
                pl.format("{}: expected a number, got '{}'", pl.lit(c), pl.col(c)),
            )
        )
    checks.append(
        (
            pl.col("_n_reference_year").is_between(20000, 80000),
            "year.excel_serial",
            "reference_year",
            pl.format(
                "reference_year: '{}' looks like an Excel serial date; enter the year as YYYY", pl.col("reference_year")
            ),
        )
    )
    for c in ("valid_from", "valid_to"):
        checks.append(
            (
                pl.col(c).is_not_null() & pl.col(f"_d_{c}").is_null(),
                "date.invalid",
                c,
                pl.format("{}: expected a date YYYY-MM-DD, got '{}'", pl.lit(c), pl.col(c)),
            )
        )
    if missing:
        file_message = (
            f"{path.name}: missing column(s) {', '.join(missing)}; template columns are "
            f"{', '.join(REQUIRED)} (+ optional {', '.join(OPTIONAL)})"
        )
        checks = [(pl.lit(True), "file.missing_columns", ",".join(missing), pl.lit(file_message))]
    parsed = first_failure(parsed.with_row_index("_r"), [(c, pl.lit(r), pl.lit(k), m) for c, r, k, m in checks], "_r")
    doi_url = pl.col("doi_or_url")
    is_doi = doi_url.str.contains(r"^(?:https?://(?:dx\.)?doi\.org/)?10\.\d{4,9}/")
    row_no = pl.int_range(offset + 1, offset + pl.len() + 1, dtype=pl.Int64)
    staged = parsed.select(
        pl.lit(spec.source_id).alias("source_id"),
        pl.lit(None, dtype=pl.String).alias("source_version"),
        pl.col("record_id").alias("natural_key"),
        "name_zh",
        "name_en",
        pl.col("classification_scheme").fill_null("LIT"),
        "classification_code",
        "activity_category",
        "activity_key",
        pl.col("factor_purpose").fill_null("life_cycle"),
        pl.col("unit").alias("unit_raw"),
        pl.lit(1.0).alias("value_scale"),
        pl.col("_n_co2e_kg").alias("co2e_published"),
        pl.col("published_gwp_set").fill_null("unknown"),
        *[pl.col(f"_n_{c}").alias(STAGED_GAS_COLUMNS[g]) for c, g in GAS_INPUTS.items()],
        *[
            pl.lit(None, dtype=pl.Float64).alias(col)
            for g, col in STAGED_GAS_COLUMNS.items()
            if g not in GAS_INPUTS.values()
        ],
        pl.lit(None, dtype=pl.List(GAS_STRUCT)).alias("gases"),
        pl.when(pl.any_horizontal([pl.col(f"_n_{c}").is_not_null() for c in GAS_INPUTS]))
        .then(pl.lit("per_gas"))
        .otherwise(pl.lit("co2e_only"))
        .alias("gas_basis"),
        pl.col("geography").alias("geography_raw"),
        pl.col("_n_reference_year").cast(pl.Int32, strict=False).alias("reference_year"),
        pl.col("_d_valid_from").alias("valid_from"),
        pl.col("_d_valid_to").alias("valid_to"),
        "technology",
        "system_boundary",
        "data_type",
        "publisher",
        "document",
        "locator",
        pl.when(~is_doi).then(doi_url).alias("url"),
        pl.when(is_doi).then(doi_url.str.replace(r"^https?://(?:dx\.)?doi\.org/", "")).alias("doi"),
        "publication_date",
        "licence",
        (pl.col("redistributable").str.to_lowercase().is_in(["false", "no", "0", "否"]).not_()).alias(
            "redistributable"
        ),
        pl.col("removal")
        .str.to_lowercase()
        .is_in(["true", "yes", "1", "是"])
        .fill_null(False)
        .alias("removal_declared"),
        *(
            pl.col(f"_n_{c}").cast(pl.Int8, strict=False).alias(c)
            for c in ("dq_reliability", "dq_completeness", "dq_technological")
        ),
        pl.col("_n_gsd2").alias("gsd2_published"),
        pl.lit(spec.steward_default).alias("steward_default"),
        pl.lit(spec.authority).alias("authority"),
        pl.lit(None, dtype=pl.String).alias("qa_flags"),
        pl.lit(raw["raw_file"]).alias("raw_file"),
        pl.lit(raw["raw_sha256"]).alias("raw_sha256"),
        row_no.alias("raw_row"),
        pl.concat_list(
            pl.struct(
                pl.lit(raw["raw_file"]).alias("raw_file"),
                pl.lit(raw["raw_sha256"]).alias("raw_sha256"),
                row_no.alias("raw_row"),
            )
        ).alias("lineage"),
        pl.lit(None, dtype=pl.String).alias("raw_sheet"),
        pl.col("_rule").alias("error_rule"),
        pl.col("_col").alias("error_column"),
        pl.col("_msg").alias("error_message"),
    )
    return staged.select(list(STAGED_SCHEMA)).cast(STAGED_SCHEMA)  # type: ignore[arg-type]


def load(raw_root: Path, spec: SourceSpec = SPEC, chunk_rows: int | None = None) -> SourceBatch:
    """Every template file of the directory. A CSV larger than `chunk_rows` rows' worth of bytes (setting
    PCF_FACTOR_CHUNK_ROWS) is staged a chunk at a time and the batch's rows are Parquet parts (bounded memory);
    the rows are the same either way."""
    directory = raw_root / spec.dir_glob
    files = (
        sorted(p for p in directory.glob("*") if p.suffix.lower() in (".csv", ".xlsx")) if directory.is_dir() else []
    )
    if chunk_rows is None:
        from pipelines.config import settings

        chunk_rows = settings().factor_chunk_rows
    if chunk_rows and any(_streamed(p, chunk_rows) for p in files):
        return _load_streamed(raw_root, spec, files, chunk_rows)
    frames, raws = [], []
    for path in files:
        frame, raw = stage_file(path, raw_root, spec)
        frames.append(frame)
        raws.append(raw)
    batch = SourceBatch(spec, "rolling", pl.concat(frames) if frames else staged_frame([]), raw_files_frame(raws))
    batch.staged = batch.staged.with_columns(pl.lit(batch.source_version).alias("source_version"))
    if not files:
        batch.status, batch.message = "missing", f"no template files in {directory}"
    return batch


# a CSV row of the template is well over 64 bytes: a smaller file cannot have more rows than a chunk
BYTES_PER_ROW_AT_LEAST = 64


def _streamed(path: Path, chunk_rows: int) -> bool:
    """A CSV with more lines than a chunk holds rows (lines counted up to that point only)."""
    if path.suffix.lower() != ".csv" or path.stat().st_size <= chunk_rows * BYTES_PER_ROW_AT_LEAST:
        return False
    lines = 0
    with open(path, "rb") as fh:
        while block := fh.read(1 << 24):
            lines += block.count(b"\n")
            if lines > chunk_rows + 1:  # the header and more data lines than a chunk
                return True
    return False


def _load_streamed(raw_root: Path, spec: SourceSpec, files: list[Path], chunk_rows: int) -> SourceBatch:
    from pipelines.config import settings

    # the batch's version names every file's hash: known before any row is staged, so each chunk carries it
    # (each identity taken before its hash: a file changed after it was hashed is refused by stream_file)
    before = {p: _identity(p) for p in files}
    digests = [sha256_file(p) for p in files]
    known = dict(zip(files, digests))
    version = SourceBatch(spec, "rolling", staged_frame([]), pl.DataFrame({"raw_sha256": digests})).source_version
    writer = PartsWriter(scratch_dir(settings().asset_store_dir), STAGED_SCHEMA)
    raws = []
    for path in files:
        if _streamed(path, chunk_rows):
            raws.append(stream_file(path, raw_root, chunk_rows, writer, spec, version, (before[path], known[path])))
        else:
            frame, raw = stage_file(path, raw_root, spec)
            writer.write(_versioned(frame, version))
            raws.append(raw)
    batch = SourceBatch(spec, "rolling", writer.finish(), raw_files_frame(raws))  # type: ignore[arg-type]
    if batch.source_version != version:  # a file changed between the two reads of its bytes
        raise InputError(
            f"{spec.dir_glob}: a file changed while the source was being read; run again once it is complete",
            None,
            "file.unreadable",
        )
    return batch
