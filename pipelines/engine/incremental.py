"""Incremental product marts: recompute what changed, keep what did not, say which is which.

Every product gets an inputs fingerprint (SHA-256) over everything its mart rows depend on: the lines and
factor values of its whole upstream supply chain in the network (other enterprises' products it draws
on, their lines, the factors' gas amounts and uncertainties), its own descriptive fields, quality scores,
the GWP set, the Monte Carlo settings and the code of the engine and the mart SQL. The network is solved
in full every run (cheap); then, per product:
  - fingerprint equal to the previous release's: its rows in product_footprint, _stage, _gas and
    product_contribution are carried over from that release as they are (not rewritten, not re-rounded;
    the keyed Monte Carlo would draw the same numbers anyway);
  - otherwise its new rows are used.
product_benchmark ranks products within a category, so it is recomputed over the merged footprints (a
peer's change can move a rank). The run reports products added, changed (old and new CO2e), removed and
unchanged. Release files stay whole Parquet tables: an unchanged table keeps its content hash and is not
stored again (release.py), a changed one is a new object.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import polars as pl

from pipelines.common.splice import spliced, without
from pipelines.common.sqlmodels import run_model
from pipelines.config import PACKAGE_DIR, SQL_DIR

PER_PRODUCT_MARTS = {  # mart -> sort order of its rows (as its SQL model orders them)
    "product_footprint": (["product_key"], [False]),
    "product_footprint_stage": (["product_key", "stage"], [False, False]),
    "product_footprint_gas": (["product_key", "gas"], [False, False]),
    "product_contribution": (["product_key", "share", "line_id"], [False, True, False]),
}


def code_fingerprint() -> str:
    """The engine's code, the mart SQL and the library versions: a change in any recomputes every product."""
    h = hashlib.sha256()
    for path in sorted(
        [
            *(PACKAGE_DIR / "engine").glob("*.py"),
            *(SQL_DIR / "marts").glob("*.sql"),
            *(PACKAGE_DIR / "matching").glob("*.py"),
            PACKAGE_DIR / "enterprise" / "inventory.py",
        ]
    ):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    # the libraries that compute and shape the numbers: an upgrade recomputes every product
    import numpy
    import scipy

    h.update(repr([m.__version__ for m in (duckdb, pl, numpy, scipy)]).encode())
    return h.hexdigest()


def _texts_by(frame: pl.DataFrame, key: str) -> dict[str, str]:
    """key -> its rows as one exact text (every column as text, floats in shortest round-trip form, rows in
    the order of their texts): what a process's fingerprint digests, built in Polars, not row by row."""
    if frame.is_empty():
        return {}
    row = pl.concat_str([pl.col(c).cast(pl.String).fill_null("\x00") for c in frame.columns], separator="\x1f")
    return dict(
        frame.select(pl.col(key), row.alias("_row"))
        .sort(key, "_row")  # a canonical order of the rows: their texts
        .group_by(key, maintain_order=True)
        .agg(pl.col("_row").str.join("\x1e"))
        .rows()
    )


# Change detection between builds: each process's rows hashed natively (Polars' row hash, two seeds, the
# part's index in the seed) and summed per process (wrapping: order-free, a repeated row counts twice) -> 128
# bits per process. The hash sees every value the fingerprint's texts show: it hashes -0.0 like 0.0, so the
# sign of a zero is hashed beside each float column. Kept with every product's fingerprint (`load_state` /
# `save_state`), so the next build digests the texts of the changed products' closures only (issue 20: 22 s of
# SHA-256 at 10,000 uploads for one changed upload; row hashes 4x faster than hashing the rows' texts). Polars'
# hash is stable within a version; the version is in the common key.
_SEEDS = (0x5EED_0001, 0x5EED_1001)
STATE_SCHEMA = {"process_id": pl.String, "h1": pl.UInt64, "h2": pl.UInt64, "inputs_sha256": pl.String}


