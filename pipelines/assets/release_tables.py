"""Each table of the current release as an asset of its own (release/factor, release/product_footprint, ...),
so the Dagster UI shows the tables analysts query: columns with types and descriptions (the factor columns'
from pipelines/factors/schema.py, the same text as docs/factor_record.md), row counts, the release version,
the file and its SHA-256 (lineage: the release's manifest names the sources and raw files behind it).

The tables are written by factor_release (one atomic publish); these assets read the manifest and the files'
Parquet schemas, so describing a table never rewrites it."""

import dagster as dg
import pyarrow.parquet as pq

from pipelines.assets.release import factor_release
from pipelines.factors.schema import FACTOR_COLUMNS
from pipelines.release.manifests import latest_release, release_dir
from pipelines.release.publish import RELEASE_TABLES
from pipelines.resources import WarehouseResource

TABLE_DESCRIPTIONS = {
    "factor": "The canonical factor record: one row per factor, kg CO2e per reference unit (docs/factor_record.md).",
    "factor_gas": "One row per factor and gas: kg of the gas per reference unit and its CO2e under the release's GWP set.",
    "factor_lineage": "Every raw row behind a factor: source, raw file, row number, SHA-256 of the file.",
    "quarantine": "Every raw row that did not become a factor: rule id, column and a message a steward can act on.",
    "source": "Each source as loaded: version and edition, licence, authority, status, files.",
    "raw_file": "Each raw file read: path, SHA-256, rows.",
    "gwp": "The GWP100 values applied (IPCC SAR/AR4/AR5/AR6) per gas.",
    "geography": "Geography codes and their fallback parents (province -> grid region -> CN -> GLO).",
    "fuel_property": "Net calorific values and carbon contents of fuels (national defaults), used for unit conversions.",
    "import_issue": "Exchange-level quarantine of imported archives (ILCD): data set, exchange, flow, rule, message.",
    "steward_decision": "Steward decisions applied to this release (approve, reject, override, deprecate) with reasons.",
    "product_footprint": "Per product: total kg CO2e per declared unit, P5/P50/P95, DQR, primary data share.",
    "product_footprint_stage": "Per product and life-cycle stage: kg CO2e (sums to the product's total).",
    "product_footprint_gas": "Per product and gas: kg CO2e (sums to the product's total).",
    "product_contribution": "Per product and inventory line: share of the total (rounded, confidential amounts withheld).",
    "product_benchmark": "Per product: rank among products of its category; with a declared benchmark, ratio and grade A-D.",
}
COLUMN_DOCS = {c.name: c.doc for c in FACTOR_COLUMNS}
KEY_PREFIX = "release"


def table_key(name: str) -> dg.AssetKey:
    return dg.AssetKey([KEY_PREFIX, name])


def column_schema(path) -> dg.TableSchema:
    schema = pq.read_schema(path)
    return dg.TableSchema(
        columns=[dg.TableColumn(f.name, str(f.type), description=COLUMN_DOCS.get(f.name)) for f in schema]
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            table_key(name),
            group_name="release",
            deps=[factor_release],
            kinds={"parquet"},
            description=TABLE_DESCRIPTIONS[name],
            skippable=True,
            tags={"layer": "release"},
        )
        for name in RELEASE_TABLES
    ],
    can_subset=True,
)
def release_tables(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    s = warehouse.settings()
    manifest = latest_release(s)
    if manifest is None:
        return
    folder = release_dir(s, manifest["version"])
    for name, entry in manifest["tables"].items():
        key = table_key(name)
        if key not in context.selected_asset_keys:
            continue
        path = folder / entry["file"]
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                "dagster/row_count": entry["rows"],
                "dagster/column_schema": column_schema(path),
                "dagster/uri": str(path),
                "release": manifest["version"],
                "release_hash": manifest["release_hash"],
                "sha256": entry["sha256"],
                "gwp_set": manifest.get("gwp_set"),
            },
        )
