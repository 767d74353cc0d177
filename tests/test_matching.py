"""Factor matching pinned with small exact cases: order of evidence, unit dimension, geography fallback,
year, the life-cycle rule for product footprints, and links to other products."""

from __future__ import annotations

import polars as pl
import pytest

from pipelines.matching.lines import FactorIndex, match_line


def _factors(*rows) -> pl.DataFrame:
    cols = [
        "factor_id",
        "name_zh",
        "unit",
        "co2e_kg",
        "activity_key",
        "geography_code",
        "reference_year",
        "factor_purpose",
        "source_id",
    ]
    return pl.DataFrame([dict(zip(cols, r)) for r in rows], infer_schema_length=None).with_columns(
        pl.lit(None, dtype=pl.Float64).alias("co2e_biogenic_kg"),
        pl.lit(2.0).alias("dqr"),
        pl.lit(1.2).alias("gsd2"),
        pl.lit("approved").alias("steward_status"),
    )


ELECTRICITY = {"kind": "energy", "unit": "MWh", "amount": 2.0, "factor_ref": "electricity.grid_average", "item": "电力"}
GRID = [
    ("S-CQ-22", "重庆 2022 (CO2)", "kWh", 0.5227, "electricity.grid_average", "500000", 2022, "scope2_location", "mee"),
    ("S-CN-22", "全国 2022 (CO2)", "kWh", 0.5366, "electricity.grid_average", "CN", 2022, "scope2_location", "mee"),
    ("L-CN-23", "全国 2023 碳足迹", "kWh", 0.6205, "electricity.grid_average", "CN", 2023, "life_cycle", "mee"),
    ("L-CN-19", "全国 2019 碳足迹", "kWh", 0.6496, "electricity.grid_average", "CN", 2019, "life_cycle", "lit"),
]


def test_life_cycle_factor_preferred_over_scope2_even_at_a_coarser_geography():
    m = match_line(ELECTRICITY, FactorIndex(_factors(*GRID)), "500000", 2024)
    assert (m.factor_id, m.geography_used, m.geography_step) == ("L-CN-23", "CN", "country")
    assert m.amount_in_factor_unit == pytest.approx(2000.0)  # MWh -> kWh
    assert "2 scope2_location (CO2-only) factor(s) set aside" in m.note


def test_scope2_used_when_no_life_cycle_factor_exists():
    m = match_line(ELECTRICITY, FactorIndex(_factors(*GRID[:2])), "500000", 2024)
    assert (m.factor_id, m.geography_step) == ("S-CQ-22", "requested")
    assert "set aside" not in m.note


def test_closest_year_not_later_first_then_factor_id():
    rows = [
        ("A", "x", "kg", 1.0, "k", "CN", 2020, "life_cycle", "s"),
        ("B", "x", "kg", 2.0, "k", "CN", 2024, "life_cycle", "s"),
        ("C", "x", "kg", 3.0, "k", "CN", 2022, "life_cycle", "s"),
        ("D", "x", "kg", 4.0, "k", "CN", 2026, "life_cycle", "s"),
    ]
    line = {"kind": "material", "unit": "t", "amount": 1.0, "factor_ref": "k", "item": "x"}
    assert (
        match_line(line, FactorIndex(_factors(*rows)), "CN", 2023).factor_id == "C"
    )  # 2022 and 2024 tie: earlier wins
    assert (
        match_line(line, FactorIndex(_factors(*rows)), "CN", 2025).factor_id == "B"
    )  # 2024 and 2026 tie: earlier wins


def test_unit_dimension_must_fit():
    rows = [("A", "钢材", "kWh", 1.0, None, "CN", 2022, "life_cycle", "s")]
    m = match_line(
        {"kind": "material", "unit": "t", "amount": 1.0, "item": "钢材"}, FactorIndex(_factors(*rows)), "CN", 2023
    )
    assert m.method == "unmatched" and "none in a unit of dimension" in m.note


def test_product_reference_converts_to_the_declared_unit():
    products = pl.DataFrame(
        [
            {
                "uscc": "91350900MA8CELL01X",
                "product_id": "CELL",
                "product_name": "电芯",
                "declared_unit_label": "kWh",
                "declared_unit_amount": 0.96,
            }
        ]
    )
    line = {
        "kind": "material",
        "unit": "MWh",
        "amount": 1.2,
        "factor_ref": "product:91350900MA8CELL01X/CELL",
        "item": "电芯",
    }
    m = match_line(line, FactorIndex(_factors(*GRID), products), "350000", 2024)
    assert (m.method, m.factor_id) == ("supplier_product", "product:91350900MA8CELL01X/CELL")
    assert m.amount_in_factor_unit == pytest.approx(1200 / 0.96)  # declared units of 0.96 kWh
    assert m.factor_co2e_per_unit is None  # from the network solve
    bad = match_line({**line, "unit": "kg"}, FactorIndex(_factors(*GRID), products), "350000", 2024)
    assert bad.method == "unmatched" and "does not convert" in bad.note


def test_regional_steward_factor_takes_precedence_at_its_geography():
    rows = [
        *GRID,
        (
            "R-CQ-20",
            "重庆电网碳足迹（省级发布）",
            "kWh",
            0.501,
            "electricity.grid_average",
            "500000",
            2020,
            "life_cycle",
            "regional_steward",
        ),
    ]
    m = match_line(ELECTRICITY, FactorIndex(_factors(*rows)), "500000", 2024)
    assert (m.factor_id, m.geography_step, m.precedence) == ("R-CQ-20", "requested", "regional_steward")
    # elsewhere the regional factor does not apply: Sichuan falls back to China
    m = match_line(ELECTRICITY, FactorIndex(_factors(*rows)), "510000", 2024)
    assert (m.factor_id, m.precedence) == ("L-CN-23", None)


def test_index_limited_to_the_lines_lookups_matches_as_the_full_index():
    rows = [
        *GRID,
        ("M-1", " Steel Sheet ", "kg", 2.1, None, "CN", 2022, "life_cycle", "lit"),  # name with blanks and case
        ("M-2", "铝锭", "t", 16000.0, "material.aluminium", "CN", 2023, "life_cycle", "cpcd"),
        ("X-9", "unrelated", "kg", 9.0, "material.other", "CN", 2023, "life_cycle", "lit"),
    ]
    lines = [
        ELECTRICITY,
        {"kind": "material", "unit": "t", "amount": 1.0, "item": "steel sheet"},
        {"kind": "material", "unit": "t", "amount": 1.0, "item": "原铝", "factor_ref": "material.aluminium"},
        {"kind": "material", "unit": "t", "amount": 1.0, "item": "x", "factor_ref": "M-2"},
        {"kind": "material", "unit": "t", "amount": 1.0, "item": "nothing like it"},
    ]
    full = FactorIndex(_factors(*rows))
    limited = FactorIndex(
        _factors(*rows), lookups=[v for line in lines for v in (line["item"], line.get("factor_ref"))]
    )
    assert sorted(r["factor_id"] for r in limited.rows) == ["L-CN-19", "L-CN-23", "M-1", "M-2", "S-CN-22", "S-CQ-22"]
    for line in lines:
        assert match_line(line, limited, "500000", 2024) == match_line(line, full, "500000", 2024)
