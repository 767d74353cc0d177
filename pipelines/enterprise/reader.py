"""Reading an enterprise upload (.xlsx, or .csv in UTF-8 or GBK) into records with their positions.

Nothing is interpreted here beyond what reading needs: every data row becomes a RawRecord with its
sheet and row number (as the enterprise sees them in Excel, or the CSV line), and anything that makes
a cell or a file unreadable becomes an Issue with a rule and a message in Chinese and English.

Guards: file size, zip-bomb-like compression in .xlsx, formulas without a cached value, merged cells
in the data area, hidden rows, unknown sheets and columns, empty trailing rows (skipped, not lines).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.common.parsing import InputError, decode_bytes
from pipelines.enterprise.codes import CODES_SHEET, HEADER_ROWS, INSTRUCTIONS_SHEET, SHEETS, Sheet

MAX_FILE_BYTES = 20 * 1024 * 1024  # an upload larger than this is refused before reading
MAX_UNCOMPRESSED_BYTES = 100 * 1024 * 1024  # sum of the .xlsx zip members once inflated
MAX_COMPRESSION_RATIO = 100  # members that inflate more than this are bomb-like
MAX_ROWS_PER_SHEET = 100_000


@dataclass(frozen=True)
class Issue:
    rule: str
    message_zh: str
    message_en: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    severity: str = "error"  # error: the row (or file) is quarantined; notice: reported, nothing lost


@dataclass
class RawRecord:
    sheet: str  # sheet key: enterprise | facility | product | activity
    sheet_name: str  # as named in the file
    row: int  # 1-based row in Excel, or line in the CSV
    values: dict[str, Any]
    issues: list[Issue] = field(default_factory=list)


@dataclass
class ReadResult:
    records: list[RawRecord] = field(default_factory=list)
    file_issues: list[Issue] = field(default_factory=list)  # the file cannot be used at all
    notices: list[Issue] = field(default_factory=list)
    encoding: str | None = None
    sheets_found: list[str] = field(default_factory=list)


def read_upload(path: Path) -> ReadResult:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        return _file_error(
            "file.too_large",
            f"文件 {size} 字节，超过上限 {MAX_FILE_BYTES} 字节",
            f"{path.name}: {size} bytes, above the {MAX_FILE_BYTES}-byte upload limit",
        )
    kind = detect_type(path)
    if kind == "xlsx":
        result = _read_xlsx(path)
    elif kind == "csv":
        result = _read_csv(path)
    elif kind == "xls":
        return _file_error(
            "file.type",
            "这是旧版 Excel 97-2003 (.xls) 文件：请另存为 .xlsx 后上传",
            f"{path.name}: an Excel 97-2003 (.xls) workbook; save it as .xlsx and upload again",
        )
    else:
        return _file_error(
            "file.type",
            "文件既不是 Excel 工作簿 (.xlsx) 也不是文本 CSV，请上传 .xlsx 或 .csv",
            f"{path.name}: neither an .xlsx workbook nor a text CSV; upload .xlsx or .csv",
        )
    suffix = path.suffix.lower()
    if suffix not in {"xlsx": (".xlsx", ".xlsm"), "csv": (".csv",)}[kind]:
        result.notices.append(
            Issue(
                "file.type_mismatch",
                f"文件扩展名为 {suffix or '（无）'}，内容为 {kind}：已按 {kind} 读取",
                f"{path.name}: the extension says {suffix or '(none)'}, the content is {kind}; read as {kind}",
                severity="notice",
            )
        )
    return result


def detect_type(path: Path) -> str:
    """What the bytes are, whatever the file is called: xlsx (a zip), xls (OLE2), csv (text), or unknown.
    The upload's identity is its content, so its type is too: the same bytes are read the same way under
    any name."""
    with open(path, "rb") as fh:
        head = fh.read(8192)
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "xls"
    if not head or b"\x00" in head:  # binary (or empty): not a CSV
        return "unknown"
    return "csv"  # text: its encoding is judged by the CSV reader (file.encoding)


def _file_error(rule: str, zh: str, en: str) -> ReadResult:
    return ReadResult(file_issues=[Issue(rule, zh, en)])


def _sheet_for(name: str) -> Sheet | None:
    text = name.strip().lower()
    for spec in SHEETS:
        zh, en = spec.name.split(" ", 1)
        if text in (spec.name.lower(), zh.lower(), en.lower(), spec.key) or text.startswith(zh.lower()):
            return spec
    return None


def _zip_guard(path: Path) -> ReadResult | None:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile:
        return _file_error(
            "file.unreadable",
            "文件不是有效的 Excel 工作簿（.xlsx 为 zip 格式）",
            f"{path.name}: not a valid .xlsx workbook (not a zip archive)",
        )
    total = sum(i.file_size for i in infos)
    if total > MAX_UNCOMPRESSED_BYTES:
        return _file_error(
            "file.zip_bomb",
            f"工作簿解压后 {total} 字节，超过上限 {MAX_UNCOMPRESSED_BYTES} 字节，已拒收",
            f"{path.name}: inflates to {total} bytes (limit {MAX_UNCOMPRESSED_BYTES}); refused unread",
        )
    for info in infos:
        if (
            info.compress_size
            and info.file_size > 1_000_000
            and info.file_size / info.compress_size > MAX_COMPRESSION_RATIO
        ):
            ratio = info.file_size / info.compress_size
            return _file_error(
                "file.zip_bomb",
                f"工作簿成员 {info.filename} 压缩比 {ratio:.0f}:1，疑似压缩炸弹，已拒收",
                f"{path.name}: member {info.filename} inflates {ratio:.0f}:1 (limit {MAX_COMPRESSION_RATIO}:1); "
                "bomb-like, refused unread",
            )
    return None


def _read_xlsx(path: Path) -> ReadResult:
    guard = _zip_guard(path)
    if guard:
        return guard
    from openpyxl import load_workbook

    data = path.read_bytes()  # at most MAX_FILE_BYTES; loaded from memory, so the file's name plays no part
    try:
        extent = data_extent(io.BytesIO(data))
    except Exception as exc:  # openpyxl raises many types for damaged files
        return _file_error(
            "file.unreadable",
            f"无法读取 Excel 工作簿：{type(exc).__name__}",
            f"{path.name}: cannot read as an Excel workbook ({type(exc).__name__}: {exc})",
        )
    over = {name: e for name, e in extent.items() if _sheet_for(name) and e.rows > MAX_ROWS_PER_SHEET}
    if over:  # refused after a streaming count that stopped at the limit: the workbook is never loaded whole
        name, e = next(iter(over.items()))
        return _file_error(
            "sheet.too_many_rows",
            f"工作表 '{name}' 超过 {MAX_ROWS_PER_SHEET} 行数据（读到第 {e.last_row} 行时停止计数）",
            f"sheet '{name}': more than {MAX_ROWS_PER_SHEET} rows holding data (counting stopped at "
            f"row {e.last_row}); split the upload",
        )
    try:
        formulas = load_workbook(io.BytesIO(data), data_only=False)
        values = load_workbook(io.BytesIO(data), data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged files
        return _file_error(
            "file.unreadable",
            f"无法读取 Excel 工作簿：{type(exc).__name__}",
            f"{path.name}: cannot read as an Excel workbook ({type(exc).__name__}: {exc})",
        )
    result = ReadResult(encoding="xlsx", sheets_found=list(values.sheetnames))
    seen: dict[str, str] = {}
    unknown: list[str] = []
    for name in values.sheetnames:
        if name in (INSTRUCTIONS_SHEET, CODES_SHEET):
            continue
        spec = _sheet_for(name)
        if spec is None:
            unknown.append(name)
            result.notices.append(
                Issue(
                    "sheet.unknown",
                    f"工作表 '{name}' 不属于模板，已忽略（未读取任何数据）",
                    f"sheet '{name}' is not part of the template; ignored (nothing read from it)",
                    sheet=name,
                    severity="notice",
                )
            )
            continue
        last_row = extent.get(name, Extent()).last_row
        if spec.key in seen:  # a second (often hidden) copy of a sheet: its rows are quarantined, never dropped
            hidden = values[name].sheet_state != "visible"
            before = len(result.records)
            _read_sheet(spec, name, formulas[name], values[name], result, last_row)
            for record in result.records[before:]:
                record.issues.insert(
                    0,
                    Issue(
                        "sheet.duplicate",
                        f"工作表 '{name}'{'（隐藏）' if hidden else ''} 与已读取的 '{seen[spec.key]}' 同为"
                        f"{spec.name}，其行不入库：请把数据合并到一个工作表后重新上传",
                        f"sheet '{name}'{' (hidden)' if hidden else ''} is a second {spec.name} sheet besides "
                        f"'{seen[spec.key]}': its rows are not taken in; merge them into one sheet and upload again",
                        sheet=name,
                        row=record.row,
                    ),
                )
            continue
        seen[spec.key] = name
        _read_sheet(spec, name, formulas[name], values[name], result, last_row)
    for spec in SHEETS:
        if spec.key not in seen:
            renamed = f"; sheets not in the template: {', '.join(repr(n) for n in unknown)}" if unknown else ""
            result.file_issues.append(
                Issue(
                    "sheet.missing",
                    f"缺少模板要求的工作表 '{spec.name}'（请勿改名或删除）"
                    + (f"；文件中的其他工作表：{'、'.join(unknown)}" if unknown else ""),
                    f"the template's sheet '{spec.name}' is missing (do not rename or delete it){renamed}",
                    sheet=spec.name,
                )
            )
    return result


@dataclass
class Extent:
    rows: int = 0  # rows holding a value (empty or only formatted rows do not count)
    last_row: int = 0  # the last such row (reading stops once rows exceeds the limit)


def data_extent(path, limit: int | None = None, max_columns: int = 256) -> dict[str, Extent]:
    """Per sheet, the rows that hold data, counted streaming (openpyxl read-only): a stray cell at
    XFD1048576 is one row, not a million, and counting stops past `limit` + the header rows."""
    from openpyxl import load_workbook

    limit = MAX_ROWS_PER_SHEET if limit is None else limit
    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        out = {}
        for ws in wb.worksheets:
            e = Extent()
            for index, row in enumerate(ws.iter_rows(max_col=max_columns, values_only=True), start=1):
                if row.count(None) == len(row) or not any(v is not None and str(v).strip() for v in row):
                    continue
                e.rows, e.last_row = e.rows + 1, index
                if e.rows > limit + HEADER_ROWS:
                    break
            e.rows = max(0, e.rows - HEADER_ROWS)
            out[ws.title] = e
        return out
    finally:
        wb.close()


def _header_row(ws, spec: Sheet, width: int) -> tuple[int, dict[int, str]] | None:
    """The row holding the English keys (row 2 in the template; tolerate it anywhere in the first 6)."""
    keys = {c.key for c in spec.columns}
    for r in range(1, 7):
        row = {
            c: str(ws.cell(row=r, column=c).value).strip()
            for c in range(1, width + 1)
            if ws.cell(row=r, column=c).value is not None
        }
        found = {c: v for c, v in row.items() if v in keys}
        if len(found) >= max(2, len([c for c in spec.columns if c.required]) // 2):
            return r, found
    return None


def _read_sheet(
    spec: Sheet, name: str, ws_formulas, ws_values, result: ReadResult, last_row: int | None = None
) -> None:
    """Rows up to `last_row` (the last row holding data, from data_extent), never to Excel's max_row."""
    last_row = ws_values.max_row if last_row is None else min(last_row, ws_values.max_row)
    width = min(ws_values.max_column, 256)
    header = _header_row(ws_values, spec, width)
    if header is None:
        issue = Issue(
            "sheet.header_unreadable",
            f"工作表 '{name}' 找不到第 2 行的英文字段名（请勿修改表头）",
            f"sheet '{name}': no header row with the template's English keys (row 2); do not edit the headers",
            sheet=name,
        )
        result.file_issues.append(issue)
        # its rows are accounted for all the same: each is quarantined under the file's rejection
        for r in range(HEADER_ROWS + 1, last_row + 1):
            if any(ws_values.cell(row=r, column=c).value is not None for c in range(1, width + 1)):
                result.records.append(RawRecord(spec.key, name, r, {}, [dataclasses.replace(issue, row=r)]))
        return
    header_row, columns = header
    for c in range(1, width + 1):
        text = ws_values.cell(row=header_row, column=c).value
        if text is not None and c not in columns:
            result.notices.append(
                Issue(
                    "column.unknown",
                    f"列 '{text}' 不属于模板，已忽略",
                    f"column '{text}' is not part of the template; ignored",
                    sheet=name,
                    row=header_row,
                    column=str(text),
                    severity="notice",
                )
            )
    merged_header = [str(m) for m in ws_values.merged_cells.ranges if m.min_row <= header_row]
    if merged_header:
        result.notices.append(
            Issue(
                "sheet.merged_header",
                f"表头含合并单元格 {', '.join(merged_header)}，已按第 {header_row} 行字段名读取",
                f"merged header cells {', '.join(merged_header)}; columns read from the keys in row {header_row}",
                sheet=name,
                severity="notice",
            )
        )
    merged_data: dict[int, str] = {}
    for m in ws_values.merged_cells.ranges:
        if m.max_row > header_row:
            for r in range(max(m.min_row, header_row + 1), m.max_row + 1):
                merged_data.setdefault(r, str(m))
    for r in range(header_row + 1, last_row + 1):
        values: dict[str, object] = {}
        issues: list[Issue] = []
        for c, key in columns.items():
            value = ws_values.cell(row=r, column=c).value
            formula = ws_formulas.cell(row=r, column=c).value
            if isinstance(formula, str) and formula.startswith("=") and value is None:
                issues.append(
                    Issue(
                        "cell.formula_uncalculated",
                        f"单元格为公式 {formula} 但没有计算结果：请在 Excel 中打开并保存，或填写数值",
                        f"cell holds the formula {formula} with no calculated value: open and save the "
                        "file in Excel, or type the value",
                        sheet=name,
                        row=r,
                        column=key,
                    )
                )
            if isinstance(value, str) and not value.strip():
                value = None
            values[key] = value
        if all(v is None for v in values.values()) and not issues:
            continue  # empty row (trailing or spacer): not a line
        if ws_values.row_dimensions[r].hidden:
            issues.append(
                Issue(
                    "row.hidden",
                    "该行被隐藏：隐藏行不计入清单，如属实请取消隐藏后重新上传",
                    "the row is hidden: hidden rows are not taken into the inventory; unhide it and "
                    "re-upload if it belongs there",
                    sheet=name,
                    row=r,
                )
            )
        if r in merged_data:
            issues.append(
                Issue(
                    "cell.merged",
                    f"该行含合并单元格 {merged_data[r]}：合并后只有左上角有值，请拆分并逐行填写",
                    f"the row is part of merged cells {merged_data[r]}: only the top-left cell holds a "
                    "value; unmerge and fill every row",
                    sheet=name,
                    row=r,
                )
            )
        result.records.append(RawRecord(spec.key, name, r, values, issues))


