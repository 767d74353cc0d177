"""Reading an enterprise upload (.xlsx, or .csv in UTF-8 or GBK) into records with their positions.

Nothing is interpreted here beyond what reading needs: every data row becomes a RawRecord with its
sheet and row number (as the enterprise sees them in Excel, or the CSV line), and anything that makes
a cell or a file unreadable becomes an Issue with a rule and a message in Chinese and English.

Guards: file size, zip-bomb-like compression in .xlsx, formulas without a cached value, merged cells
in the data area, hidden rows, unknown sheets and columns, empty trailing rows (skipped, not lines).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.enterprise.codes import CODES_SHEET, HEADER_ROWS, INSTRUCTIONS_SHEET, SHEETS, Sheet
from pipelines.parsing import InputError, decode_bytes

MAX_FILE_BYTES = 20 * 1024 * 1024          # an upload larger than this is refused before reading
MAX_UNCOMPRESSED_BYTES = 100 * 1024 * 1024  # sum of the .xlsx zip members once inflated
MAX_COMPRESSION_RATIO = 100                 # members that inflate more than this are bomb-like
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
    sheet: str            # sheet key: enterprise | facility | product | activity
    sheet_name: str       # as named in the file
    row: int              # 1-based row in Excel, or line in the CSV
    values: dict[str, object]
    issues: list[Issue] = field(default_factory=list)


@dataclass
class ReadResult:
    records: list[RawRecord] = field(default_factory=list)
    file_issues: list[Issue] = field(default_factory=list)   # the file cannot be used at all
    notices: list[Issue] = field(default_factory=list)
    encoding: str | None = None
    sheets_found: list[str] = field(default_factory=list)


def read_upload(path: Path) -> ReadResult:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        return _file_error("file.too_large", f"文件 {size} 字节，超过上限 {MAX_FILE_BYTES} 字节",
                           f"{path.name}: {size} bytes, above the {MAX_FILE_BYTES}-byte upload limit")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    if suffix == ".csv":
        return _read_csv(path)
    return _file_error("file.type", f"不支持的文件类型 {suffix}，请上传 .xlsx 或 .csv",
                       f"{path.name}: file type {suffix!r} is not accepted; upload .xlsx or .csv")


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
        return _file_error("file.unreadable", "文件不是有效的 Excel 工作簿（.xlsx 为 zip 格式）",
                           f"{path.name}: not a valid .xlsx workbook (not a zip archive)")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNCOMPRESSED_BYTES:
        return _file_error("file.zip_bomb", f"工作簿解压后 {total} 字节，超过上限 {MAX_UNCOMPRESSED_BYTES} 字节，已拒收",
                           f"{path.name}: inflates to {total} bytes (limit {MAX_UNCOMPRESSED_BYTES}); refused unread")
    for info in infos:
        if info.compress_size and info.file_size > 1_000_000 and info.file_size / info.compress_size > MAX_COMPRESSION_RATIO:
            ratio = info.file_size / info.compress_size
            return _file_error("file.zip_bomb", f"工作簿成员 {info.filename} 压缩比 {ratio:.0f}:1，疑似压缩炸弹，已拒收",
                               f"{path.name}: member {info.filename} inflates {ratio:.0f}:1 (limit {MAX_COMPRESSION_RATIO}:1); "
                               "bomb-like, refused unread")
    return None


def _read_xlsx(path: Path) -> ReadResult:
    guard = _zip_guard(path)
    if guard:
        return guard
    from openpyxl import load_workbook

    try:
        formulas = load_workbook(path, data_only=False)
        values = load_workbook(path, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged files
        return _file_error("file.unreadable", f"无法读取 Excel 工作簿：{type(exc).__name__}",
                           f"{path.name}: cannot read as an Excel workbook ({type(exc).__name__}: {exc})")
    result = ReadResult(encoding="xlsx", sheets_found=list(values.sheetnames))
    seen: set[str] = set()
    for name in values.sheetnames:
        if name in (INSTRUCTIONS_SHEET, CODES_SHEET):
            continue
        spec = _sheet_for(name)
        if spec is None:
            result.notices.append(Issue("sheet.unknown", f"工作表 '{name}' 不属于模板，已忽略（未读取任何数据）",
                                        f"sheet '{name}' is not part of the template; ignored (nothing read from it)",
                                        sheet=name, severity="notice"))
            continue
        if spec.key in seen:
            result.notices.append(Issue("sheet.duplicate", f"工作表 '{name}' 与已读取的 {spec.name} 重复，已忽略",
                                        f"sheet '{name}' repeats {spec.name}, already read; ignored", sheet=name,
                                        severity="notice"))
            continue
        seen.add(spec.key)
        _read_sheet(spec, name, formulas[name], values[name], result)
    return result


def _header_row(ws, spec: Sheet) -> tuple[int, dict[int, str]] | None:
    """The row holding the English keys (row 2 in the template; tolerate it anywhere in the first 6)."""
    keys = {c.key for c in spec.columns}
    for r in range(1, 7):
        row = {c: str(ws.cell(row=r, column=c).value).strip() for c in range(1, ws.max_column + 1)
               if ws.cell(row=r, column=c).value is not None}
        found = {c: v for c, v in row.items() if v in keys}
        if len(found) >= max(2, len([c for c in spec.columns if c.required]) // 2):
            return r, found
    return None


def _read_sheet(spec: Sheet, name: str, ws_formulas, ws_values, result: ReadResult) -> None:
    header = _header_row(ws_values, spec)
    if header is None:
        result.file_issues.append(Issue(
            "sheet.header_unreadable", f"工作表 '{name}' 找不到第 2 行的英文字段名（请勿修改表头）",
            f"sheet '{name}': no header row with the template's English keys (row 2); do not edit the headers",
            sheet=name))
        return
    header_row, columns = header
    for c in range(1, ws_values.max_column + 1):
        text = ws_values.cell(row=header_row, column=c).value
        if text is not None and c not in columns:
            result.notices.append(Issue("column.unknown", f"列 '{text}' 不属于模板，已忽略",
                                        f"column '{text}' is not part of the template; ignored", sheet=name,
                                        row=header_row, column=str(text), severity="notice"))
    merged_header = [str(m) for m in ws_values.merged_cells.ranges if m.min_row <= header_row]
    if merged_header:
        result.notices.append(Issue("sheet.merged_header", f"表头含合并单元格 {', '.join(merged_header)}，已按第 {header_row} 行字段名读取",
                                    f"merged header cells {', '.join(merged_header)}; columns read from the keys in row {header_row}",
                                    sheet=name, severity="notice"))
    merged_data = {}
    for m in ws_values.merged_cells.ranges:
        if m.max_row > header_row:
            for r in range(max(m.min_row, header_row + 1), m.max_row + 1):
                merged_data.setdefault(r, str(m))
    if ws_values.max_row - header_row > MAX_ROWS_PER_SHEET:
        result.file_issues.append(Issue("sheet.too_many_rows", f"工作表 '{name}' 超过 {MAX_ROWS_PER_SHEET} 行",
                                        f"sheet '{name}': more than {MAX_ROWS_PER_SHEET} data rows", sheet=name))
        return
    for r in range(header_row + 1, ws_values.max_row + 1):
        values: dict[str, object] = {}
        issues: list[Issue] = []
        for c, key in columns.items():
            value = ws_values.cell(row=r, column=c).value
            formula = ws_formulas.cell(row=r, column=c).value
            if isinstance(formula, str) and formula.startswith("=") and value is None:
                issues.append(Issue("cell.formula_uncalculated",
                                    f"单元格为公式 {formula} 但没有计算结果：请在 Excel 中打开并保存，或填写数值",
                                    f"cell holds the formula {formula} with no calculated value: open and save the "
                                    "file in Excel, or type the value", sheet=name, row=r, column=key))
            if isinstance(value, str) and not value.strip():
                value = None
            values[key] = value
        if all(v is None for v in values.values()) and not issues:
            continue  # empty row (trailing or spacer): not a line
        if ws_values.row_dimensions[r].hidden:
            issues.append(Issue("row.hidden", "该行被隐藏：隐藏行不计入清单，如属实请取消隐藏后重新上传",
                                "the row is hidden: hidden rows are not taken into the inventory; unhide it and "
                                "re-upload if it belongs there", sheet=name, row=r))
        if r in merged_data:
            issues.append(Issue("cell.merged", f"该行含合并单元格 {merged_data[r]}：合并后只有左上角有值，请拆分并逐行填写",
                                f"the row is part of merged cells {merged_data[r]}: only the top-left cell holds a "
                                "value; unmerge and fill every row", sheet=name, row=r))
        result.records.append(RawRecord(spec.key, name, r, values, issues))


def _read_csv(path: Path) -> ReadResult:
    """CSV uploads carry all four sheets in one table: a `sheet` column says which sheet a row belongs
    to (enterprise, facility, product, activity), the other columns are the template keys."""
    data = path.read_bytes()
    try:
        decoded = decode_bytes(data, path.name, allow_gbk=True)
    except InputError as exc:
        return _file_error("file.encoding", "无法识别文件编码：请保存为 UTF-8 或 GBK 编码的 CSV", str(exc))
    result = ReadResult(encoding=decoded.encoding, sheets_found=["csv"])
    rows = list(csv.reader(io.StringIO(decoded.text)))
    if not rows or "sheet" not in [h.strip() for h in rows[0]]:
        result.file_issues.append(Issue("file.missing_columns", "CSV 第 1 行须为字段名并包含 sheet 列",
                                        f"{path.name}: the first line must hold the template keys including a "
                                        "'sheet' column (enterprise/facility/product/activity)"))
        return result
    header = [h.strip() for h in rows[0]]
    known = {c.key for s in SHEETS for c in s.columns} | {"sheet"}
    for h in header:
        if h and h not in known:
            result.notices.append(Issue("column.unknown", f"列 '{h}' 不属于模板，已忽略",
                                        f"column '{h}' is not part of the template; ignored", row=1, column=h,
                                        severity="notice"))
    for line_no, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            result.records.append(RawRecord("activity", "csv", line_no, {}, [Issue(
                "row.ragged", f"该行有 {len(row)} 个字段，表头有 {len(header)} 个",
                f"line has {len(row)} fields, the header has {len(header)}", sheet="csv", row=line_no)]))
            continue
        cells = {h: (v.strip() or None) for h, v in zip(header, row) if h}
        spec = _sheet_for(cells.get("sheet") or "")
        if spec is None:
            result.records.append(RawRecord("activity", "csv", line_no, cells, [Issue(
                "row.unknown_sheet", f"sheet 列应为 enterprise/facility/product/activity，实际为 '{cells.get('sheet')}'",
                f"column 'sheet' must be enterprise, facility, product or activity, got '{cells.get('sheet')}'",
                sheet="csv", row=line_no, column="sheet")]))
            continue
        values = {c.key: cells.get(c.key) for c in spec.columns}
        result.records.append(RawRecord(spec.key, "csv", line_no, values))
    return result


def as_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return None
