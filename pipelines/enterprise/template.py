"""`pcf template`: the enterprise data-collection workbook (Chinese headers, English sub-headers).

Modelled on the data and information collection list used for PCF label certification: enterprise,
facility, product and activity sheets, drop-downs for coded columns (lists on a hidden code sheet),
an instructions sheet, and optionally a filled example. The bytes are deterministic (fixed document
timestamps) so a generated template can be compared and committed.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from pipelines.enterprise.codes import (
    CODE_LISTS,
    CODES_SHEET,
    HEADER_ROWS,
    INSTRUCTIONS_SHEET,
    KINDS,
    PLANT_LEVEL,
    SHEETS,
    STAGES,
)
from pipelines.enterprise.examples import EXAMPLES

FIXED_TIME = dt.datetime(2025, 1, 1)
HEADER_FILL = PatternFill("solid", fgColor="DDEBD7")
REQUIRED_FONT = Font(bold=True, color="9C0006")
DATA_ROWS_WITH_DROPDOWNS = 500

INSTRUCTIONS = [
    ("产品碳足迹数据收集表 / Product carbon footprint data collection workbook", ""),
    ("依据 / Basis", "GB/T 24067-2024（ISO 14067:2018）产品碳足迹 量化要求和指南"),
    (
        "填写方式 / How to fill",
        "每个工作表第 1 行为中文表头，第 2 行为英文字段名（请勿修改），从第 3 行开始填写；红色表头为必填。"
        " Row 1 Chinese header, row 2 English key (do not change), data from row 3; red headers are required.",
    ),
    ("数量 / Amounts", "活动数据填写报告期合计值（不是单位产品值）。Amounts are totals for the reporting period."),
    (
        "全厂数据 / Plant-level lines",
        f"无法按产品计量的能耗、排放请在产品编号填 {PLANT_LEVEL[0]} 或 {PLANT_LEVEL[1]}，并选择分配依据。"
        " Lines that cannot be metered per product: product id PLANT, with an allocation basis.",
    ),
    ("运输 / Transport", "运输行填写货物质量（t 或 kg）、运输方式和距离（km），或直接填写 t·km。"),
    (
        "供应商数据 / Supplier data",
        "有供应商提供的产品碳足迹时，填写每单位的 kgCO2e 及其初级数据占比，并附证明文件编号。",
    ),
    (
        "电力 / Electricity",
        "默认按电网平均排放因子（基于位置）核算；绿证、绿电直供请单独成行并选择电力核算方式，市场法结果单独报告。",
    ),
    (
        "数据类型 / Data type",
        "初级数据：本企业计量或供应商提供的数据；现场特定数据：本现场测量；次级数据：数据库或文献。",
    ),
    ("证据 / Evidence", "注明表计编号、发票号或文件编号，供核查。"),
    (
        "保密 / Confidentiality",
        "本表数据仅保存在受限区，只以汇总后的产品碳足迹或经审核的因子对外。Kept in the restricted zone; only footprints and approved aggregated factors leave it.",
    ),
    ("阶段 / Stages", "；".join(f"{zh} {code}" for code, (zh, _en) in STAGES.items())),
    ("活动类别 / Kinds", "；".join(f"{v[0]} {code}" for code, v in KINDS.items())),
]


def write_template(path: Path, example: str | None = None) -> Path:
    """Write the workbook; with `example`, fill it with that example (see examples.EXAMPLES)."""
    if example is not None and example not in EXAMPLES:
        raise ValueError(f"unknown example {example!r}: choose one of {', '.join(EXAMPLES)}")
    return write_workbook(path, EXAMPLES[example] if example else {})


def build_workbook(data: dict) -> Workbook:
    """The template as an openpyxl Workbook, filled with `data` ({sheet key: [record dicts]})."""
    wb = Workbook()
    wb.remove(wb.active)
    _instructions(wb.create_sheet(INSTRUCTIONS_SHEET))
    codes = wb.create_sheet(CODES_SHEET)
    ranges = _code_sheet(codes)
    for spec in SHEETS:
        ws = wb.create_sheet(spec.name)
        for i, column in enumerate(spec.columns, start=1):
            top = ws.cell(row=1, column=i, value=column.zh)
            top.font = REQUIRED_FONT if column.required else Font(bold=True)
            top.fill = HEADER_FILL
            top.alignment = Alignment(wrap_text=True, vertical="center")
            sub = ws.cell(row=2, column=i, value=column.key)
            sub.font = Font(italic=True, color="595959")
            sub.fill = HEADER_FILL
            ws.column_dimensions[get_column_letter(i)].width = max(12, min(30, len(column.key) + 4))
            if column.code_list:
                dv = DataValidation(
                    type="list",
                    formula1=ranges[column.code_list],
                    allow_blank=True,
                    showErrorMessage=True,
                    errorTitle="代码 / code",
                    error=f"请从下拉列表选择 / choose from the list ({column.code_list})",
                )
                ws.add_data_validation(dv)
                letter = get_column_letter(i)
                dv.add(f"{letter}{HEADER_ROWS + 1}:{letter}{HEADER_ROWS + DATA_ROWS_WITH_DROPDOWNS}")
        ws.freeze_panes = ws.cell(row=HEADER_ROWS + 1, column=1)
        for r, record in enumerate(data.get(spec.key, []), start=HEADER_ROWS + 1):
            for i, column in enumerate(spec.columns, start=1):
                value = record.get(column.key)
                if isinstance(value, str) and column.kind == "date" and len(value) == 10 and value[4] == "-":
                    value = dt.date.fromisoformat(value)
                cell = ws.cell(row=r, column=i, value=value)
                if column.kind == "date" and value is not None:
                    cell.number_format = "yyyy-mm-dd"
    codes.sheet_state = "hidden"
    wb.active = wb.sheetnames.index(SHEETS[-1].name if data else INSTRUCTIONS_SHEET)
    return wb


def save_deterministic(wb: Workbook, path: Path) -> Path:
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    wb.properties.creator = "PCF Factor Warehouse"
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    wb.save(buffer)
    # openpyxl stamps zip members with the wall clock: rewrite them with a fixed time.
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl sets 'modified' to now on save
                content = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rb"\g<1>2025-01-01T00:00:00Z\g<2>", content
                )
            dst.writestr(fixed, content)
    path.write_bytes(out.getvalue())
    return path


def write_workbook(path: Path, data: dict) -> Path:
    return save_deterministic(build_workbook(data), path)


def _instructions(ws) -> None:
    for r, (k, v) in enumerate(INSTRUCTIONS, start=1):
        ws.cell(row=r, column=1, value=k).font = Font(bold=True)
        ws.cell(row=r, column=2, value=v).alignment = Alignment(wrap_text=True)
    ws.column_dimensions["A"].width = 34
    ws.column_dimensions["B"].width = 110


def _code_sheet(ws) -> dict[str, str]:
    """One column per code list: the cell text is 'code 中文' so both are visible in the drop-down."""
    ranges = {}
    for i, (name, entries) in enumerate(CODE_LISTS.items(), start=1):
        letter = get_column_letter(i)
        ws.cell(row=1, column=i, value=name)
        for r, (code, (zh, _en)) in enumerate(entries.items(), start=2):
            ws.cell(row=r, column=i, value=f"{code} {zh}")
        ranges[name] = f"'{CODES_SHEET}'!${letter}$2:${letter}${len(entries) + 1}"
    return ranges
