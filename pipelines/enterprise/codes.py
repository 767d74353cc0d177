"""Code lists and column specifications of the enterprise data-collection template.

One source of truth: the template writer builds its sheets and drop-downs from these, and the intake
reads and checks uploads against them. Labels are Chinese first (what the enterprise sees), English
second (the sub-header, also the machine key of a column).
"""

from __future__ import annotations

from dataclasses import dataclass

# Life-cycle stages of GB/T 24067-2024 clause 6.3 (cradle-to-grave; cradle-to-gate stops at production).
STAGES = {
    "raw_material": ("原材料获取", "raw material acquisition"),
    "production": ("生产", "production"),
    "distribution": ("分销", "distribution"),
    "use": ("使用", "use"),
    "end_of_life": ("废弃处置", "end of life"),
}

# Activity kinds and the unit dimensions each may be reported in (pint dimensionality strings).
MASS, ENERGY, VOLUME, COUNT, TKM, LENGTH = (
    "[mass]",
    "[length] ** 2 * [mass] / [time] ** 2",
    "[length] ** 3",
    "[count]",
    "[length] * [mass]",
    "[length]",
)
KINDS = {
    "material": ("原材料", "material", (MASS, COUNT, VOLUME, "[length] ** 2")),
    "energy": ("能源（电力、热力）", "energy (electricity, heat)", (ENERGY,)),
    "fuel": ("燃料", "fuel", (MASS, VOLUME, ENERGY)),
    "transport": ("运输", "transport", (MASS, TKM)),
    "direct_emission": ("直接排放", "direct (process) emission", (MASS,)),
    "refrigerant": ("制冷剂逸散", "refrigerant loss", (MASS,)),
    "waste": ("废弃物处理", "waste treatment", (MASS, VOLUME)),
    "packaging": ("包装", "packaging", (MASS, COUNT, "[length] ** 2")),
    "water": ("水", "water", (VOLUME, MASS)),
}

# Data types as GB/T 24067 uses them: primary data (初级数据) measured in the product system,
# site-specific data (现场数据, primary data from the site itself), secondary data (次级数据).
DATA_TYPES = {
    "primary": ("初级数据", "primary"),
    "site_specific": ("现场特定数据", "site-specific"),
    "secondary": ("次级数据", "secondary"),
}
PRIMARY_DATA_TYPES = ("primary", "site_specific")

TRANSPORT_MODES = {
    "road": ("公路", "road"),
    "rail": ("铁路", "rail"),
    "inland_water": ("内河水运", "inland waterway"),
    "sea": ("海运", "sea"),
    "air": ("航空", "air"),
    "pipeline": ("管道", "pipeline"),
}

# Allocation bases in the GB/T 24067 / ISO 14067 order of preference (6.4.6): avoid allocation by
# subdivision first, then physical relationships, then other relationships such as economic value.
ALLOCATION_BASES = {
    "mass": ("质量", "mass (physical)"),
    "count": ("数量", "count (physical)"),
    "declared_physical": ("声明的物理关系", "declared physical relationship"),
    "revenue": ("产值（经济）", "revenue (economic)"),
}
ALLOCATION_PREFERENCE = ("declared_physical", "mass", "count", "revenue")

EVIDENCE_KINDS = {
    "meter": ("计量表", "meter reading"),
    "invoice": ("发票", "invoice"),
    "document": ("文件", "document"),
    "estimate": ("估算", "estimate"),
}

# Electricity accounting: location-based is the default; market-based instruments as declared.
ELECTRICITY_CONTRACTS = {
    "location": ("电网平均（基于位置）", "grid average (location-based)"),
    "green_certificate": ("绿证", "green power certificate"),
    "direct_supply": ("绿电直供/直购", "direct supply contract"),
}

PLANT_LEVEL = ("PLANT", "全厂")  # product_id values that mark a plant-level line to be allocated

CODE_LISTS = {
    "stage": STAGES,
    "kind": {k: v[:2] for k, v in KINDS.items()},
    "data_type": DATA_TYPES,
    "transport_mode": TRANSPORT_MODES,
    "allocation_basis": ALLOCATION_BASES,
    "evidence_kind": EVIDENCE_KINDS,
    "electricity_contract": ELECTRICITY_CONTRACTS,
}


def code_from_label(list_name: str, value: str) -> str | None:
    """Accept the code, the Chinese label or the English label (what a drop-down writes)."""
    text = str(value).strip()
    for code, (zh, en) in CODE_LISTS[list_name].items():
        if text in (code, zh, en) or text.lower() in (code, en.lower()):
            return code
        if text == f"{zh} {en}" or text == f"{code} {zh}":
            return code
    return None


@dataclass(frozen=True)
class Column:
    key: str  # English sub-header and machine key
    zh: str  # Chinese header
    kind: str = "text"  # text | number | date | code:<list> | year
    required: bool = False
    note: str = ""  # shown in the instructions sheet

    @property
    def code_list(self) -> str | None:
        return self.kind.split(":", 1)[1] if self.kind.startswith("code:") else None


@dataclass(frozen=True)
class Sheet:
    name: str  # sheet name as written in the workbook (Chinese, English)
    key: str
    columns: tuple[Column, ...]

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)