def _read_csv(path: Path) -> ReadResult:
    """CSV uploads carry all four sheets in one table: a `sheet` column says which sheet a row belongs
    to (enterprise, facility, product, activity), the other columns are the template keys."""
    data = path.read_bytes()
    try:
        decoded = decode_bytes(data, path.name, allow_gbk=True)
    except InputError as exc:
        result = _file_error("file.encoding", "无法识别文件编码：请保存为 UTF-8 或 GBK 编码的 CSV", str(exc))
        _account_lines(result, data.decode("latin-1").splitlines())
        return result
    result = ReadResult(encoding=decoded.encoding, sheets_found=["csv"])
    rows = csv.reader(io.StringIO(decoded.text))
    first = next(rows, [])
    if "sheet" not in [h.strip() for h in first]:
        result.file_issues.append(
            Issue(
                "file.missing_columns",
                "CSV 第 1 行须为字段名并包含 sheet 列",
                f"{path.name}: the first line must hold the template keys including a "
                "'sheet' column (enterprise/facility/product/activity)",
            )
        )
        _account_lines(result, decoded.text.splitlines())
        return result
    header = [h.strip() for h in first]
    known = {c.key for s in SHEETS for c in s.columns} | {"sheet"}
    for h in header:
        if h and h not in known:
            result.notices.append(
                Issue(
                    "column.unknown",
                    f"列 '{h}' 不属于模板，已忽略",
                    f"column '{h}' is not part of the template; ignored",
                    row=1,
                    column=h,
                    severity="notice",
                )
            )
    data_lines = 0
    for row in rows:
        line_no = rows.line_num
        if not any(cell.strip() for cell in row):
            continue
        data_lines += 1
        if data_lines > MAX_ROWS_PER_SHEET:  # stop reading at the limit: the file is refused as a whole
            result.file_issues.append(
                Issue(
                    "sheet.too_many_rows",
                    f"CSV 超过 {MAX_ROWS_PER_SHEET} 行数据（读到第 {line_no} 行时停止）",
                    f"{path.name}: more than {MAX_ROWS_PER_SHEET} lines holding data (reading stopped at line {line_no}); "
                    "split the upload",
                )
            )
            return result
        if len(row) != len(header):
            result.records.append(
                RawRecord(
                    "activity",
                    "csv",
                    line_no,
                    {},
                    [
                        Issue(
                            "row.ragged",
                            f"该行有 {len(row)} 个字段，表头有 {len(header)} 个",
                            f"line has {len(row)} fields, the header has {len(header)}",
                            sheet="csv",
                            row=line_no,
                        )
                    ],
                )
            )
            continue
        cells = {h: (v.strip() or None) for h, v in zip(header, row) if h}
        spec = _sheet_for(cells.get("sheet") or "")
        if spec is None:
            result.records.append(
                RawRecord(
                    "activity",
                    "csv",
                    line_no,
                    cells,
                    [
                        Issue(
                            "row.unknown_sheet",
                            f"sheet 列应为 enterprise/facility/product/activity，实际为 '{cells.get('sheet')}'",
                            f"column 'sheet' must be enterprise, facility, product or activity, got '{cells.get('sheet')}'",
                            sheet="csv",
                            row=line_no,
                            column="sheet",
                        )
                    ],
                )
            )
            continue
        values = {c.key: cells.get(c.key) for c in spec.columns}
        result.records.append(RawRecord(spec.key, "csv", line_no, values))
    return result


def _account_lines(result: ReadResult, lines: list[str]) -> None:
    """A CSV refused as a whole still accounts for every data line: one record per non-empty line after the
    first, quarantined under the file's reason."""
    issue = result.file_issues[0]
    for line_no, line in enumerate(lines[1:], start=2):
        if line.strip():
            result.records.append(
                RawRecord("activity", "csv", line_no, {}, [dataclasses.replace(issue, row=line_no, sheet="csv")])
            )


def as_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return None