def fingerprint_frame(fingerprints: dict[str, str], key: str = "process_id") -> pl.DataFrame:
    """key -> inputs fingerprint as a frame to join on (a dict of 480,000 keys is slow to look up row by row)."""
    return pl.DataFrame(
        {key: list(fingerprints), "inputs_sha256": list(fingerprints.values())},
        schema={key: pl.String, "inputs_sha256": pl.String},
    )


def _hashed_rows(frame: pl.DataFrame, key: str, part: int) -> pl.DataFrame:
    floats = [c for c, dtype in frame.schema.items() if dtype.is_float()]
    signed = frame.with_columns(
        [((pl.col(c) == 0) & (1 / pl.col(c) < 0)).alias(f"\x00negative zero {c}") for c in floats]
    )
    return pl.DataFrame(
        {
            "process_id": frame[key].cast(pl.String),
            "h1": signed.hash_rows(_SEEDS[0] + part),
            "h2": signed.hash_rows(_SEEDS[1] + part),
        }
    )


def process_hashes(parts: dict[str, tuple[pl.DataFrame, str]]) -> pl.DataFrame:
    """process_id, h1, h2 over every row of every part ({tag: (frame, key column)})."""
    frames = [_hashed_rows(frame, key, k) for k, (frame, key) in enumerate(parts.values()) if frame.height]
    if not frames:
        return pl.DataFrame(schema={k: STATE_SCHEMA[k] for k in ("process_id", "h1", "h2")})
    return pl.concat(frames).group_by("process_id").agg(pl.col("h1").sum(), pl.col("h2").sum())


def unique_edges(technosphere: pl.DataFrame) -> pl.DataFrame:
    """(consumer, provider) once each: what the closure walks join on."""
    return technosphere.select("consumer", "provider").drop_nulls().unique()


def downstream(seeds: pl.Series, edges: pl.DataFrame) -> pl.Series:
    """Every process that draws (directly or through others) on one of `seeds`, seeds included; edges from
    `unique_edges`."""
    reach = pl.DataFrame({"process_id": seeds.cast(pl.String)}).unique()
    frontier = reach
    while frontier.height:
        step = frontier.join(edges, left_on="process_id", right_on="provider").select(
            pl.col("consumer").alias("process_id")
        )
        frontier = step.unique().join(reach, on="process_id", how="anti")
        reach = pl.concat([reach, frontier])
    return reach["process_id"]


