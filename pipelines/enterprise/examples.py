"""Filled examples of the collection template for two real product types.

The enterprises are fictitious (their credit codes are made up, with a valid GB 32100 check
character); the quantities are of a realistic order for such plants and are not any company's data.
"""

from __future__ import annotations

from pipelines.enterprise.uscc import check_character


def _uscc(first17: str) -> str:
    return first17 + check_character(first17)


ALUMINIUM_PROFILE = {
    "enterprise": [{
        "uscc": _uscc("91500113MA5UEXAM1"), "enterprise_name": "重庆示例铝型材有限公司（示例 example）",
        "address": "重庆市巴南区示例路 1 号", "contact_name": "张工", "contact_phone": "023-00000000",
        "contact_email": "pcf@example.com", "reporting_year": 2024,
    }],
    "facility": [{"facility_id": "CQ-01", "facility_name": "巴南挤压厂", "geography": "重庆",
                  "address": "重庆市巴南区", "processes": "熔铸、挤压、时效、表面处理"}],
    "product": [
        {"product_id": "AP-6063", "product_name": "6063 铝合金建筑型材", "model": "6063-T5", "category": "aluminium_profile",
         "declared_unit": "1 kg", "unit": "kg", "annual_output": 9_000_000, "mass_kg_per_unit": 1, "revenue_cny": 198_000_000,
         "facility_id": "CQ-01", "period_start": "2024-01-01", "period_end": "2024-12-31", "benchmark_kgco2e": 14.0},
        {"product_id": "AP-6061", "product_name": "6061 铝合金工业型材", "model": "6061-T6", "category": "aluminium_profile",
         "declared_unit": "1 kg", "unit": "kg", "annual_output": 3_000_000, "mass_kg_per_unit": 1, "revenue_cny": 78_000_000,
         "facility_id": "CQ-01", "period_start": "2024-01-01", "period_end": "2024-12-31", "benchmark_kgco2e": 14.0},
    ],
    "activity": [
        {"line_id": "A1", "product_id": "AP-6063", "facility_id": "CQ-01", "stage": "raw_material", "kind": "material",
         "item": "原铝", "amount": 7_650, "unit": "t", "data_type": "secondary", "origin_geography": "新疆",
         "supplier": "示例电解铝厂", "evidence_kind": "invoice", "evidence": "采购台账 2024"},
        {"line_id": "A2", "product_id": "AP-6063", "facility_id": "CQ-01", "stage": "raw_material", "kind": "material",
         "item": "再生铝", "amount": 1_500, "unit": "t", "data_type": "secondary", "origin_geography": "重庆",
         "evidence_kind": "invoice", "evidence": "采购台账 2024"},
        {"line_id": "A3", "product_id": "AP-6061", "facility_id": "CQ-01", "stage": "raw_material", "kind": "material",
         "item": "原铝", "amount": 3_050, "unit": "t", "data_type": "primary", "origin_geography": "云南",
         "supplier": "示例水电铝厂", "supplier_pcf_kgco2e": 4_100, "supplier_primary_share": 0.8,
         "evidence_kind": "document", "evidence": "供应商 PCF 证书 CERT-0001"},
        {"line_id": "A4", "product_id": "AP-6063", "facility_id": "CQ-01", "stage": "raw_material", "kind": "transport",
         "item": "电力机车运输", "amount": 7_650, "unit": "t", "data_type": "secondary", "transport_mode": "rail",
         "distance_km": 3_200, "evidence_kind": "document", "evidence": "运单汇总"},
        {"line_id": "A5", "product_id": "AP-6061", "facility_id": "CQ-01", "stage": "raw_material", "kind": "transport",
         "item": "重型柴油货车运输", "amount": 3_050, "unit": "t", "data_type": "secondary", "transport_mode": "road",
         "distance_km": 1_100, "evidence_kind": "document", "evidence": "运单汇总"},
        {"line_id": "P1", "product_id": "PLANT", "facility_id": "CQ-01", "stage": "production", "kind": "energy",
         "item": "电力", "factor_ref": "electricity.grid_average", "amount": 10_800_000, "unit": "kWh",
         "period_start": "2024-01-01", "period_end": "2024-12-31", "data_type": "primary", "evidence_kind": "meter",
         "evidence": "总表 M-001 年度读数", "allocation_basis": "mass", "electricity_contract": "location"},
        {"line_id": "P2", "product_id": "PLANT", "facility_id": "CQ-01", "stage": "production", "kind": "fuel",
         "item": "天然气", "factor_ref": "fuel.natural_gas", "amount": 1_850_000, "unit": "m3",
         "period_start": "2024-01-01", "period_end": "2024-12-31", "data_type": "primary", "evidence_kind": "invoice",
         "evidence": "燃气发票 2024-01..12", "allocation_basis": "mass"},
        {"line_id": "P3", "product_id": "PLANT", "facility_id": "CQ-01", "stage": "production", "kind": "refrigerant",
         "item": "HFC-134a", "factor_ref": "release.HFC134a", "amount": 12, "unit": "kg", "data_type": "primary",
         "evidence_kind": "document", "evidence": "冷机补液记录", "allocation_basis": "mass"},
        {"line_id": "P4", "product_id": "AP-6063", "facility_id": "CQ-01", "stage": "production", "kind": "packaging",
         "item": "包装纸", "amount": 45, "unit": "t", "data_type": "secondary", "evidence_kind": "invoice", "evidence": "采购台账"},
        {"line_id": "P5", "product_id": "AP-6061", "facility_id": "CQ-01", "stage": "production", "kind": "packaging",
         "item": "低密度聚乙烯", "amount": 12, "unit": "t", "data_type": "secondary", "evidence_kind": "invoice", "evidence": "采购台账"},
        {"line_id": "D1", "product_id": "AP-6063", "facility_id": "CQ-01", "stage": "distribution", "kind": "transport",
         "item": "重型柴油货车运输", "amount": 9_000, "unit": "t", "data_type": "secondary", "transport_mode": "road",
         "distance_km": 450, "evidence_kind": "estimate", "evidence": "主要客户平均运距"},
    ],
}

