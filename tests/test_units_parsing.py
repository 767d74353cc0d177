"""Small exact cases pinning unit, number and date handling."""

import math

import polars as pl
import pytest

from pipelines.common.parsing import (
    InputError,
    decode_bytes,
    number_expr,
    parse_date,
    parse_number,
    parse_number_columns,
    parse_year,
)
from pipelines.common.units import UnitError, convert, dimension_allowed, unit_info


@pytest.mark.parametrize(
    "label,canonical,factor",
    [
        ("千瓦时", "kWh", 1.0),
        ("兆瓦时", "kWh", 0.001),
        ("公吨", "kg", 0.001),
        ("千克", "kg", 1.0),
        ("公吨·公里", "t*km", 1.0),
        ("tonne.km", "t*km", 1.0),
        ("人·千米", "person*km", 1.0),
        ("台", "piece", 1.0),
        ("辆", "piece", 1.0),
        ("GJ", "kWh", 1 / 277.7777777777778),
        ("万标准立方米", "m**3", 1e-4),
        ("2021 USD, purchaser price", "USD_2021", 1.0),
        ("万元人民币", "CNY", 1e-4),
        ("miles", "km", 1 / 1.609344),
    ],
)
def test_unit_labels_map_to_canonical_units(label, canonical, factor):
    info = unit_info(label)
    assert info.canonical == canonical
    assert math.isclose(info.per_label_to_per_canonical, factor, rel_tol=1e-9)


def test_tce_is_29_3076_gigajoule_per_gb_t_2589():
    assert math.isclose(convert(1, "tce", "GJ"), 29.3076, rel_tol=1e-12)
    assert math.isclose(convert(1, "千克标准煤", "kJ"), 29307.6, rel_tol=1e-12)


def test_unknown_unit_raises_with_the_label():
    with pytest.raises(UnitError, match="不存在的单位"):
        unit_info("不存在的单位")


def test_dimension_rules():
    assert dimension_allowed("electricity", unit_info("千瓦时").dimension)
    assert not dimension_allowed("electricity", unit_info("千克").dimension)
    assert dimension_allowed("transport_freight", unit_info("t·km").dimension)
    assert not dimension_allowed("spend", unit_info("kg").dimension)
    assert dimension_allowed("spend", unit_info("2021 USD").dimension)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("1,234.5", 1234.5),
        ("１２３．４", 123.4),
        (" 4.04e-01 ", 0.404),
        ("1,234,567", 1234567.0),
        ("", None),
        ("－５", -5.0),
    ],
)
def test_numbers_written_by_people(text, expected):
    assert parse_number(text) == expected


def test_text_in_a_number_names_column_and_value():
    with pytest.raises(InputError, match=r"co2e_kg: expected a number, got 'abc'"):
        parse_number("abc", "co2e_kg")


def test_vectorised_numbers_agree_with_scalar():
    values = ["1,234.5", "１２", "abc", "3.5", "1,23", None]
    got = pl.DataFrame({"v": values}).select(number_expr("v"))["v"].to_list()
    assert got == [1234.5, 12.0, None, 3.5, None, None]


def test_number_columns_clean_only_what_the_cast_cannot_read():
    frame = pl.DataFrame({"v": ["1.5", " 2 ", "", "  ", "１２．５", "1,234.5", "abc", None, "\u3000"]})
    out = parse_number_columns(frame, ["v"])
    assert out["_n_v"].to_list() == [1.5, 2.0, None, None, 12.5, 1234.5, None, None, None]
    # blank cells become empty (null), a bad number keeps its text for the error message
    assert out["v"].to_list() == ["1.5", " 2 ", None, None, "１２．５", "1,234.5", "abc", None, None]


def test_excel_serial_dates():
    assert str(parse_date("45292")) == "2024-01-01"
    assert str(parse_date("2024年1月31日")) == "2024-01-31"
    with pytest.raises(InputError) as err:
        parse_year("45292")
    assert err.value.rule == "year.excel_serial" and "2024-01-01" in str(err.value)


def test_gbk_is_detected_and_refused_where_utf8_is_required():
    data = "名称,数值\n电力,0.5\n".encode("gbk")
    with pytest.raises(InputError, match="GBK"):
        decode_bytes(data, "f.csv", allow_gbk=False)
    assert decode_bytes(data, "f.csv", allow_gbk=True).text.startswith("名称")
