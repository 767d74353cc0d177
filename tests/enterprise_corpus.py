"""Real-world-style enterprise uploads, good and malformed, built from the aluminium-profile example.

Each malformed case says which rule it must trigger and where; the tests also check that every other
line of the file is still accepted (nothing lost elsewhere).
"""

from __future__ import annotations

import copy
import csv
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pipelines.enterprise.codes import ACTIVITY, SHEETS
from pipelines.enterprise.examples import ALUMINIUM_PROFILE
from pipelines.enterprise.template import build_workbook, save_deterministic, write_workbook

ACTIVITY_LINES = len(ALUMINIUM_PROFILE["activity"])  # 11
FIRST_DATA_ROW = 3


def example() -> dict:
    return copy.deepcopy(ALUMINIUM_PROFILE)


def activity_row(line_id: str, data: dict | None = None) -> int:
    lines = (data or ALUMINIUM_PROFILE)["activity"]
    return FIRST_DATA_ROW + [line["line_id"] for line in lines].index(line_id)


def col(sheet, key: str) -> int:
    return [c.key for c in sheet.columns].index(key) + 1


def write(path: Path, data: dict) -> Path:
    return write_workbook(path, data)


def with_line(change: dict, line_id: str = "P1") -> dict:
    data = example()
    for line in data["activity"]:
        if line["line_id"] == line_id:
            line.update(change)
    return data


def to_csv(data: dict, encoding: str = "utf-8") -> bytes:
    keys = ["sheet"] + list(dict.fromkeys(c.key for s in SHEETS for c in s.columns))
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(keys)
    for spec in SHEETS:
        for record in data.get(spec.key, []):
            w.writerow(
                [spec.key]
                + [
                    "" if record.get(k) is None or k not in [c.key for c in spec.columns] else record.get(k)
                    for k in keys[1:]
                ]
            )
    return buf.getvalue().encode(encoding)


@dataclass
class Case:
    name: str
    build: object  # callable(path) -> Path
    rule: str | None  # the rule the file must trigger (error or notice)
    row: int | None  # the activity row it concerns (None: file or notice level)
    quarantined_lines: int  # activity lines quarantined (the rest must be accepted)
    file_rejected: bool = False


def _merged_header(path: Path) -> Path:
    wb = build_workbook(example())
    ws = wb[ACTIVITY.name]
    ws.insert_rows(1)  # a title row above the headers, merged across, as people do
    ws.cell(row=1, column=1, value="2024 年度活动数据")
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=6)
    return save_deterministic(wb, path)


def _extra_sheet(path: Path) -> Path:
    wb = build_workbook(example())
    ws = wb.create_sheet("草稿 scratch")
    ws["A1"] = "内部核对用"
    ws["B2"] = 123
    return save_deterministic(wb, path)


def _hidden_row(path: Path) -> Path:
    wb = build_workbook(example())
    wb[ACTIVITY.name].row_dimensions[activity_row("A2")].hidden = True
    return save_deterministic(wb, path)


def _formula(path: Path) -> Path:
    wb = build_workbook(example())
    ws = wb[ACTIVITY.name]
    ws.cell(row=activity_row("P4"), column=col(ACTIVITY, "amount"), value="=30+15")  # saved by a tool: no cached value
    return save_deterministic(wb, path)


def _merged_data(path: Path) -> Path:
    wb = build_workbook(example())
    ws = wb[ACTIVITY.name]
    r = activity_row("A4")
    c = col(ACTIVITY, "distance_km")
    ws.merge_cells(start_row=r, start_column=c, end_row=r + 1, end_column=c)
    return save_deterministic(wb, path)


def _commas(path: Path) -> Path:
    data = with_line({"amount": "10,800,000"}, "P1")
    return write(path, data)


def _full_width(path: Path) -> Path:
    return write(path, with_line({"amount": "１，８５０，０００"}, "P2"))


def _serial_dates(path: Path) -> Path:
    wb = build_workbook(example())
    ws = wb[ACTIVITY.name]
    r = activity_row("P1")
    ws.cell(row=r, column=col(ACTIVITY, "period_start"), value=45292)  # 2024-01-01 as an Excel serial
    ws.cell(row=r, column=col(ACTIVITY, "period_end"), value=45657)  # 2024-12-31
    return save_deterministic(wb, path)


def _trailing_rows(path: Path) -> Path:
    wb = build_workbook(example())
    ws = wb[ACTIVITY.name]
    for r in range(FIRST_DATA_ROW + ACTIVITY_LINES, FIRST_DATA_ROW + ACTIVITY_LINES + 40):
        ws.cell(row=r, column=1, value="  ")  # blanks and spaces left behind by copy-paste
        ws.cell(row=r, column=5).number_format = "0.00"
    return save_deterministic(wb, path)


