"""Matched lines kept between builds (restricted zone), so a build matches only the lines of enterprises whose
uploads changed (issue 20: re-matching 195,000 lines of 1,000 uploads was 14 s of every one-upload rebuild).

    restricted/inventory/matched/lines.parquet   build_inventory's lines (before the network solve)
    restricted/inventory/matched/queue.parquet   its mapping queue rows
    restricted/inventory/matched/summary.parquet its product summary (a product's row depends only on its lines
                                                 and product row: sums, scores, the plausibility verdict)

An enterprise's lines are taken from here only when everything they were computed from is the same:
  - the enterprise's uploads in force (upload ids are content hashes; reference models likewise), and the
    products in force its lines draw on (`factor_ref = product:...`: the columns matching reads, or their
    absence), so a new or corrected upload of another enterprise re-matches only the enterprises that
    reference its products, not all of them;
  - the index key: the factor table being matched against (its values and types), the fuel properties, the
    steward mappings, the GWP set, the release label, the settings, the code of matching, inventory and
    plausibility and the library versions.
Anything else is matched again. All three files carry the key and one generation token in their Parquet
metadata: a crash between the writes leaves tokens that differ, and nothing is reused.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.common import digest, parquet_meta
from pipelines.common.parts import Parts
from pipelines.config import PACKAGE_DIR, Settings
from pipelines.matching.lines import PRODUCT_REF_PREFIX

# what matching reads from a product in force (matching/lines.py _match_product)
PRODUCT_COLUMNS = (
    "uscc",
    "product_id",
    "declared_unit_label",
    "declared_unit_amount",
    "product_name",
    "geography_code",
    "reporting_year",
)


@dataclass
class Cached:
    index: str
    uploads: dict[str, str]  # uscc -> digest of its upload ids in force
    lines: pl.DataFrame
    queue: pl.DataFrame
    summary: pl.DataFrame


def index_key(
    settings: Settings,
    factors: pl.DataFrame | Parts,
    fuel_property: pl.DataFrame | None,
    mappings: dict,
    gwp_set: str,
    release_version: str | None,
) -> str:
    import pint

    h = hashlib.sha256()
    for path in sorted(
        [
            *(PACKAGE_DIR / "matching").glob("*.py"),
            *(PACKAGE_DIR / "common").glob("*.py"),
            PACKAGE_DIR / "enterprise" / "inventory.py",
            PACKAGE_DIR / "enterprise" / "plausibility.py",
            Path(__file__),
        ]
    ):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    h.update(repr([pl.__version__, pint.__version__, gwp_set, release_version, repr(settings)]).encode())
    h.update(repr(sorted(mappings.items())).encode())
    digest.update(h, factors)
    digest.update(h, fuel_property)
    return h.hexdigest()


def upload_keys(activities: pl.DataFrame, products: pl.DataFrame | None = None) -> dict[str, str]:
    """uscc -> digest of the upload ids its lines come from and of the products in force they draw on (each
    referenced product's matching columns as text, or 'absent')."""
    if activities.is_empty():
        return {}
    ids = activities.group_by("uscc").agg(pl.col("upload_id").unique().sort().str.join("\n").alias("_ids"))
    refs = pl.DataFrame(schema={"uscc": pl.String, "_refs": pl.String})
    if "factor_ref" in activities.columns:
        drawn = (
            activities.filter(pl.col("factor_ref").str.starts_with(PRODUCT_REF_PREFIX))
            .select("uscc", pl.col("factor_ref").alias("_ref"))
            .unique()
        )
        if drawn.height:
            cols = [c for c in PRODUCT_COLUMNS if products is not None and c in products.columns]
            rows = (
                products.select(
                    pl.format("{}{}/{}", pl.lit(PRODUCT_REF_PREFIX), "uscc", "product_id").alias("_ref"),
                    pl.concat_str([pl.col(c).cast(pl.String).fill_null("\x00") for c in cols], separator="\x1f").alias(
                        "_row"
                    ),
                )
                if products is not None and products.height and cols
                else pl.DataFrame(schema={"_ref": pl.String, "_row": pl.String})
            )
            refs = (
                drawn.join(rows, on="_ref", how="left")
                .with_columns(pl.concat_str(["_ref", pl.col("_row").fill_null("absent")], separator="=").alias("_r"))
                .group_by("uscc")
                .agg(pl.col("_r").unique().sort().str.join("\n").alias("_refs"))
            )
    keyed = ids.join(refs, on="uscc", how="left").select(
        "uscc", pl.concat_str(["_ids", pl.col("_refs").fill_null("")], separator="\x1e").alias("_key")
    )
    return {u: hashlib.sha256(k.encode()).hexdigest() for u, k in keyed.rows()}


def _dir(settings: Settings) -> Path:
    return settings.restricted_dir / "inventory" / "matched"


def lines_path(settings: Settings) -> Path:
    """The kept lines: after `build_inventory(cache=True)`, exactly the lines it returned."""
    return _dir(settings) / "lines.parquet"


NAMES = ("lines", "queue", "summary")


def load(settings: Settings, index: str | None = None) -> Cached | None:
    """The kept lines, queue and summary of the previous build; None when torn (generations differ), missing,
    or kept under another index key than `index` (the rows are then not read at all)."""
    folder = _dir(settings)
    metas = [parquet_meta.read_meta(folder / f"{n}.parquet") for n in NAMES]
    if any(m is None for m in metas) or len({m["generation"] for m in metas if m}) != 1:
        return None
    meta = metas[0]
    assert meta is not None
    if index is not None and meta["index"] != index:
        return None
    frames = [pl.read_parquet(folder / f"{n}.parquet") for n in NAMES]
    return Cached(meta["index"], meta["uploads"], *frames)


def save(
    settings: Settings,
    index: str,
    uploads: dict[str, str],
    lines: pl.DataFrame,
    queue: pl.DataFrame,
    summary: pl.DataFrame,
) -> None:
    meta = {"generation": uuid.uuid4().hex, "index": index, "uploads": uploads}
    for name, frame in zip(NAMES, (lines, queue, summary)):
        parquet_meta.write(_dir(settings) / f"{name}.parquet", frame, meta)


def reusable(cached: Cached | None, uploads: dict[str, str]) -> set[str]:
    """The enterprises (uscc) whose cached lines are exactly what matching them again would give (`cached`
    was loaded for this build's index key)."""
    if cached is None:
        return set()
    return {u for u, d in uploads.items() if cached.uploads.get(u) == d}