ENTERPRISE = Sheet(
    "企业信息 Enterprise",
    "enterprise",
    (
        Column(
            "uscc",
            "统一社会信用代码",
            required=True,
            note="18 位，GB 32100 校验 / 18 characters with the GB 32100 check character",
        ),
        Column("enterprise_name", "企业名称", required=True),
        Column("address", "地址"),
        Column("legal_representative", "法定代表人", note="for the PCF report / 碳足迹报告用"),
        Column("company_profile", "企业简介", note="a few sentences for the report / 报告概况用"),
        Column("contact_name", "联系人"),
        Column("contact_phone", "联系电话"),
        Column("contact_email", "电子邮箱"),
        Column("reporting_year", "报告年度", "year", required=True, note="数据所属年度 / the year the data covers"),
    ),
)
FACILITY = Sheet(
    "设施信息 Facility",
    "facility",
    (
        Column("facility_id", "设施编号", required=True),
        Column("facility_name", "设施名称", required=True),
        Column("geography", "所在地区", required=True, note="省级行政区 (GB/T 2260) / province, e.g. 重庆 or 500000"),
        Column("address", "地址"),
        Column("processes", "主要工序"),
    ),
)
PRODUCT = Sheet(
    "产品信息 Product",
    "product",
    (
        Column("product_id", "产品编号", required=True),
        Column("product_name", "产品名称", required=True),
        Column("model", "规格型号"),
        Column("category", "产品类别", note="e.g. aluminium_profile, nev_battery_pack, laptop"),
        Column("product_function", "产品功能", note="for the PCF report / 碳足迹报告用"),
        Column("product_introduction", "产品简介"),
        Column("product_picture", "产品图片", note="file name or link of a picture / 图片文件名或链接"),
        Column("declared_unit", "功能单位/声明单位", required=True, note="e.g. 1 kg, 1 台, 1 kWh"),
        Column("unit", "产量单位", required=True, note="unit of annual output / 产量的单位"),
        Column("annual_output", "报告期产量", "number", required=True),
        Column(
            "declared_units_per_output_unit",
            "每产量单位的声明单位数",
            "number",
            note="e.g. 61.44 when output is counted in packs and the declared unit is 1 kWh; default 1",
        ),
        Column("mass_kg_per_unit", "单位产品质量(kg)", "number", note="needed for mass allocation / 质量分配时必填"),
        Column("revenue_cny", "报告期产值(元)", "number", note="needed for economic allocation / 经济分配时必填"),
        Column(
            "declared_allocation_share",
            "声明分配比例",
            "number",
            note="0-1, for a declared physical relationship / 声明的物理关系分配比例",
        ),
        Column("facility_id", "生产设施编号", required=True),
        Column("period_start", "报告期开始", "date", required=True),
        Column("period_end", "报告期结束", "date", required=True),
        Column("benchmark_kgco2e", "行业基准值(kgCO2e/声明单位)", "number"),
    ),
)
ACTIVITY = Sheet(
    "活动数据 Activity",
    "activity",
    (
        Column("line_id", "行号", required=True),
        Column(
            "product_id",
            "产品编号",
            required=True,
            note="产品编号，或 PLANT/全厂 表示需分配的全厂数据 / product id, or PLANT for plant-level lines",
        ),
        Column("facility_id", "设施编号", required=True),
        Column("stage", "生命周期阶段", "code:stage", required=True),
        Column("kind", "活动类别", "code:kind", required=True),
        Column(
            "item",
            "活动/物料名称",
            required=True,
            note="名称，最好与因子库名称一致 / item name, ideally as in the factor catalogue",
        ),
        Column(
            "factor_ref",
            "因子引用",
            note="factor_id、activity_key（如 electricity.grid_average）或 product:<统一社会信用代码>/<产品编号>（供应商在本库中的产品）"
            " / a factor_id, an activity_key, or product:<credit code>/<product id> (a supplier's product in this warehouse)",
        ),
        Column("amount", "数量", "number", required=True, note="报告期合计 / total for the reporting period"),
        Column("unit", "单位", required=True),
        Column("period_start", "数据开始日期", "date"),
        Column("period_end", "数据结束日期", "date"),
        Column("data_type", "数据类型", "code:data_type", required=True),
        Column("origin_geography", "来源地区", note="省、国家 / province or country of origin"),
        Column("supplier", "供应商"),
        Column("supplier_pcf_kgco2e", "供应商碳足迹(kgCO2e/单位)", "number", note="per unit of this line / 每单位"),
        Column("supplier_primary_share", "供应商初级数据占比", "number", note="0-1, from the supplier's PCF"),
        Column("transport_mode", "运输方式", "code:transport_mode"),
        Column("distance_km", "运输距离(km)", "number"),
        Column("evidence_kind", "证据类型", "code:evidence_kind"),
        Column("evidence", "证据（表计、发票、文件编号）"),
        Column(
            "allocation_basis",
            "分配依据",
            "code:allocation_basis",
            note="全厂数据必填 / required for plant-level lines",
        ),
        Column("electricity_contract", "电力核算方式", "code:electricity_contract"),
        Column("notes", "备注"),
    ),
)
SHEETS = (ENTERPRISE, FACILITY, PRODUCT, ACTIVITY)
INSTRUCTIONS_SHEET = "填写说明 Instructions"
CODES_SHEET = "代码表 Codes"
HEADER_ROWS = 2  # row 1 Chinese, row 2 English key; data from row 3