def fingerprints(
    products: pl.DataFrame,
    technosphere: pl.DataFrame,
    biosphere: pl.DataFrame,
    line_info: pl.DataFrame,
    settings_key: dict,
    kept: tuple[pl.DataFrame, str] | None = None,
    edges: pl.DataFrame | None = None,
) -> tuple[dict[str, str], pl.DataFrame, str]:
    """products: one row per product process (process_id + its descriptive and quality columns);
    line_info: per line of a product (keyed by 'consumer'); settings_key: GWP set, weights, MC settings.
    kept: the previous build's (state, common key) ("fingerprint_state" of engine.results.compute), or None.
    edges: `unique_edges(technosphere)` when the caller has it.

    -> (product -> fingerprint, this build's state, its common key). A product's fingerprint is the SHA-256
    of the common key and the digests of its closure's processes in process-id order, each process's digest
    over its own rows as exact texts. With `kept` under the same common key, only products whose closure
    holds a process whose rows changed (or that is new or gone) are digested; the others keep their kept
    fingerprint, which is what digesting them again would give (their closure and its rows are the same)."""
    tech_rows = technosphere.select("consumer", "provider", "amount", "gsd2", "stage", "line_id")
    bio_rows = biosphere.select("process_id", "gas", "amount_kg", "gsd2")
    common = json.dumps({**settings_key, "code": code_fingerprint()}, sort_keys=True, default=str).encode()
    common_key = hashlib.sha256(common).hexdigest()
    # once: deduplicating 2,000,000 edges per walk was 0.7 s each (issue 20)
    edges = unique_edges(tech_rows) if edges is None else edges
    hashes = process_hashes(
        {
            "t": (tech_rows, "consumer"),
            "b": (bio_rows, "process_id"),
            "i": (line_info, "consumer"),
            "o": (products, "process_id"),
        }
    )
    ids = products["process_id"]
    todo = ids
    previous: dict[str, str] = {}
    if kept is not None and kept[1] == common_key and kept[0].height:
        state = kept[0]
        compared = hashes.join(state.select("process_id", "h1", "h2"), on="process_id", how="full", coalesce=True)
        changed = compared.filter(
            pl.col("h1").is_null()
            | pl.col("h1_right").is_null()
            | (pl.col("h1") != pl.col("h1_right"))
            | (pl.col("h2") != pl.col("h2_right"))
        )["process_id"]
        previous = dict(state.drop_nulls("inputs_sha256").select("process_id", "inputs_sha256").rows())
        affected = downstream(changed, edges)
        todo = ids.filter(
            ids.is_in(affected.implode()) | ~ids.is_in(pl.Series(list(previous), dtype=pl.String).implode())
        )
    shas = {p: previous[p] for p in ids.filter(~ids.is_in(todo.implode())).to_list()}
    shas.update(_digest_closures(todo, products, tech_rows, bio_rows, line_info, common, edges))
    state = hashes.join(fingerprint_frame(shas), on="process_id", how="left").sort("process_id")
    return shas, state, common_key


def _digest_closures(
    todo: pl.Series,
    products: pl.DataFrame,
    tech_rows: pl.DataFrame,
    bio_rows: pl.DataFrame,
    line_info: pl.DataFrame,
    common: bytes,
    edges: pl.DataFrame,
) -> dict[str, str]:
    """Fingerprints of the products in `todo`: each process's own rows digested once (a factor drawn on by
    40,000 products is not re-read 40,000 times), only the processes in their closures."""
    if todo.is_empty():
        return {}
    closure = upstream_pairs(todo, edges)
    members = closure["member"].unique()
    inside = members.implode()
    tech = _texts_by(tech_rows.filter(pl.col("consumer").is_in(inside)), "consumer")
    bio = _texts_by(bio_rows.filter(pl.col("process_id").is_in(inside)), "process_id")
    info = _texts_by(line_info.filter(pl.col("consumer").is_in(inside)), "consumer")
    own = _texts_by(products.filter(pl.col("process_id").is_in(inside)), "process_id")
    digests = {
        p: hashlib.sha256(
            "\x1d".join((p, tech.get(p, ""), bio.get(p, ""), info.get(p, ""), own.get(p, ""))).encode()
        ).digest()
        for p in members.to_list()
    }
    grouped = (
        closure.sort("product", "member")
        .with_columns(pl.col("member").replace_strict(digests, return_dtype=pl.Binary).alias("_digest"))
        .group_by("product", maintain_order=True)
        .agg(pl.col("_digest"))
    )
    # sha256(common + digests of the closure in process-id order)
    return {pid: hashlib.sha256(common + b"".join(ds)).hexdigest() for pid, ds in grouped.rows()}


def upstream_pairs(products: pl.Series, edges: pl.DataFrame) -> pl.DataFrame:
    """(product, member) for every process in each product's upstream closure, itself included, loops
    included: joins level by level until no new pair appears (supply chains are a few levels deep); edges
    from `unique_edges`."""
    reach = pl.DataFrame({"product": products, "member": products}).unique()
    frontier = reach
    while frontier.height:
        step = frontier.join(edges, left_on="member", right_on="consumer").select(
            "product", pl.col("provider").alias("member")
        )
        frontier = step.unique().join(reach, on=["product", "member"], how="anti")
        reach = pl.concat([reach, frontier])
    return reach


