"""Product inventories from the current enterprise uploads (restricted zone): every accepted line,
allocated to its products, matched to a factor of a named release, per declared unit, with its primary
data share and pedigree scores. The footprint engine (issue 4) takes these lines as its foreground.

Primary data share follows the PACT definition (share of the PCF computed from primary data):
  - emissions from the site's own energy, fuel, process emissions, refrigerants, water and waste
    computed from measured activity data (data type primary or site-specific) count as primary;
  - purchased inputs count with the supplier's own primary share when the supplier's footprint is used;
  - everything computed with secondary (database) factors for upstream processes counts as secondary.

Line pedigree (1 best .. 5 worst): reliability from data type and evidence (meter 1, invoice or
document 2, no evidence 3, estimate 4; secondary activity data 3); completeness from the period the line
covers; temporal, geographical and technological as the worse of the activity data (reporting year,
the site) and the matched factor's representativeness (year gap, geography fallback step, match kind).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipelines.common import quality
from pipelines.common.parts import Parts
from pipelines.common.splice import spliced
from pipelines.config import Settings
from pipelines.enterprise import store
from pipelines.enterprise.codes import PRIMARY_DATA_TYPES
from pipelines.enterprise.plausibility import with_holds
from pipelines.matching.lines import PRODUCT_REF_PREFIX, FactorIndex, Match, match_line

OWN_SITE_KINDS = ("energy", "fuel", "direct_emission", "refrigerant", "water", "waste")
MARKET_ZERO_CONTRACTS = ("green_certificate", "direct_supply")
EVIDENCE_RELIABILITY = {"meter": 1, "invoice": 2, "document": 2, "estimate": 4}


def primary_fraction(line: dict, method: str) -> float:
    if method == "supplier_specific":
        return float(line.get("supplier_primary_share") or 0.0)
    if line["kind"] in OWN_SITE_KINDS and line["data_type"] in PRIMARY_DATA_TYPES:
        return 1.0
    return 0.0


def reliability(line: dict) -> int:
    if line["data_type"] not in PRIMARY_DATA_TYPES:
        return 3
    return EVIDENCE_RELIABILITY.get(line.get("evidence_kind") or "", 3)


def completeness(line: dict) -> int:
    start, end = line.get("period_start"), line.get("period_end")
    if start is None or end is None:
        return 2  # a reporting-period total without its own dates
    days = (end - start).days + 1
    return 1 if days >= 360 else 2 if days >= 180 else 3 if days >= 90 else 4


def line_geography(line: dict, site_geography: str | None) -> str | None:
    """Where a line's factor should come from: a material's declared origin, else the site's geography."""
    if line["kind"] in ("material", "packaging") and line.get("origin_geography"):
        return line["origin_geography"]
    return site_geography


SCOPE_TABLES = ("product", "activity", "allocation", "facility", "enterprise")
MATCH_BATCH_UPLOADS = 200  # uploads matched per batch (bounded memory: ~40,000 lines' Python objects at a time)


def in_scope(settings: Settings, tables: tuple[str, ...] = SCOPE_TABLES) -> dict[str, pl.DataFrame]:
    """The uploads in force (restricted store) plus the reference product models (data/raw/models), as the
    same tables: product, activity, allocation, facility, enterprise (or those asked for)."""
    from pipelines.enterprise.reference_models import load_models

    models = load_models(settings.models_dir)
    out = {}
    products = store.read_current(settings, "product")
    # only products in force for more than one year are renamed: joining every table's rows against all
    # 480,000 products to rename none was 1 s of every build at 10,000 uploads (issue 20)
    latest = (
        products.group_by("uscc", "product_id")
        .agg(pl.col("reporting_year").max().alias("_latest"), pl.col("reporting_year").n_unique().alias("_years"))
        .filter(pl.col("_years") > 1)
        .drop("_years")
        if products.height
        else None
    )
    for table in tables:
        uploads = with_period(products if table == "product" else store.read_current(settings, table), latest)
        frames = [f for f in (uploads, getattr(models, table if table != "product" else "products")) if f.height]
        out[table] = pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
    return out


YEAR_SEPARATOR = "@"


