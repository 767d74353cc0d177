"""Matched lines kept between builds (restricted zone), so a build matches only the lines of enterprises whose
uploads changed (issue 20: re-matching 195,000 lines of 1,000 uploads was 14 s of every one-upload rebuild).

    restricted/inventory/matched/lines.parquet   build_inventory's lines (before the network solve)
    restricted/inventory/matched/queue.parquet   its mapping queue rows

An enterprise's lines are taken from here only when everything they were computed from is the same:
  - the enterprise's uploads in force (upload ids are content hashes; reference models likewise);
  - the index key: the factor table being matched against (its values and types), the fuel properties, the
    steward mappings, the products in force that lines may draw on (the columns matching reads), the GWP
    set, the release label, the settings, the code of matching and inventory and the library versions.
Anything else is matched again. Both files carry the key and one generation token in their Parquet
metadata: a crash between the two writes leaves tokens that differ, and nothing is reused.
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


def index_key(
    settings: Settings,
    factors: pl.DataFrame | Parts,
    fuel_property: pl.DataFrame | None,
    products: pl.DataFrame,
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
            Path(__file__),
        ]
    ):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    h.update(repr([pl.__version__, pint.__version__, gwp_set, release_version, repr(settings)]).encode())
    h.update(repr(sorted(mappings.items())).encode())
    digest.update(h, factors)
    digest.update(h, fuel_property)
    digest.update(
        h, products.select([c for c in PRODUCT_COLUMNS if c in products.columns]) if products.height else None
    )
    return h.hexdigest()


def upload_keys(activities: pl.DataFrame) -> dict[str, str]:
    """uscc -> digest of the upload ids its lines come from."""
    if activities.is_empty():
        return {}
    groups = activities.group_by("uscc").agg(pl.col("upload_id").unique().sort()).rows()
    return {u: hashlib.sha256("\n".join(ids).encode()).hexdigest() for u, ids in groups}


def _dir(settings: Settings) -> Path:
    return settings.restricted_dir / "inventory" / "matched"


def lines_path(settings: Settings) -> Path:
    """The kept lines: after `build_inventory(cache=True)`, exactly the lines it returned."""
    return _dir(settings) / "lines.parquet"


def load(settings: Settings, index: str | None = None) -> Cached | None:
    """The kept lines and queue of the previous build; None when torn (generations differ), missing, or kept
    under another index key than `index` (the rows are then not read at all)."""
    folder = _dir(settings)
    metas = [parquet_meta.read_meta(folder / f"{n}.parquet") for n in ("lines", "queue")]
    if metas[0] is None or metas[1] is None or metas[0]["generation"] != metas[1]["generation"]:
        return None
    if index is not None and metas[0]["index"] != index:
        return None
    return Cached(
        metas[0]["index"],
        metas[0]["uploads"],
        pl.read_parquet(folder / "lines.parquet"),
        pl.read_parquet(folder / "queue.parquet"),
    )


def save(settings: Settings, index: str, uploads: dict[str, str], lines: pl.DataFrame, queue: pl.DataFrame) -> None:
    meta = {"generation": uuid.uuid4().hex, "index": index, "uploads": uploads}
    for name, frame in (("lines", lines), ("queue", queue)):
        parquet_meta.write(_dir(settings) / f"{name}.parquet", frame, meta)


def reusable(cached: Cached | None, uploads: dict[str, str]) -> set[str]:
    """The enterprises (uscc) whose cached lines are exactly what matching them again would give (`cached`
    was loaded for this build's index key)."""
    if cached is None:
        return set()
    return {u for u, d in uploads.items() if cached.uploads.get(u) == d}