def _gbk_csv(path: Path) -> Path:
    path.write_bytes(to_csv(example(), "gbk"))
    return path


def _zip_bomb(path: Path) -> Path:
    write(path, example())
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/media/padding.bin", b"\0" * (150 * 1024 * 1024))  # 150 MB of zeros, ~150 KB packed
    return path


def _not_a_workbook(path: Path) -> Path:
    path.write_bytes(b"PK\x03\x04 this was truncated during upload")
    return path


def _bad_uscc(path: Path) -> Path:
    data = example()
    code = data["enterprise"][0]["uscc"]
    data["enterprise"][0]["uscc"] = code[:-1] + ("0" if code[-1] != "0" else "1")
    return write(path, data)


def _ragged_csv(path: Path) -> Path:
    text = to_csv(example()).decode("utf-8").splitlines()
    text[-2] = text[-2] + ",extra,fields"
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return path


CASES = [
    Case("merged_header", _merged_header, "sheet.merged_header", None, 0),
    Case("extra_sheet", _extra_sheet, "sheet.unknown", None, 0),
    Case("hidden_row", _hidden_row, "row.hidden", activity_row("A2"), 1),
    Case("formula_without_value", _formula, "cell.formula_uncalculated", activity_row("P4"), 1),
    Case("merged_data_cells", _merged_data, "cell.merged", activity_row("A4"), 2),
    Case("numbers_with_commas", _commas, None, None, 0),
    Case("full_width_digits", _full_width, None, None, 0),
    Case("excel_serial_dates", _serial_dates, None, None, 0),
    Case("empty_trailing_rows", _trailing_rows, None, None, 0),
    Case("gbk_csv", lambda p: _gbk_csv(p.with_suffix(".csv")), None, None, 0),
    Case("ragged_csv_line", lambda p: _ragged_csv(p.with_suffix(".csv")), "row.ragged", None, 1),
    Case("zip_bomb", _zip_bomb, "file.zip_bomb", None, ACTIVITY_LINES, file_rejected=True),
    Case("truncated_workbook", _not_a_workbook, "file.unreadable", None, ACTIVITY_LINES, file_rejected=True),
    Case("bad_credit_code", _bad_uscc, "uscc.check_character", None, ACTIVITY_LINES, file_rejected=True),
    Case(
        "electricity_in_kg",
        lambda p: write(p, with_line({"unit": "kg"}, "P1")),
        "unit.wrong_dimension",
        activity_row("P1"),
        1,
    ),
    Case(
        "period_outside_year",
        lambda p: write(p, with_line({"period_end": "2025-03-31"}, "P1")),
        "period.outside_year",
        activity_row("P1"),
        1,
    ),
    Case(
        "transport_without_distance",
        lambda p: write(p, with_line({"distance_km": None}, "A4")),
        "transport.missing_distance",
        activity_row("A4"),
        1,
    ),
    Case(
        "transport_without_mode",
        lambda p: write(p, with_line({"transport_mode": None}, "D1")),
        "transport.missing_mode",
        activity_row("D1"),
        1,
    ),
    Case(
        "plant_line_without_basis",
        lambda p: write(p, with_line({"allocation_basis": None}, "P2")),
        "allocation.missing_basis",
        activity_row("P2"),
        1,
    ),
    Case(
        "negative_amount",
        lambda p: write(p, with_line({"amount": -45}, "P4")),
        "amount.not_positive",
        activity_row("P4"),
        1,
    ),
    Case(
        "amount_not_a_number",
        lambda p: write(p, with_line({"amount": "约 45 吨"}, "P4")),
        "amount.not_number",
        activity_row("P4"),
        1,
    ),
    Case(
        "unknown_stage",
        lambda p: write(p, with_line({"stage": "manufacturing"}, "P4")),
        "code.unknown",
        activity_row("P4"),
        1,
    ),
    Case(
        "unknown_unit",
        lambda p: write(p, with_line({"unit": "桶油当量x"}, "P4")),
        "unit.unknown",
        activity_row("P4"),
        1,
    ),
    Case(
        "unknown_product",
        lambda p: write(p, with_line({"product_id": "AP-7075"}, "P4")),
        "product.unknown",
        activity_row("P4"),
        1,
    ),
    Case(
        "missing_required",
        lambda p: write(p, with_line({"data_type": None}, "P4")),
        "required.missing",
        activity_row("P4"),
        1,
    ),
]


def duplicate_line_data() -> dict:
    data = example()
    dup = copy.deepcopy(data["activity"][-1])
    dup["line_id"] = "D2"
    data["activity"].append(dup)
    return data


def revenue_allocation_missing() -> dict:
    data = with_line({"allocation_basis": "revenue"}, "P2")
    data["product"][1]["revenue_cny"] = None
    return data
