"""Reading untidy input: encodings, numbers written by people (full-width digits, thousands
separators), Excel serial dates. Every failure says what was expected."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

FULL_WIDTH = str.maketrans("０１２３４５６７８９．，－＋　％", "0123456789.,-+ %")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
EXCEL_EPOCH = dt.date(1899, 12, 30)  # Excel's 1900 date system (with its 1900 leap-year bug)


class InputError(ValueError):
    """A value or file that cannot be read; message names what was expected."""

    def __init__(self, message: str, column: str | None = None, rule: str = "value.not_number"):
        super().__init__(message)
        self.column = column
        self.rule = rule


def parse_number(value, column: str = "value") -> float | None:
    """'1,234.5', '１２３．４', ' 4.04e-01 ' -> float; '' / None -> None; 'abc' -> InputError."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value).translate(FULL_WIDTH).strip().replace(" ", "")
    if text == "" or text in ("-", "—", "NA", "N/A", "n/a"):
        return None
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    try:
        number = float(text)
    except ValueError:
        raise InputError(f"{column}: expected a number, got {value!r}", column) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise InputError(f"{column}: expected a finite number, got {value!r}", column)
    return number


def number_expr(column: str) -> pl.Expr:
    """Vectorised parse_number for large files: returns Float64 (null where unreadable or empty)."""
    text = (
        pl.col(column)
        .cast(pl.String)
        .str.strip_chars()
        .str.replace_many(list("０１２３４５６７８９．，－＋"), list("0123456789.,-+"))
    )
    text = (
        pl.when(text.str.contains(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$"))
        .then(text.str.replace_all(",", ""))
        .otherwise(text)
    )
    return text.cast(pl.Float64, strict=False)


def parse_number_columns(frame: pl.DataFrame, columns: list[str], prefix: str = "_n_") -> pl.DataFrame:
    """number_expr for whole columns, fast path first: a plain cast, then the slow clean-up (full-width
    digits, thousands separators, surrounding blanks) only on the cells the cast could not read. A cell
    that is blank once stripped becomes null in the text column too (an empty cell, not a bad number)."""
    out = []
    for column in columns:
        text = frame[column]
        direct = text.cast(pl.Float64, strict=False)
        retry = (direct.is_null() & text.is_not_null()).arg_true()
        if len(retry):
            fixed = frame[retry].select(number_expr(column), (pl.col(column).str.strip_chars() == "").alias("_blank"))
            direct = direct.scatter(retry, fixed[column])
            blank = retry.filter(fixed["_blank"])
            if len(blank):
                out.append(text.scatter(blank, None))
        out.append(direct.alias(prefix + column))
    return frame.with_columns(out)


def parse_year(value, column: str = "reference_year") -> int | None:
    number = parse_number(value, column)
    if number is None:
        return None
    if number != int(number):
        raise InputError(f"{column}: expected a year YYYY, got {value!r}", column, "year.implausible")
    year = int(number)
    if 20000 <= year <= 80000:
        raise InputError(
            f"{column}: {value!r} looks like an Excel serial date ({excel_serial_to_date(year)}); enter the year as YYYY",
            column,
            "year.excel_serial",
        )
    return year


def excel_serial_to_date(serial: float) -> dt.date:
    return EXCEL_EPOCH + dt.timedelta(days=int(serial))


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
)


def parse_date(value, column: str = "date") -> dt.date | None:
    """ISO, 2024/1/31, 2024年1月31日, datetime objects and Excel serial numbers -> date."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).translate(FULL_WIDTH).strip()
    if not text:
        return None
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            try:
                return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                raise InputError(f"{column}: {value!r} is not a calendar date", column, "date.invalid") from None
    if re.fullmatch(r"\d{5}(\.0+)?", text):
        return excel_serial_to_date(float(text))
    raise InputError(f"{column}: expected a date YYYY-MM-DD, got {value!r}", column, "date.invalid")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class DecodedText:
    text: str
    encoding: str


def decode_bytes(data: bytes, path: str, allow_gbk: bool) -> DecodedText:
    """UTF-8 (with or without BOM); GB18030/GBK only where the caller accepts it."""
    try:
        return DecodedText(data.decode("utf-8-sig"), "utf-8")
    except UnicodeDecodeError as exc:
        position = exc.start
    try:
        gbk_text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise InputError(
            f"{path}: not UTF-8 (invalid byte at offset {position}) and not GBK/GB18030 either; save the file as CSV UTF-8",
            None,
            "file.encoding",
        ) from None
    if allow_gbk:
        return DecodedText(gbk_text, "gb18030")
    sample = gbk_text.strip().splitlines()[0][:40] if gbk_text.strip() else ""
    raise InputError(
        f"{path}: file is GBK/GB18030-encoded (first line reads {sample!r}), expected UTF-8; "
        "re-save as 'CSV UTF-8' and upload again",
        None,
        "file.encoding",
    )


def read_csv_strings(path: Path, allow_gbk: bool = False) -> tuple[pl.DataFrame, str]:
    """Read a CSV with every column as text (numbers are parsed later, cell by cell, with errors)."""
    data = path.read_bytes()
    decoded = decode_bytes(data, str(path), allow_gbk)
    frame = pl.read_csv(io.StringIO(decoded.text), infer_schema=False, comment_prefix=None, truncate_ragged_lines=False)
    return frame, decoded.encoding


def count_data_lines(path: Path) -> int:
    """Data lines of a text file that could not be parsed (header excluded), for conservation counts."""
    data = path.read_bytes()
    lines = [line for line in data.splitlines() if line.strip()]
    return max(len(lines) - 1, 0)
