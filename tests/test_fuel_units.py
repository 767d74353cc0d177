"""Fuels in any sensible unit (issue 13, units): t, m3, L, tce and 万Nm³ give the same CO2 as the same fuel in GJ,
through the national defaults' net calorific values (and, for litres, the fuel's density)."""

from __future__ import annotations

import dataclasses

import pytest

from pipelines.common.fuels import FuelConversionError, fuels_from
from pipelines.config import PROJECT_ROOT, settings
from pipelines.factors.warehouse import build_tables, load_source
from pipelines.matching.lines import FactorIndex, match_line


@pytest.fixture(scope="module")
def index():
    s = dataclasses.replace(settings(), raw_dir=PROJECT_ROOT / "data" / "raw")
    tables, _ = build_tables([load_source("cn_fuel_defaults", s)], s)
    return FactorIndex(tables["factor"], fuel_property=tables["fuel_property"]), tables


def _co2(index, key, amount, unit):
    m = match_line({"kind": "fuel", "item": key, "unit": unit, "amount": amount, "factor_ref": key}, index, "CN", 2024)
    assert m.method == "activity_key", m.note
    return m.amount_in_factor_unit * m.factor_co2e_per_unit, m


@pytest.mark.parametrize(
    "key, ncv_gj_per_unit, amounts",
    [
        (
            "fuel.diesel",
            42.652,
            [(10.0, "t"), (10_000.0, "kg"), (10.0 / 0.830565 * 1000, "L"), (10.0 / 0.830565, "m3")],
        ),
        ("fuel.natural_gas", 389.31, [(3.0, "万Nm³"), (30_000.0, "m3"), (30_000.0, "Nm3")]),
        ("fuel.coal_bituminous", 19.570, [(100.0, "t"), (100.0 * 19.570 / 29.3076, "tce")]),
    ],
)
def test_the_same_fuel_in_any_unit_gives_the_same_co2(index, key, ncv_gj_per_unit, amounts):
    idx, _tables = index
    reference, _ = _co2(idx, key, amounts[0][0] * ncv_gj_per_unit, "GJ")  # the first amount is in the NCV's unit
    for amount, unit in amounts:
        value, m = _co2(idx, key, amount, unit)
        assert value == pytest.approx(reference, rel=1e-9), (unit, m.note)
    _, via = _co2(idx, key, amounts[-1][0], amounts[-1][1])
    assert via.note  # says which factor and which path


def test_a_conversion_that_needs_a_missing_property_names_it(index):
    idx, tables = index
    gas = fuels_from(tables["fuel_property"])["fuel.natural_gas"]
    with pytest.raises(FuelConversionError, match="no density"):
        gas.to_gj(1.0, "t")  # a gas given in tonnes: its density is not in the warehouse
    m = match_line(
        {"kind": "fuel", "item": "天然气", "unit": "t", "amount": 1.0, "factor_ref": "fuel.natural_gas"},
        idx,
        "CN",
        2024,
    )
    assert m.method == "unmatched" and "dimension" in m.note


@pytest.mark.parametrize(
    "label, amount, unit, expected",
    [
        ("万kWh", 1.0, "kWh", 1e4),
        ("万千瓦时", 2.0, "kWh", 2e4),
        ("方", 1.0, "m**3", 1.0),
        ("万吨", 1.0, "t", 1e4),
        ("吨", 1.0, "kg", 1000.0),
        ("升", 1000.0, "m**3", 1.0),
        ("MWh", 1.0, "kWh", 1000.0),
        ("万Nm³", 1.0, "m**3", 1e4),
    ],
)
def test_units_as_enterprises_write_them(label, amount, unit, expected):
    from pipelines.common import units

    assert units.convert(amount, label, unit) == pytest.approx(expected)