def with_period(frame: pl.DataFrame, latest: pl.DataFrame | None) -> pl.DataFrame:
    """Product identity includes the reporting period. Several years of one enterprise are in force side by
    side: the newest year of each (credit code, product id) keeps the plain id (`product:<uscc>/<id>` is its
    current footprint), earlier years become `<id>@<year>` (`product:<uscc>/<id>@2023`), in the product,
    activity and allocation tables alike. Ids cannot contain '@' (id.invalid), so this never collides."""
    if (
        latest is None
        or latest.is_empty()
        or frame.is_empty()
        or "product_id" not in frame.columns
        or "reporting_year" not in frame.columns
    ):
        return frame
    return (
        frame.join(latest, on=["uscc", "product_id"], how="left", maintain_order="left")
        .with_columns(
            pl.when(pl.col("reporting_year") < pl.col("_latest"))
            .then(pl.format("{}" + YEAR_SEPARATOR + "{}", "product_id", "reporting_year"))
            .otherwise(pl.col("product_id"))
            .alias("product_id")
        )
        .drop("_latest")
    )


def build_inventory(
    settings: Settings,
    factors: pl.DataFrame | Parts,
    release_version: str | None,
    gwp_set: str,
    fuel_property: pl.DataFrame | None = None,
    cache: bool = False,
) -> dict[str, pl.DataFrame]:
    """cache: take the lines of enterprises whose uploads and index inputs did not change from the previous
    build's (enterprise/matched_cache.py) and keep this build's for the next; the result is the same."""
    from pipelines.enterprise import matched_cache
    from pipelines.matching import mappings

    scope = in_scope(settings)
    products, activities, allocation = scope["product"], scope["activity"], scope["allocation"]
    facilities, enterprises = scope["facility"], scope["enterprise"]
    if products.is_empty() or activities.is_empty():
        return {"line_emissions": pl.DataFrame(), "product_summary": pl.DataFrame(), "mapping_queue": pl.DataFrame()}
    confirmed = mappings.read(settings)
    reused: set[str] = set()
    cache_key, uploads, cached = "", {}, None
    if cache:
        cache_key = matched_cache.index_key(settings, factors, fuel_property, confirmed, gwp_set, release_version)
        uploads = matched_cache.upload_keys(activities, products)
        cached = matched_cache.load(settings, cache_key)
        reused = matched_cache.reusable(cached, uploads)
    if reused:  # match only the other enterprises' lines
        fresh_uploads = activities.filter(~pl.col("uscc").is_in(sorted(reused)))["upload_id"].unique()
        activities = activities.filter(pl.col("upload_id").is_in(fresh_uploads))
        allocation = allocation.filter(pl.col("upload_id").is_in(fresh_uploads))
    # the rows of the uploads being matched, as look-ups, and the products their lines draw on (not the
    # 480,000 products of 10,000 uploads: issue 20)
    matching = activities["upload_id"].unique().implode()
    refs = activities["factor_ref"].drop_nulls().unique() if "factor_ref" in activities.columns else pl.Series([])
    drawn_on = products.filter(
        pl.format("{}{}/{}", pl.lit(PRODUCT_REF_PREFIX), "uscc", "product_id").is_in(refs.cast(pl.String).implode())
    )
    lookups = [
        *activities["item"].to_list(),
        *(activities["factor_ref"].to_list() if "factor_ref" in activities.columns else []),
    ]
    index = FactorIndex(factors, drawn_on, lookups, fuel_property, confirmed)
    facility_geo = {
        (r["upload_id"], r["facility_id"]): r["geography_code"]
        for r in facilities.filter(pl.col("upload_id").is_in(matching)).iter_rows(named=True)
    }
    years = {
        r["upload_id"]: r["reporting_year"]
        for r in enterprises.filter(pl.col("upload_id").is_in(matching)).iter_rows(named=True)
    }
    products_matching = products.filter(pl.col("upload_id").is_in(matching))
    ordered = allocation.sort("upload_id", "line_id", "product_id")
    per_upload = ordered.group_by("upload_id", maintain_order=True).len()["len"].to_list()
    frames: list[pl.DataFrame] = []
    names: list[str] = []
    # A batch of uploads at a time (their lines and products as dicts, their rows as tuples, then a frame): at
    # 10,000 uploads the Python objects of every line at once were most of a full build's 18 GB peak (issue
    # 20). A match is keyed by its upload, so batches by upload match exactly as one pass; rows keep the order.
    start = 0
    for first in range(0, len(per_upload), MATCH_BATCH_UPLOADS):
        height = sum(per_upload[first : first + MATCH_BATCH_UPLOADS])
        shares = ordered.slice(start, height)
        start += height
        batch = shares["upload_id"].unique().implode()
        product_by = {
            (r["upload_id"], r["product_id"]): r
            for r in products_matching.filter(pl.col("upload_id").is_in(batch)).iter_rows(named=True)
        }
        line_by = {
            (r["upload_id"], r["line_id"]): r
            for r in activities.filter(pl.col("upload_id").is_in(batch)).iter_rows(named=True)
        }
        rows: list[tuple] = []  # tuples, not dicts: a dict per row is ~2 KB
        matched: dict[tuple, Match] = {}
        for share in shares.iter_rows(named=True):
            line = line_by[(share["upload_id"], share["line_id"])]
            product = product_by[(share["upload_id"], share["product_id"])]
            year = years[share["upload_id"]]
            site = facility_geo.get((share["upload_id"], line["facility_id"]))
            geo = line_geography(line, site)
            key = (share["upload_id"], share["line_id"], geo, year)
            m = matched.get(key)
            if m is None:  # a plant's line shared by many products is matched once
                m = matched[key] = match_line(line, index, geo, year)
            declared_units = (
                product["annual_output"] * product["declared_units_per_output_unit"] / product["declared_unit_amount"]
            )
            per_du = (
                None if m.amount_in_factor_unit is None else m.amount_in_factor_unit * share["share"] / declared_units
            )
            # a line drawing on another enterprise product gets its CO2e from the network solve (engine.results)
            co2e = None if per_du is None or m.factor_co2e_per_unit is None else per_du * m.factor_co2e_per_unit
            market = (
                0.0
                if (
                    co2e is not None
                    and line["kind"] == "energy"
                    and line.get("electricity_contract") in MARKET_ZERO_CONTRACTS
                )
                else co2e
            )
            pf = primary_fraction(line, m.method)
            scores = {
                "dq_reliability": reliability(line),
                "dq_completeness": completeness(line),
                "dq_temporal": max(1, m.dq_temporal),
                "dq_geographical": max(1 if geo == site else 2, m.dq_geographical),
                "dq_technological": 1
                if m.method == "supplier_specific"
                else max(1 if line["data_type"] in PRIMARY_DATA_TYPES else 2, m.dq_technological),
            }
            row = {
                "upload_id": share["upload_id"],
                "uscc": line["uscc"],
                "reporting_year": year,
                "product_id": share["product_id"],
                "line_id": line["line_id"],
                "stage": line["stage"],
                "kind": line["kind"],
                "item": line["item"],
                "amount": line["amount"],
                "unit": line["unit"],
                "data_type": line["data_type"],
                "allocation_basis": share["basis"],
                "allocation_share": share["share"],
                "allocation_basis_value": share["basis_value"],
                "declared_unit": product["declared_unit"],
                "declared_units_in_period": declared_units,
                "amount_per_declared_unit": per_du,
                "match_method": m.method,
                "factor_id": m.factor_id,
                "factor_name": m.factor_name,
                "factor_unit": m.factor_unit,
                "factor_co2e_per_unit": m.factor_co2e_per_unit,
                "factor_source_id": m.source_id,
                "factor_reference_year": m.reference_year,
                "geography_requested": m.geography_requested,
                "geography_used": m.geography_used,
                "geography_fallback": m.geography_step,
                "match_note": m.note,
                "match_precedence": m.precedence,
                "selection_rule": m.selection_rule,
                "factor_gsd2": m.factor_gsd2,
                "co2e_kg_per_declared_unit": co2e,
                "co2e_market_kg_per_declared_unit": market,
                "electricity_contract": line.get("electricity_contract"),
                "primary_fraction": pf,
                **scores,
                "factors_from": release_version or "release being built",
                "gwp_set": gwp_set,
            }
            names = names or list(row)
            rows.append(tuple(row.values()))
        if rows:
            frames.append(pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None))
    lines = (
        pl.concat(frames, how="vertical_relaxed").with_columns(
            quality.dqr_expr().alias("dqr"), pl.col("match_precedence").cast(pl.String)
        )
        if frames
        else pl.DataFrame()
    )
    queue = pl.DataFrame(
        [{**e, "line_ids": ",".join(e["line_ids"])} for e in index.pending.values()],
        schema=MAPPING_QUEUE_SCHEMA,
    )
    if reused and cached is not None:  # in the order a full build gives: allocation order, queue by key
        # both already in that order, their uploads disjoint: the fresh uploads' lines are spliced in; a
        # product's summary row depends on its lines only, so the reused enterprises' rows are kept too
        # (summarising 3.4 million lines was 1.8 s of every one-upload build at 10,000 uploads)
        again = pl.col("uscc").is_in(sorted(reused))
        fresh_summary = (
            with_holds(
                summarise(lines, release_version, gwp_set),
                lines,
                products.filter(pl.col("uscc").is_in(lines["uscc"].unique().implode())),
            )
            if lines.height
            else None
        )
        lines = spliced(cached.lines.filter(again), lines, "upload_id", ["upload_id", "line_id", "product_id"])
        summary = cached.summary.filter(again)
        if fresh_summary is not None:
            summary = spliced(summary, fresh_summary, "upload_id", ["upload_id"])
        queue = pl.concat([cached.queue.filter(again), queue])
    else:
        summary = with_holds(summarise(lines, release_version, gwp_set), lines, products)
    queue = queue.sort("uscc", "text", "unit", maintain_order=True)
    if cache:
        matched_cache.save(settings, cache_key, uploads, lines, queue, summary)
    return {"line_emissions": lines, "product_summary": summary, "mapping_queue": queue}


