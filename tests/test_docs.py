from pipelines.factors.docs import TARGET, render
from pipelines.factors.schema import FACTOR_COLUMNS


def test_factor_record_doc_is_current_and_complete():
    text = TARGET.read_text(encoding="utf-8")
    assert text == render(), "docs/factor_record.md is stale: run python -m pipelines.factors.docs"
    for column in FACTOR_COLUMNS:
        assert f"`{column.name}`" in text
