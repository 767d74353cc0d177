"""What a report, a label and a disclosure page show for one product, gathered from a named release.

Public part (marts of the release: the label and the disclosure site use only this): the footprint row,
stages, gases, benchmark, significant contributors' stages and shares, the GWP set and the sources used.
Enterprise part (the report is the enterprise's own document, produced for it and its verifier): its
name, the product's reference period, and the inventory lines per declared unit from its restricted
inventory. The site never calls `enterprise_part`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipelines.config import Settings
from pipelines.enterprise import store
from pipelines.release.publish import read_manifest, read_table

STAGES = ("raw_material", "production", "distribution", "use", "end_of_life")


class ReportError(ValueError):
    pass


def site_base_url() -> str:
    from pipelines.config import settings

    return settings().site_base_url.rstrip("/")


def safe_name(text: str) -> str:
    """A file-name and URL-safe name: ASCII letters, digits, '_', '-' only, at most 100 characters. Any other
    character (quotes, '.', path separators, CJK, bidi or zero-width marks) is replaced and a short hash of
    the whole text keeps the name unique, so user text can never break out of an href or out of --out."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", text)
    if safe == text and 0 < len(safe) <= 100:
        return safe
    return f"{safe[:80]}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:12]}"


def slug(product_key: str) -> str:
    """The page name of a product (its credit code and product id, made safe)."""
    plain = product_key.removeprefix("product:").replace("/", "-").replace(":", "-")
    return safe_name(plain)


def output_file(out: Path, name: str, suffix: str) -> Path:
    """A file for user-named output inside `out`, whatever the name holds (checked after resolving)."""
    out = Path(out)
    path = out / f"{safe_name(name)}{suffix}"
    if path.resolve().parent != out.resolve():
        raise ReportError(f"refusing to write outside {out}: {path}")
    return path


def page_url(product_key: str) -> str:
    return f"{site_base_url()}/products/{slug(product_key)}.html"


@dataclass
class ProductData:
    version: str
    created_at: str
    footprint: dict
    stages: pl.DataFrame
    gases: pl.DataFrame
    contributions: pl.DataFrame
    benchmark: dict | None
    sources: pl.DataFrame
    enterprise: dict = field(default_factory=dict)
    lines: pl.DataFrame | None = None
    certification: dict | None = None  # pipelines/certification: status, certificate (label and QR page)

    @property
    def key(self) -> str:
        return self.footprint["product_key"]

    @property
    def url(self) -> str:
        return page_url(self.key)


def resolve_version(settings: Settings, version: str | None) -> str:
    try:
        return read_manifest(settings, version)["version"]
    except FileNotFoundError as exc:
        raise ReportError(str(exc)) from None


def product_keys(settings: Settings, version: str) -> list[str]:
    manifest = read_manifest(settings, version)
    if "product_footprint" not in manifest["tables"]:
        return []
    return read_table(settings, version, "product_footprint")["product_key"].to_list()


def public_part(settings: Settings, version: str, product: str) -> ProductData:
    manifest = read_manifest(settings, version)
    if "product_footprint" not in manifest["tables"]:
        raise ReportError(f"release {version} has no product marts")
    fp = read_table(settings, version, "product_footprint").filter(
        (pl.col("product_id") == product) | (pl.col("product_key") == product)
    )
    if fp.height == 0:
        raise ReportError(f"product {product!r} is not in release {version}'s product_footprint")
    if fp.height > 1:
        raise ReportError(f"product id {product!r} is ambiguous: give the product_key ({', '.join(fp['product_key'])})")
    row = fp.row(0, named=True)
    key = row["product_key"]
    mine = pl.col("product_key") == key
    contributions = read_table(settings, version, "product_contribution").filter(mine)
    used = sorted(set(contributions["factor_source_id"].drop_nulls().to_list()))
    sources = (
        read_table(settings, version, "source")
        .filter(pl.col("source_id").is_in(used))
        .select("source_id", "source_version", "title", "publisher", "licence")
        .sort("source_id")
    )
    bench = read_table(settings, version, "product_benchmark").filter(mine)
    order = {s: i for i, s in enumerate(STAGES)}
    stages = (
        read_table(settings, version, "product_footprint_stage")
        .filter(mine)
        .sort(pl.col("stage").replace_strict(order, default=99, return_dtype=pl.Int64))
    )
    return ProductData(
        version,
        manifest["created_at"],
        row,
        stages,
        read_table(settings, version, "product_footprint_gas").filter(mine),
        contributions,
        bench.row(0, named=True) if bench.height else None,
        sources,
    )


def enterprise_part(settings: Settings, data: ProductData) -> ProductData:
    """The enterprise's own name, period and inventory lines (restricted zone): for its report only."""
    uscc, pid = data.footprint["uscc"], data.footprint["product_id"]
    ent = store.read_current(settings, "enterprise").filter(pl.col("uscc") == uscc)
    prod = store.read_current(settings, "product").filter((pl.col("uscc") == uscc) & (pl.col("product_id") == pid))

    def first(frame: pl.DataFrame, column: str):
        return frame[column][0] if frame.height and column in frame.columns else None

    data.enterprise = {
        "name": ent["enterprise_name"][0] if ent.height else uscc,
        "uscc": uscc,
        "address": ent["address"][0] if ent.height else None,
        "legal_representative": first(ent, "legal_representative"),
        "company_profile": first(ent, "company_profile"),
        "contact_name": first(ent, "contact_name"),
        "contact_phone": first(ent, "contact_phone"),
        "model": first(prod, "model"),
        "product_function": first(prod, "product_function"),
        "product_introduction": first(prod, "product_introduction"),
        "product_picture": first(prod, "product_picture"),
        "period_start": prod["period_start"][0] if prod.height else None,
        "period_end": prod["period_end"][0] if prod.height else None,
        "reporting_year": ent["reporting_year"][0] if ent.height else None,
    }
    inv = settings.restricted_dir / "inventory" / "line_emissions.parquet"
    if inv.exists():
        data.lines = (
            pl.read_parquet(inv)
            .filter((pl.col("uscc") == uscc) & (pl.col("product_id") == pid))
            .sort(
                pl.col("stage").replace_strict({s: i for i, s in enumerate(STAGES)}, default=99, return_dtype=pl.Int64),
                "line_id",
            )
        )
    return data