def state_path(settings) -> Path:
    return settings.restricted_dir / "engine" / "fingerprint_state.parquet"


def load_state(settings) -> tuple[pl.DataFrame, str] | None:
    """The previous build's per-process hashes and fingerprints, with their common key; None if absent or
    unreadable (every product is then digested)."""
    from pipelines.common import parquet_meta

    path = state_path(settings)
    meta = parquet_meta.read_meta(path) if path.exists() else None
    if not meta or "common" not in meta:
        return None
    try:
        frame = pl.read_parquet(path)
    except (OSError, pl.exceptions.ComputeError):
        return None
    return (frame, meta["common"]) if frame.schema == pl.Schema(STATE_SCHEMA) else None


def save_state(settings, state: tuple[pl.DataFrame, str] | None) -> None:
    from pipelines.common import parquet_meta

    if state is None:
        state_path(settings).unlink(missing_ok=True)
        return
    parquet_meta.write(state_path(settings), state[0], {"common": state[1]})


def reusable(previous: dict[str, pl.DataFrame] | None) -> dict[str, str] | None:
    """product_key (the product's process id) -> inputs fingerprint of the previous release's rows, when
    they can be carried over; None when there are none (every product is computed in full)."""
    fp = (previous or {}).get("product_footprint")
    if fp is None or "inputs_sha256" not in fp.columns:
        return None
    return dict(fp.select("product_key", "inputs_sha256").rows())


def recomputed_only(engine: dict, reuse: dict[str, str] | None) -> dict:
    """The engine's per-product tables without the products whose rows will be carried over (engine.results
    drew no Monte Carlo for them), so the mart SQL runs for the recomputed ones only."""
    if not engine or reuse is None:
        return engine
    keep = engine["engine_products"].join(fingerprint_frame(reuse), on=["process_id", "inputs_sha256"])["process_id"]
    keep = keep.implode()
    return {k: v.filter(~pl.col("process_id").is_in(keep)) if k.startswith("engine_") else v for k, v in engine.items()}


