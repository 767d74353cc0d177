"""Reference product models: documented model files for products that no enterprise uploaded (a
category's typical product, a public literature model), in data/raw/models/*.csv.

One row per foreground line, amounts per declared unit of the product; the product columns repeat on
each row of a model and must agree. Columns (docs/engine.md#reference-product-models):
  model_id, product_name, category, declared_unit ('1 kg'), geography, reference_year,
  benchmark_kgco2e (optional), line_id, stage, kind, item, factor_ref (optional), amount, unit,
  distance_km (transport given as a mass), data_type, source (where the amount comes from: document, year)
They enter the inventory as products of the pseudo-enterprise 'MODEL' (product key
'product:MODEL/<model_id>'), go through the same factor matching, and join the network: enterprise lines
can draw on them (factor_ref 'product:MODEL/<model_id>'), and they appear in the product marts. A file
with an error is skipped as a whole, with the file, row, column and what was expected; the others load.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.common import geography, units
from pipelines.common.parsing import sha256_file
from pipelines.enterprise.codes import DATA_TYPES, KINDS, STAGES

MODEL_USCC = "MODEL"
PRODUCT_COLUMNS = ("product_name", "category", "declared_unit", "geography", "reference_year", "benchmark_kgco2e")
REQUIRED = (
    "model_id",
    "product_name",
    "category",
    "declared_unit",
    "geography",
    "reference_year",
    "line_id",
    "stage",
    "kind",
    "item",
    "amount",
    "unit",
    "data_type",
    "source",
)
OPTIONAL = ("benchmark_kgco2e", "factor_ref", "distance_km")


class ModelFileError(ValueError):
    def __init__(self, path: Path, row: int | None, column: str | None, message: str):
        self.path, self.row, self.column = path, row, column
        where = f"{path.name}" + (f", row {row}" if row else "") + (f", column {column}" if column else "")
        super().__init__(f"{where}: {message}")


@dataclass
class ModelSet:
    products: pl.DataFrame
    activity: pl.DataFrame
    allocation: pl.DataFrame
    facility: pl.DataFrame
    enterprise: pl.DataFrame
    files: list[dict]
    errors: list[ModelFileError]

    @property
    def empty(self) -> bool:
        return self.products.is_empty()


def _number(path: Path, row: int, column: str, text: str, positive: bool = False) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ModelFileError(path, row, column, f"'{text}' is not a number") from None
    if positive and not value > 0:
        raise ModelFileError(path, row, column, f"{value:g}: expected a number > 0")
    return value


def _code(path: Path, row: int, column: str, text: str, allowed: dict) -> str:
    if text not in allowed:
        raise ModelFileError(path, row, column, f"'{text}': expected one of {', '.join(allowed)}")
    return text


def read_model_file(path: Path) -> tuple[list[dict], list[dict]]:
    """-> product rows, line rows; raises ModelFileError naming file, row and column."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise ModelFileError(path, 1, None, f"missing columns {missing}; expected {', '.join(REQUIRED + OPTIONAL)}")
        unknown = [c for c in (reader.fieldnames or []) if c not in REQUIRED + OPTIONAL]
        if unknown:
            raise ModelFileError(path, 1, None, f"unknown columns {unknown}")
        rows = list(reader)
    if not rows:
        raise ModelFileError(path, None, None, "no lines")
    products: dict[str, dict] = {}
    lines, seen = [], set()
    for n, raw in enumerate(rows, start=2):  # row 1 is the header
        r = {k: (v or "").strip() for k, v in raw.items()}
        for c in REQUIRED:
            if not r[c]:
                raise ModelFileError(path, n, c, "required, empty")
        mid = r["model_id"]
        product = {c: r.get(c, "") for c in PRODUCT_COLUMNS}
        if mid in products and products[mid]["_raw"] != product:
            diff = [c for c in PRODUCT_COLUMNS if products[mid]["_raw"][c] != product[c]]
            raise ModelFileError(path, n, diff[0], f"model '{mid}': product columns must repeat the first row's values")
        if mid not in products:
            amount_text, _, label = r["declared_unit"].partition(" ")
            du_amount = _number(path, n, "declared_unit", amount_text, positive=True)
            try:
                units.unit_info(label.strip())
            except units.UnitError:
                raise ModelFileError(
                    path, n, "declared_unit", f"'{r['declared_unit']}': expected 'amount unit', e.g. '1 kg'"
                ) from None
            try:
                geo = geography.normalise(r["geography"]).code
            except geography.GeographyError:
                raise ModelFileError(
                    path, n, "geography", f"'{r['geography']}' is not a province, country or grid region"
                ) from None
            year = int(_number(path, n, "reference_year", r["reference_year"]))
            products[mid] = {
                "_raw": product,
                "product_id": mid,
                "product_name": r["product_name"],
                "category": r["category"],
                "declared_unit": r["declared_unit"],
                "declared_unit_amount": du_amount,
                "declared_unit_label": label.strip(),
                "geography_code": geo,
                "reporting_year": year,
                "benchmark_kgco2e": _number(path, n, "benchmark_kgco2e", r["benchmark_kgco2e"], positive=True)
                if r.get("benchmark_kgco2e")
                else None,
            }
        if (mid, r["line_id"]) in seen:
            raise ModelFileError(path, n, "line_id", f"'{r['line_id']}' repeats within model '{mid}'")
        seen.add((mid, r["line_id"]))
        kind = _code(path, n, "kind", r["kind"], KINDS)
        try:
            dim = units._normalise_dimension(units.unit_info(r["unit"]).dimension)
        except units.UnitError:
            raise ModelFileError(path, n, "unit", f"'{r['unit']}' is not a known unit") from None
        if not any(dim == units._normalise_dimension(a) for a in KINDS[kind][2]):
            raise ModelFileError(
                path, n, "unit", f"'{r['unit']}' does not fit kind '{kind}' (expected {' or '.join(KINDS[kind][2])})"
            )
        distance = _number(path, n, "distance_km", r["distance_km"], positive=True) if r.get("distance_km") else None
        if kind == "transport" and dim == "[mass]" and distance is None:
            raise ModelFileError(path, n, "distance_km", "transport given as a mass needs the distance")
        lines.append(
            {
                "product_id": mid,
                "line_id": r["line_id"],
                "stage": _code(path, n, "stage", r["stage"], STAGES),
                "kind": kind,
                "item": r["item"],
                "factor_ref": r.get("factor_ref") or None,
                "amount": _number(path, n, "amount", r["amount"], positive=True),
                "unit": r["unit"],
                "distance_km": distance,
                "data_type": _code(path, n, "data_type", r["data_type"], DATA_TYPES),
                "evidence_kind": "document",
                "evidence": r["source"],
            }
        )
    return [{k: v for k, v in p.items() if k != "_raw"} for p in products.values()], lines


