"""Line-by-line checks of an upload. Each rule has an id, the column it concerns and a message in
Chinese and English; a record either passes every check (accepted, typed) or is quarantined with the
first failing rule. Cross-sheet rules (unknown product, rejected product) run after the sheets.
Rules are listed in docs/enterprise.md.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from dataclasses import dataclass, field
from typing import Literal, overload

from pipelines.common import geography, units
from pipelines.common.parsing import InputError, excel_serial_to_date, parse_date, parse_number
from pipelines.enterprise import uscc
from pipelines.enterprise.codes import KINDS, PLANT_LEVEL, SHEETS, code_from_label
from pipelines.enterprise.reader import Issue, RawRecord, ReadResult


class Fail(Exception):
    def __init__(self, rule: str, column: str | None, zh: str, en: str):
        super().__init__(en)
        self.issue = (rule, column, zh, en)


@dataclass
class Checked:
    enterprise: dict | None = None
    facilities: list[dict] = field(default_factory=list)
    products: list[dict] = field(default_factory=list)
    activities: list[dict] = field(default_factory=list)
    quarantine: list[Issue] = field(default_factory=list)
    notices: list[Issue] = field(default_factory=list)
    rows_read: int = 0


@overload
def _number(values: dict, key: str, required: Literal[True], positive: bool = False, share: bool = False) -> float: ...
@overload
def _number(
    values: dict, key: str, required: bool = False, positive: bool = False, share: bool = False
) -> float | None: ...
def _number(
    values: dict, key: str, required: bool = False, positive: bool = False, share: bool = False
) -> float | None:
    raw = values.get(key)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            raise Fail("required.missing", key, f"{key} 为必填项", f"{key} is required")
        return None
    try:
        number = parse_number(raw, key)
    except InputError:
        raise Fail(
            "amount.not_number", key, f"{key} 应为数字，实际为 '{raw}'", f"{key}: expected a number, got '{raw}'"
        ) from None
    if number is None or not math.isfinite(number):
        raise Fail(
            "amount.not_finite",
            key,
            f"{key} 应为有限数值，实际为 '{raw}'",
            f"{key}: expected a finite number, got '{raw}'",
        )
    if positive and number <= 0:
        raise Fail(
            "amount.not_positive",
            key,
            f"{key} 应大于 0，实际为 {number:g}",
            f"{key}: must be greater than 0, got {number:g}",
        )
    if share and not 0 <= number <= 1:
        raise Fail(
            "share.out_of_range",
            key,
            f"{key} 应在 0 到 1 之间，实际为 {number:g}",
            f"{key}: must lie between 0 and 1, got {number:g}",
        )
    return number


@overload
def _text(values: dict, key: str, required: Literal[True]) -> str: ...
@overload
def _text(values: dict, key: str, required: bool = False) -> str | None: ...
def _text(values: dict, key: str, required: bool = False) -> str | None:
    raw = values.get(key)
    text = None if raw is None else str(raw).strip() or None
    if text is None and required:
        raise Fail("required.missing", key, f"{key} 为必填项", f"{key} is required")
    if isinstance(raw, float) and text is not None and raw.is_integer():
        text = str(int(raw))
    return text


ID_MAX_LENGTH = 64
ID_PUNCTUATION = set("-_.#()（）")


def _ident(values: dict, key: str) -> str:
    """A product, facility or line id: NFC-normalised; Unicode letters and digits, '-', '_', '.', '#' and
    brackets; 1-64 characters; not starting with '.' and no '..' (so never a path), no spaces, path
    separators, control, bidi-override or zero-width characters (rule id.invalid, docs/enterprise.md)."""
    text = unicodedata.normalize("NFC", _text(values, key, True) or "")
    bad = sorted({ch for ch in text if not (ch.isalnum() or ch in ID_PUNCTUATION)})
    if bad or not text or len(text) > ID_MAX_LENGTH or text.startswith(".") or ".." in text:
        shown = ", ".join(repr(ch) if ch.isprintable() else f"U+{ord(ch):04X}" for ch in bad[:5])
        why_en = (
            f"characters not allowed: {shown}"
            if bad
            else f"{len(text)} characters (at most {ID_MAX_LENGTH})"
            if len(text) > ID_MAX_LENGTH
            else "must not start with '.' or contain '..'"
        )
        why_zh = (
            f"含不允许的字符 {shown}"
            if bad
            else f"长度 {len(text)}，超过 {ID_MAX_LENGTH}"
            if len(text) > ID_MAX_LENGTH
            else "不得以 '.' 开头或包含 '..'"
        )
        raise Fail(
            "id.invalid",
            key,
            f"{key} 无效：{why_zh}（允许：字母、数字、- _ . # 和括号，1–{ID_MAX_LENGTH} 个字符）",
            f"{key} is not a valid id: {why_en} (allowed: letters, digits, - _ . # and brackets, "
            f"1-{ID_MAX_LENGTH} characters)",
        )
    return text


def _code(values: dict, key: str, list_name: str, required: bool = False) -> str | None:
    text = _text(values, key, required)
    if text is None:
        return None
    code = code_from_label(list_name, text)
    if code is None:
        from pipelines.enterprise.codes import CODE_LISTS

        allowed = ", ".join(CODE_LISTS[list_name])
        raise Fail(
            "code.unknown",
            key,
            f"{key} 的值 '{text}' 不在代码表中（可选：{allowed}）",
            f"{key}: '{text}' is not in the code list ({allowed})",
        )
    return code


def _date(values: dict, key: str, required: bool = False) -> dt.date | None:
    raw = values.get(key)
    if raw is None:
        if required:
            raise Fail("required.missing", key, f"{key} 为必填项", f"{key} is required")
        return None
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, (int, float)) and 20000 <= raw <= 80000:
        return excel_serial_to_date(raw)  # an Excel serial date typed or pasted as a number
    try:
        value = parse_date(raw, key)
    except InputError:
        value = None
    if value is None:
        raise Fail(
            "date.invalid",
            key,
            f"{key} 应为日期 YYYY-MM-DD，实际为 '{raw}'",
            f"{key}: expected a date YYYY-MM-DD, got '{raw}'",
        )
    return value


def _period(values: dict, year: int | None, required: bool = False) -> tuple[dt.date | None, dt.date | None]:
    start, end = _date(values, "period_start", required), _date(values, "period_end", required)
    if start and end and start > end:
        raise Fail(
            "period.reversed",
            "period_start",
            f"开始日期 {start} 晚于结束日期 {end}",
            f"period_start {start} is after period_end {end}",
        )
    if year is not None:
        for key, value in (("period_start", start), ("period_end", end)):
            if value is not None and value.year != year:
                raise Fail(
                    "period.outside_year",
                    key,
                    f"{key} {value} 不在报告年度 {year} 内",
                    f"{key} {value} is outside the reporting year {year}",
                )
    return start, end


def _unit(values: dict, key: str = "unit", kind: str | None = None) -> str:
    label = _text(values, key, required=True)
    try:
        info = units.unit_info(label)
    except units.UnitError:
        raise Fail("unit.unknown", key, f"无法识别的单位 '{label}'", f"unit '{label}' is not known") from None
    if kind is not None:
        allowed = KINDS[kind][2]
        if not any(units._normalise_dimension(info.dimension) == units._normalise_dimension(a) for a in allowed):
            raise Fail(
                "unit.wrong_dimension",
                key,
                f"单位 '{label}' 不适用于活动类别 {KINDS[kind][0]}",
                f"unit '{label}' ({info.dimension}) does not fit activity kind '{kind}' "
                f"(expected {' or '.join(allowed)})",
            )
    return label


# What one site can plausibly report for one reporting year, in canonical units (larger is a typo, a unit
# mix-up or an attack such as 1e308, and never reaches a footprint): 1e11 kg (100 Mt, above the largest
# steel plant's output), 1e11 kWh (about 1 % of China's electricity use), 1e11 m3, 1e13 t·km, 1e12 km,
# 1e11 pieces or persons; other dimensions 1e13. Rule amount.implausible.
PLAUSIBLE_MAX = {"kg": 1e11, "kWh": 1e11, "m**3": 1e11, "t*km": 1e13, "km": 1e12, "piece": 1e11, "person": 1e11}


def _plausible(amount: float, unit: str, key: str = "amount") -> None:
    info = units.unit_info(unit)
    canonical = units.convert(amount, unit, info.canonical)
    bound = PLAUSIBLE_MAX.get(info.canonical, 1e13)
    if not abs(canonical) <= bound:
        raise Fail(
            "amount.implausible",
            key,
            f"{key} {amount:g} {unit}（{canonical:.3g} {info.canonical}）超出一个场所一年的合理范围（上限 {bound:.0e} {info.canonical}）：请检查数量和单位",
            f"{key} {amount:g} {unit} ({canonical:.3g} {info.canonical}) is beyond what one site reports in a "
            f"year (at most {bound:.0e} {info.canonical}): check the amount and its unit",
        )


def check(read: ReadResult) -> Checked:
    out = Checked(notices=list(read.notices))
    by_sheet: dict[str, list[RawRecord]] = {s.key: [] for s in SHEETS}
    for record in read.records:
        by_sheet[record.sheet].append(record)
    out.rows_read = len(read.records)

    def run(record: RawRecord, fn) -> dict | None:
        if record.issues:
            first = record.issues[0]
            out.quarantine.append(first)
            return None
        missing = [
            c.key
            for spec in SHEETS
            if spec.key == record.sheet
            for c in spec.columns
            if c.required and (record.values.get(c.key) is None or str(record.values.get(c.key)).strip() == "")
        ]
        try:
            if missing:
                raise Fail(
                    "required.missing",
                    missing[0],
                    f"必填项为空：{', '.join(missing)}",
                    f"required value missing: {', '.join(missing)}",
                )
            typed = fn(record.values)
        except Fail as f:
            rule, column, zh, en = f.issue
            out.quarantine.append(Issue(rule, zh, en, sheet=record.sheet_name, row=record.row, column=column))
            return None
        typed.update(_sheet=record.sheet_name, _row=record.row)
        return typed

    # Enterprise: exactly one valid record identifies the upload.
    year: int | None = None
    for i, record in enumerate(by_sheet["enterprise"]):
        if i > 0:
            out.quarantine.append(
                Issue(
                    "enterprise.extra_row",
                    "企业信息表只能有一行",
                    "the enterprise sheet holds one row only; extra row",
                    sheet=record.sheet_name,
                    row=record.row,
                )
            )
            continue
        typed = run(record, _enterprise)
        if typed:
            out.enterprise, year = typed, typed["reporting_year"]

    facilities: dict[str, dict] = {}
    for record in by_sheet["facility"]:
        typed = run(record, _facility)
        if typed:
            if typed["facility_id"] in facilities:
                _dup(out, record, "facility_id", facilities[typed["facility_id"]])
            else:
                facilities[typed["facility_id"]] = typed
    products: dict[str, dict] = {}
    rejected_products: dict[str, int] = {}
    for record in by_sheet["product"]:
        typed = run(record, lambda v: _product(v, year, facilities))
        pid = _text(record.values, "product_id")
        if typed:
            if typed["product_id"] in products:
                _dup(out, record, "product_id", products[typed["product_id"]])
            else:
                products[typed["product_id"]] = typed
        elif pid:
            rejected_products.setdefault(pid, record.row)
    seen_lines: dict[tuple, dict] = {}
    seen_ids: dict[str, dict] = {}
    for record in by_sheet["activity"]:
        pid = _text(record.values, "product_id")
        if pid in rejected_products and not record.issues:
            out.quarantine.append(
                Issue(
                    "product.rejected",
                    f"所属产品 {pid} 在产品信息表第 {rejected_products[pid]} 行被拒收",
                    f"product {pid} was rejected (product sheet row {rejected_products[pid]}); fix it first",
                    sheet=record.sheet_name,
                    row=record.row,
                    column="product_id",
                )
            )
            continue
        typed = run(record, lambda v: _activity(v, year, products, facilities))
        if not typed:
            continue
        if typed["line_id"] in seen_ids:
            _dup(out, record, "line_id", seen_ids[typed["line_id"]])
            continue
        key = tuple(
            typed[k]
            for k in (
                "product_id",
                "facility_id",
                "stage",
                "kind",
                "item",
                "amount",
                "unit",
                "period_start",
                "period_end",
                "supplier",
            )
        )
        if key in seen_lines:
            first = seen_lines[key]
            out.quarantine.append(
                Issue(
                    "line.duplicate",
                    f"与第 {first['_row']} 行（{first['line_id']}）内容重复",
                    f"same content as row {first['_row']} (line {first['line_id']}): counted once",
                    sheet=record.sheet_name,
                    row=record.row,
                )
            )
            continue
        seen_lines[key] = seen_ids[typed["line_id"]] = typed
        out.activities.append(typed)
    out.facilities = list(facilities.values())
    out.products = list(products.values())
    if out.enterprise is None and by_sheet["enterprise"] == []:
        out.quarantine.append(
            Issue(
                "enterprise.missing",
                "缺少企业信息（企业信息表为空或不存在）",
                "no enterprise record (the enterprise sheet is empty or missing)",
            )
        )
    return out


def _dup(out: Checked, record: RawRecord, key: str, first: dict) -> None:
    out.quarantine.append(
        Issue(
            "line.duplicate_id",
            f"{key} '{record.values.get(key)}' 与第 {first['_row']} 行重复",
            f"{key} '{record.values.get(key)}' repeats row {first['_row']}",
            sheet=record.sheet_name,
            row=record.row,
            column=key,
        )
    )


def _enterprise(v: dict) -> dict:
    try:
        code = uscc.validate(v.get("uscc"))
    except uscc.UsccError as exc:
        raise Fail(exc.rule, "uscc", exc.message_zh, exc.message_en) from None
    try:
        year = _number(v, "reporting_year", required=True)
    except Fail as fail:
        if fail.issue[0] == "required.missing":
            raise
        year = None  # not a number: reported as what it is, an invalid year
    if year is None or year != int(year) or not 2000 <= year <= 2100:
        raise Fail(
            "year.invalid",
            "reporting_year",
            f"报告年度应为四位年份，实际为 '{v.get('reporting_year')}'",
            f"reporting_year: expected a year YYYY, got '{v.get('reporting_year')}'",
        )
    return {
        "uscc": code,
        "enterprise_name": _text(v, "enterprise_name", True),
        "address": _text(v, "address"),
        "legal_representative": _text(v, "legal_representative"),
        "company_profile": _text(v, "company_profile"),
        "contact_name": _text(v, "contact_name"),
        "contact_phone": _text(v, "contact_phone"),
        "contact_email": _text(v, "contact_email"),
        "reporting_year": int(year),
    }


def _geography(v: dict, key: str, required: bool) -> str | None:
    text = _text(v, key, required)
    if text is None:
        return None
    try:
        return geography.normalise(text).code
    except geography.GeographyError:
        raise Fail(
            "geography.unknown",
            key,
            f"无法识别的地区 '{text}'（请填省级行政区、国家或 GB/T 2260 代码）",
            f"{key}: '{text}' is not a province (GB/T 2260), country (ISO 3166) or grid region",
        ) from None


def _facility(v: dict) -> dict:
    return {
        "facility_id": _ident(v, "facility_id"),
        "facility_name": _text(v, "facility_name", True),
        "geography_code": _geography(v, "geography", True),
        "address": _text(v, "address"),
        "processes": _text(v, "processes"),
    }


def _declared_unit(v: dict) -> tuple[float, str]:
    text = _text(v, "declared_unit", True).replace("\u3000", " ")
    parts = text.split(None, 1)
    amount, label = (parts[0], parts[1]) if len(parts) == 2 else ("1", parts[0])
    try:
        number = parse_number(amount, "declared_unit")
        units.unit_info(label)
    except (InputError, units.UnitError):
        raise Fail(
            "unit.unknown",
            "declared_unit",
            f"声明单位 '{text}' 应为 '数量 单位'，如 '1 kg'",
            f"declared_unit '{text}': expected 'amount unit', e.g. '1 kg' or '1 台'",
        ) from None
    if not number or number <= 0:
        raise Fail(
            "amount.not_positive",
            "declared_unit",
            f"声明单位数量应大于 0：'{text}'",
            f"declared_unit '{text}': amount must be > 0",
        )
    return number, label


def _product(v: dict, year: int | None, facilities: dict) -> dict:
    du_amount, du_unit = _declared_unit(v)
    facility = _ident(v, "facility_id")
    if facility not in facilities:
        raise Fail(
            "facility.unknown",
            "facility_id",
            f"设施 '{facility}' 不在设施信息表中",
            f"facility '{facility}' is not on the facility sheet",
        )
    start, end = _period(v, year, required=True)
    output_unit = _unit(v)
    output = _number(v, "annual_output", True, positive=True)
    _plausible(output, output_unit, "annual_output")
    return {
        "product_id": _ident(v, "product_id"),
        "product_name": _text(v, "product_name", True),
        "model": _text(v, "model"),
        "category": _text(v, "category"),
        "product_function": _text(v, "product_function"),
        "product_introduction": _text(v, "product_introduction"),
        "product_picture": _text(v, "product_picture"),
        "declared_unit": _text(v, "declared_unit", True),
        "declared_unit_amount": du_amount,
        "declared_unit_label": du_unit,
        "unit": output_unit,
        "annual_output": output,
        "declared_units_per_output_unit": _number(v, "declared_units_per_output_unit", positive=True) or 1.0,
        "mass_kg_per_unit": _number(v, "mass_kg_per_unit", positive=True),
        "revenue_cny": _number(v, "revenue_cny", positive=True),
        "declared_allocation_share": _number(v, "declared_allocation_share", share=True),
        "facility_id": facility,
        "period_start": start,
        "period_end": end,
        "benchmark_kgco2e": _number(v, "benchmark_kgco2e", positive=True),
    }


def _activity(v: dict, year: int | None, products: dict, facilities: dict) -> dict:
    product = _ident(v, "product_id")
    plant = product in PLANT_LEVEL
    if not plant and product not in products:
        raise Fail(
            "product.unknown",
            "product_id",
            f"产品 '{product}' 不在产品信息表中（全厂数据请填 PLANT）",
            f"product '{product}' is not on the product sheet (use PLANT for plant-level lines)",
        )
    facility = _ident(v, "facility_id")
    if facility not in facilities:
        raise Fail(
            "facility.unknown",
            "facility_id",
            f"设施 '{facility}' 不在设施信息表中",
            f"facility '{facility}' is not on the facility sheet",
        )
    stage = _code(v, "stage", "stage", True)
    kind = _code(v, "kind", "kind", True)
    amount = _number(v, "amount", True, positive=True)
    unit = _unit(v, "unit", kind)
    _plausible(amount, unit)
    start, end = _period(v, year)
    mode = _code(v, "transport_mode", "transport_mode")
    distance = _number(v, "distance_km", positive=True)
    if kind == "transport":
        if mode is None:
            raise Fail(
                "transport.missing_mode",
                "transport_mode",
                "运输行须填写运输方式",
                "transport line without a transport mode",
            )
        is_mass = units._normalise_dimension(units.unit_info(unit).dimension) == units._normalise_dimension("[mass]")
        if is_mass and distance is None:
            raise Fail(
                "transport.missing_distance",
                "distance_km",
                "运输行以质量计时须填写运输距离 (km)",
                "transport line given as a mass needs distance_km",
            )
    basis = _code(v, "allocation_basis", "allocation_basis")
    if plant and basis is None:
        raise Fail(
            "allocation.missing_basis",
            "allocation_basis",
            "全厂数据须选择分配依据（质量、数量、声明的物理关系或产值）",
            "plant-level line without an allocation basis (mass, count, declared physical relationship or revenue)",
        )
    return {
        "line_id": _ident(v, "line_id"),
        "product_id": "PLANT" if plant else product,
        "facility_id": facility,
        "stage": stage,
        "kind": kind,
        "item": _text(v, "item", True),
        "factor_ref": _text(v, "factor_ref"),
        "amount": amount,
        "unit": unit,
        "period_start": start,
        "period_end": end,
        "data_type": _code(v, "data_type", "data_type", True),
        "origin_geography": _geography(v, "origin_geography", False),
        "supplier": _text(v, "supplier"),
        "supplier_pcf_kgco2e": _number(v, "supplier_pcf_kgco2e", positive=True),
        "supplier_primary_share": _number(v, "supplier_primary_share", share=True),
        "transport_mode": mode,
        "distance_km": distance,
        "evidence_kind": _code(v, "evidence_kind", "evidence_kind"),
        "evidence": _text(v, "evidence"),
        "allocation_basis": basis,
        "electricity_contract": _code(v, "electricity_contract", "electricity_contract"),
        "notes": _text(v, "notes"),
    }