# lines the matcher could not place with confidence, one row per enterprise, text and unit (restricted zone)
MAPPING_QUEUE_SCHEMA = {
    "uscc": pl.String,
    "text": pl.String,
    "unit": pl.String,
    "geography": pl.String,
    "year": pl.Int64,
    "line_ids": pl.String,
    "best_score": pl.Float64,
    "candidates": pl.String,
    "note": pl.String,
}


def summarise(lines: pl.DataFrame, release_version: str | None, gwp_set: str) -> pl.DataFrame:
    """Per product: CO2e per declared unit (sum of its lines; lines drawing on another enterprise product get
    theirs from the network solve, see engine.results), primary data share and pedigree scores weighted by
    each line's share of the emissions (PACT)."""
    matched = lines.filter(pl.col("co2e_kg_per_declared_unit").is_not_null())
    weight = pl.col("co2e_kg_per_declared_unit").abs()
    unmatched = pl.col("match_method") == "unmatched"
    return (
        lines.group_by("upload_id", "uscc", "product_id", maintain_order=True)
        .agg(
            pl.col("declared_unit").first(),
            pl.col("co2e_kg_per_declared_unit").sum().alias("co2e_kg_per_declared_unit"),
            pl.col("co2e_market_kg_per_declared_unit").sum().alias("co2e_market_kg_per_declared_unit"),
            pl.len().alias("lines"),
            unmatched.sum().alias("lines_unmatched"),
            pl.col("line_id").filter(unmatched).str.join(",").alias("unmatched_line_ids"),
        )
        .join(
            matched.group_by("upload_id", "product_id").agg(
                (
                    (pl.col("co2e_kg_per_declared_unit") * pl.col("primary_fraction")).sum()
                    / pl.col("co2e_kg_per_declared_unit").sum()
                ).alias("primary_data_share"),
                *[((pl.col(c) * weight).sum() / weight.sum()).alias(c) for c in quality.SCORES],
            ),
            on=["upload_id", "product_id"],
            how="left",
        )
        .with_columns(
            quality.dqr_expr().alias("dqr"),
            pl.lit(release_version or "release being built").alias("factors_from"),
            pl.lit(gwp_set).alias("gwp_set"),
        )
    )


def write_inventory(
    settings: Settings, tables: dict[str, pl.DataFrame], same_as: dict[str, Path] | None = None
) -> None:
    """same_as: table -> a file already holding exactly its rows (the matched lines just kept): linked, not
    written again (3 s at 10,000 uploads)."""
    from pipelines.common.atomic import link_or_copy

    target = settings.restricted_dir / "inventory"
    target.mkdir(parents=True, exist_ok=True)
    same_as = same_as or {}
    with store.locked(settings):
        for name, frame in tables.items():
            if frame.height and name in same_as:
                link_or_copy(same_as[name], target / f"{name}.parquet")
            elif frame.height:
                store.write_table(frame, target / f"{name}.parquet")
            else:
                (target / f"{name}.parquet").unlink(missing_ok=True)
        store.rebuild_views(settings)