def load_models(models_dir: Path) -> ModelSet:
    products: list[dict] = []
    activity: list[dict] = []
    allocation: list[dict] = []
    facility: list[dict] = []
    enterprise: list[dict] = []
    files: list[dict] = []
    errors: list[ModelFileError] = []
    for path in sorted(models_dir.glob("*.csv")) if models_dir.exists() else []:
        try:
            product_rows, line_rows = read_model_file(path)
        except ModelFileError as exc:
            errors.append(exc)
            continue
        sha = sha256_file(path)
        files.append({"file": path.name, "sha256": sha, "models": len(product_rows), "lines": len(line_rows)})
        taken = {p["product_id"] for p in products}
        for p in product_rows:
            if p["product_id"] in taken:
                errors.append(
                    ModelFileError(path, None, "model_id", f"'{p['product_id']}' is also defined in another model file")
                )
                continue
            fid = f"MODEL-{p['product_id']}"
            upload_id = f"model:{p['product_id']}@{sha[:12]}"  # one pseudo-upload per model: its own year
            products.append(
                {
                    "upload_id": upload_id,
                    "uscc": MODEL_USCC,
                    "facility_id": fid,
                    "annual_output": p["declared_unit_amount"],
                    "declared_units_per_output_unit": 1.0,
                    "unit": p["declared_unit_label"],
                    **{k: v for k, v in p.items() if k not in ("geography_code", "reporting_year")},
                }
            )
            facility.append({"upload_id": upload_id, "facility_id": fid, "geography_code": p["geography_code"]})
            enterprise.append({"upload_id": upload_id, "reporting_year": p["reporting_year"]})
        upload_of = {p["product_id"]: f"model:{p['product_id']}@{sha[:12]}" for p in product_rows}
        for line in line_rows:
            upload_id = upload_of[line["product_id"]]
            activity.append(
                {
                    "upload_id": upload_id,
                    "uscc": MODEL_USCC,
                    "facility_id": f"MODEL-{line['product_id']}",
                    **line,
                    "line_id": f"{line['product_id']}:{line['line_id']}",
                }
            )
            allocation.append(
                {
                    "upload_id": upload_id,
                    "line_id": f"{line['product_id']}:{line['line_id']}",
                    "product_id": line["product_id"],
                    "share": 1.0,
                    "basis": "direct",
                    "basis_value": None,
                }
            )
    return ModelSet(
        pl.DataFrame(products, infer_schema_length=None, schema_overrides={"benchmark_kgco2e": pl.Float64}),
        pl.DataFrame(
            activity, infer_schema_length=None, schema_overrides={"distance_km": pl.Float64, "factor_ref": pl.String}
        ),
        pl.DataFrame(allocation, infer_schema_length=None, schema_overrides={"basis_value": pl.Float64}),
        pl.DataFrame(facility),
        pl.DataFrame(enterprise),
        files,
        errors,
    )