def merge_with_previous(
    new: dict[str, pl.DataFrame],
    previous: dict[str, pl.DataFrame] | None,
    fingerprints: dict[str, str] | pl.DataFrame | None = None,
) -> tuple[dict[str, pl.DataFrame], dict]:
    """-> the marts to publish, and the change report. fingerprints: every product in force -> its inputs
    fingerprint (a dict, or a frame of product_key, inputs_sha256), when `new` holds only the recomputed
    products (`recomputed_only`); without it, `new` holds every product. Set work is done with joins (at
    480,000 products, lists and dicts of keys cost seconds: issue 20)."""
    fp_new = new["product_footprint"]
    previous = previous or {}
    prev_fp = previous.get("product_footprint")
    usable = (
        prev_fp is not None
        and "inputs_sha256" in prev_fp.columns
        and all(previous.get(m) is not None and previous[m].schema == new[m].schema for m in PER_PRODUCT_MARTS)
    )
    if fingerprints is None:
        new_sha = fp_new.select("product_key", "inputs_sha256")
    elif isinstance(fingerprints, dict):
        new_sha = fingerprint_frame(fingerprints, "product_key")
    else:
        new_sha = fingerprints.select("product_key", "inputs_sha256")
    old = (  # the previous products, their fingerprints (null in marts from before fingerprints) and CO2e
        prev_fp.select(
            "product_key",
            pl.col("inputs_sha256")
            if "inputs_sha256" in prev_fp.columns
            else pl.lit(None, dtype=pl.String).alias("inputs_sha256"),
            "co2e_kg",
        )
        if prev_fp is not None and prev_fp.height
        else pl.DataFrame(schema={"product_key": pl.String, "inputs_sha256": pl.String, "co2e_kg": pl.Float64})
    )
    keep = (
        new_sha.join(old.select("product_key", "inputs_sha256"), on=["product_key", "inputs_sha256"])[
            "product_key"
        ].sort()
        if usable
        else pl.Series("product_key", [], dtype=pl.String)
    )
    kept = keep.implode()
    missing = new_sha.filter(
        ~pl.col("product_key").is_in(kept) & ~pl.col("product_key").is_in(fp_new["product_key"].implode())
    )
    if missing.height:  # rows neither recomputed nor carried over: never publish a release without them
        raise ValueError(
            f"{missing.height} product(s) were not recomputed and cannot be carried over from the previous "
            f"release (its marts are not usable): {sorted(missing['product_key'].to_list())[:5]}"
        )
    merged = {}
    # the previous rows not carried over (recomputed or gone: a few at one upload) name the filter
    dropped = old["product_key"].filter(~old["product_key"].is_in(kept))
    for mart, (by, descending) in PER_PRODUCT_MARTS.items():
        fresh = new[mart].filter(~pl.col("product_key").is_in(kept))
        carried = without(previous[mart], "product_key", dropped) if keep.len() else new[mart].clear()
        merged[mart] = _merged(carried, fresh, by, descending)
    con = duckdb.connect()
    try:
        merged["product_benchmark"] = run_model(
            "marts/product_benchmark", con=con, product_footprint=merged["product_footprint"]
        )
    finally:
        con.close()
    in_force = new_sha["product_key"].implode()
    recomputed = (
        new_sha.filter(pl.col("product_key").is_in(old["product_key"].implode()) & ~pl.col("product_key").is_in(kept))[
            "product_key"
        ]
        .sort()
        .to_list()
    )
    # recomputed because an input or the code changed: 'changed' only when the footprint row differs
    same = set()
    if prev_fp is not None and recomputed:
        cols = [c for c in fp_new.columns if c != "inputs_sha256" and c in prev_fp.columns]
        old_rows = {r[0]: r for r in prev_fp.filter(pl.col("product_key").is_in(recomputed)).select(cols).iter_rows()}
        same = {
            r[0]
            for r in fp_new.filter(pl.col("product_key").is_in(recomputed)).select(cols).iter_rows()
            if old_rows.get(r[0]) == r
        }
    old_co2e = dict(old.filter(pl.col("product_key").is_in(recomputed)).select("product_key", "co2e_kg").rows())
    new_co2e = dict(fp_new.filter(pl.col("product_key").is_in(recomputed)).select("product_key", "co2e_kg").rows())
    changed = [k for k in recomputed if k not in same]
    report = {
        "unchanged": keep.len(),
        "recomputed_same_result": len(same),
        "added": sorted(
            new_sha.filter(~pl.col("product_key").is_in(old["product_key"].implode()))["product_key"].to_list()
        ),
        "changed": [{"product_key": k, "old_co2e_kg": old_co2e[k], "new_co2e_kg": new_co2e[k]} for k in changed],
        "removed": sorted(old.filter(~pl.col("product_key").is_in(in_force))["product_key"].to_list()),
        "compared_with_previous": bool(usable),
    }
    return merged, report


def _merged(carried: pl.DataFrame, fresh: pl.DataFrame, by: list[str], descending: list[bool]) -> pl.DataFrame:
    """carried + fresh in the mart's order. Their products are disjoint and each is in the mart's order already
    (the previous release's rows, the SQL's rows), so the fresh products' rows are spliced in (sorting
    3,400,000 contribution rows by three keys took 0.5 s, Polars' merge_sorted 1.2 s, the splice 4 ms)."""
    return spliced(carried, fresh, "product_key", by, descending)


def previous_marts(release_path: Path | None) -> dict[str, pl.DataFrame] | None:
    if release_path is None:
        return None
    out = {}
    for mart in PER_PRODUCT_MARTS:
        path = release_path / f"{mart}.parquet"
        if not path.exists():
            return None
        out[mart] = pl.read_parquet(path)
    return out
