import math

import pytest

from pipelines.common import geography
from pipelines.common.gwp import gwp, gwp_table
from pipelines.common.quality import gsd2


def test_spellings_of_chongqing_normalise_to_gb_t_2260():
    for text in ("重庆", "重庆市", "CN-CQ", "500000", "Chongqing"):
        assert geography.normalise(text).code == "500000"


def test_fallback_chain_records_assumed_membership():
    chain = geography.fallback_chain("500000")
    assert [g.code for g, _ in chain] == ["500000", "CN-GRID-SW", "CN", "GLO"]
    assert chain[1][1].startswith("assumption:")  # membership of 西南 is not documented in hand
    assert chain[2][1] == "documented"


def test_invalid_geography_message():
    with pytest.raises(geography.GeographyError, match="ASEAN"):
        geography.normalise("ASEAN (Ember)")


def test_gwp_sets_and_fossil_methane():
    assert gwp("CH4_fossil", "AR6") == 29.8 and gwp("CH4_biogenic", "AR6") == 27.0 and gwp("CH4", "AR6") == 27.9
    assert gwp("N2O", "AR4") == 298 and gwp("N2O", "AR5") == 265 and gwp("N2O", "AR6") == 273
    assert gwp("SF6", "SAR") == 23900
    assert gwp_table("AR5")["CH4_fossil"] == 28


def test_pedigree_gsd2_matches_hand_computation():
    scores = {"dq_reliability": 2, "dq_completeness": 2, "dq_temporal": 1, "dq_geographical": 1, "dq_technological": 4}
    expected = math.exp(
        math.sqrt(math.log(1.05) ** 2 + math.log(1.54) ** 2 + math.log(1.03) ** 2 + math.log(2.08) ** 2)
    )
    assert math.isclose(gsd2(scores), expected, rel_tol=1e-12)
    assert gsd2({k: 1 for k in scores}) == pytest.approx(1.05)