NEV_BATTERY_PACK = {
    "enterprise": [{
        "uscc": _uscc("91350900MA8EXAMP2"), "enterprise_name": "宁德示例动力电池有限公司（示例 example）",
        "address": "福建省宁德市蕉城区示例大道 8 号", "contact_name": "李工", "contact_phone": "0593-0000000",
        "contact_email": "pcf@example.com", "reporting_year": 2024,
    }],
    "facility": [{"facility_id": "ND-PACK", "facility_name": "PACK 装配车间", "geography": "福建",
                  "address": "福建省宁德市", "processes": "模组装配、PACK 装配、EOL 测试"}],
    "product": [
        {"product_id": "LFP-PACK-61", "product_name": "磷酸铁锂动力电池包 61.44 kWh", "model": "LFP-61.44",
         "category": "nev_battery_pack", "declared_unit": "1 kWh", "unit": "台", "annual_output": 20_000,
         "declared_units_per_output_unit": 61.44, "mass_kg_per_unit": 395, "revenue_cny": 1_180_000_000,
         "facility_id": "ND-PACK", "period_start": "2024-01-01", "period_end": "2024-12-31", "benchmark_kgco2e": 80.0},
    ],
    "activity": [
        {"line_id": "M1", "product_id": "LFP-PACK-61", "facility_id": "ND-PACK", "stage": "raw_material", "kind": "material",
         "item": "磷酸铁锂电芯 3.2V 300Ah", "amount": 1_280_000, "unit": "个", "data_type": "primary",
         "origin_geography": "福建", "supplier": "示例电芯厂", "supplier_pcf_kgco2e": 52.5, "supplier_primary_share": 0.65,
         "evidence_kind": "document", "evidence": "电芯 PCF 报告 CELL-2024-07"},
        {"line_id": "M2", "product_id": "LFP-PACK-61", "facility_id": "ND-PACK", "stage": "raw_material", "kind": "material",
         "item": "原铝", "amount": 900, "unit": "t", "data_type": "secondary", "origin_geography": "CN",
         "evidence_kind": "invoice", "evidence": "箱体采购台账"},
        {"line_id": "M3", "product_id": "LFP-PACK-61", "facility_id": "ND-PACK", "stage": "raw_material", "kind": "material",
         "item": "冷轧钢板及钢带", "amount": 600, "unit": "t", "data_type": "secondary", "origin_geography": "CN",
         "evidence_kind": "invoice", "evidence": "结构件采购台账"},
        {"line_id": "M4", "product_id": "LFP-PACK-61", "facility_id": "ND-PACK", "stage": "raw_material", "kind": "transport",
         "item": "柴油货车运输服务-常温运输", "amount": 7_700, "unit": "t", "data_type": "secondary", "transport_mode": "road",
         "distance_km": 60, "evidence_kind": "document", "evidence": "电芯运单"},
        {"line_id": "E1", "product_id": "LFP-PACK-61", "facility_id": "ND-PACK", "stage": "production", "kind": "energy",
         "item": "电力", "factor_ref": "electricity.grid_average", "amount": 3_600_000, "unit": "kWh",
         "period_start": "2024-01-01", "period_end": "2024-12-31", "data_type": "primary", "evidence_kind": "meter",
         "evidence": "车间表 M-PACK", "electricity_contract": "location"},
        {"line_id": "E2", "product_id": "LFP-PACK-61", "facility_id": "ND-PACK", "stage": "production", "kind": "energy",
         "item": "绿电（绿证）", "factor_ref": "electricity.grid_average", "amount": 1_200_000, "unit": "kWh",
         "period_start": "2024-01-01", "period_end": "2024-12-31", "data_type": "primary", "evidence_kind": "document",
         "evidence": "绿证 GEC-2024-0042", "electricity_contract": "green_certificate"},
        {"line_id": "K1", "product_id": "LFP-PACK-61", "facility_id": "ND-PACK", "stage": "production", "kind": "packaging",
         "item": "箱纸板", "amount": 160, "unit": "t", "data_type": "secondary", "evidence_kind": "invoice", "evidence": "包材台账"},
        {"line_id": "D1", "product_id": "LFP-PACK-61", "facility_id": "ND-PACK", "stage": "distribution", "kind": "transport",
         "item": "重型柴油货车运输", "amount": 7_900, "unit": "t", "data_type": "secondary", "transport_mode": "road",
         "distance_km": 1_200, "evidence_kind": "estimate", "evidence": "至主机厂平均运距"},
    ],
}

EXAMPLES = {"aluminium_profile": ALUMINIUM_PROFILE, "nev_battery_pack": NEV_BATTERY_PACK}
