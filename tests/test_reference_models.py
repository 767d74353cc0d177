"""Reference product models (data/raw/models/*.csv): loaded as products of the pseudo-enterprise MODEL,
matched like enterprise lines, solved in the network (enterprise lines can draw on them); a bad file is
skipped with file, row and column while the others load."""

from __future__ import annotations

import csv
import dataclasses
import shutil
from pathlib import Path

import polars as pl
import pytest

from pipelines.config import PROJECT_ROOT
from pipelines.engine.results import compute
from pipelines.enterprise.inventory import build_inventory, in_scope
from pipelines.enterprise.reference_models import ModelFileError, load_models, read_model_file

EXAMPLE = PROJECT_ROOT / "data" / "raw" / "models" / "example_aluminium_profile_cn.csv"


def _rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _write(path: Path, rows: list[dict], fieldnames: list[str] | None = None) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fieldnames or list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def test_the_example_model_reads():
    products, lines = read_model_file(EXAMPLE)
    assert [p["product_id"] for p in products] == ["AL-6063-REF-EXAMPLE"]
    assert products[0]["declared_unit_amount"] == 1.0 and products[0]["declared_unit_label"] == "kg"
    assert [line["line_id"] for line in lines] == ["L1", "L2", "L3", "L4", "L5"]
    assert all(line["evidence"] for line in lines)  # every amount carries its source


@pytest.mark.parametrize(
    "change, row, column, words",
    [
        (lambda r: r[1].update(unit="blorp"), 3, "unit", "not a known unit"),
        (lambda r: r[0].update(kind="energy"), 2, "unit", "does not fit kind 'energy'"),
        (lambda r: r[2].update(distance_km=""), 4, "distance_km", "needs the distance"),
        (lambda r: r[3].update(category="steel"), 5, "category", "must repeat"),
        (lambda r: r[4].update(amount="-1"), 6, "amount", "> 0"),
        (lambda r: r[4].update(line_id="L1"), 6, "line_id", "repeats"),
        (lambda r: r[0].update(geography="Atlantis"), 2, "geography", "not a province"),
        (lambda r: r[1].update(stage="maybe"), 3, "stage", "expected one of"),
    ],
)
def test_a_bad_file_names_file_row_and_column_and_the_others_load(tmp_path, change, row, column, words):
    rows = _rows(EXAMPLE)
    change(rows)
    bad = _write(tmp_path / "bad.csv", rows)
    with pytest.raises(ModelFileError) as err:
        read_model_file(bad)
    assert (err.value.row, err.value.column) == (row, column)
    assert words in str(err.value) and "bad.csv" in str(err.value)
    shutil.copy(EXAMPLE, tmp_path / "good.csv")
    models = load_models(tmp_path)
    assert [f["file"] for f in models.files] == ["good.csv"]
    assert len(models.errors) == 1 and models.products.height == 1


def test_missing_columns_are_named(tmp_path):
    rows = [{k: v for k, v in r.items() if k != "data_type"} for r in _rows(EXAMPLE)]
    with pytest.raises(ModelFileError, match=r"missing columns \['data_type'\]"):
        read_model_file(_write(tmp_path / "m.csv", rows))


def test_models_are_solved_and_can_feed_enterprise_products(full_build, tmp_path):
    raw = tmp_path / "raw"
    (raw / "models").mkdir(parents=True)
    rows = _rows(EXAMPLE)
    # a second model drawing on the first: 1.02 kg of the profile (2 % cutting loss) per kg of window frame
    frame = dict(
        rows[0],
        model_id="WINDOW-FRAME-EXAMPLE",
        product_name="窗框（示例）",
        category="window_frame",
        line_id="F1",
        stage="raw_material",
        kind="material",
        item="铝型材",
        factor_ref="product:MODEL/AL-6063-REF-EXAMPLE",
        amount="1.02",
        unit="kg",
        source="illustrative",
    )
    _write(raw / "models" / "m.csv", [*rows, frame])
    s = dataclasses.replace(full_build["settings"], raw_dir=raw, restricted_dir=tmp_path / "restricted")
    tables = full_build["tables"]
    inv = build_inventory(s, tables["factor"], None, s.gwp_set)
    lines = inv["line_emissions"]
    assert set(lines["uscc"]) == {"MODEL"}
    profile_lines = lines.filter(pl.col("product_id") == "AL-6063-REF-EXAMPLE")
    assert profile_lines["match_method"].to_list().count("unmatched") == 0
    engine = compute(
        lines,
        in_scope(s)["product"],
        inv["product_summary"],
        tables["factor"],
        tables["factor_gas"],
        s.gwp_set,
        iterations=100,
    )
    fp = dict(engine["engine_products"].select("product_id", "co2e_kg").rows())
    assert fp["AL-6063-REF-EXAMPLE"] == pytest.approx(profile_lines["co2e_kg_per_declared_unit"].sum(), rel=1e-12)
    assert fp["WINDOW-FRAME-EXAMPLE"] == pytest.approx(1.02 * fp["AL-6063-REF-EXAMPLE"], rel=1e-12)
