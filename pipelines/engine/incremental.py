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


def fingerprints(
    products: pl.DataFrame,
    technosphere: pl.DataFrame,
    biosphere: pl.DataFrame,
    line_info: pl.DataFrame,
    settings_key: dict,
) -> dict[str, str]:
    """products: one row per product process (process_id + its descriptive and quality columns);
    line_info: per line of a product (keyed by 'consumer'); settings_key: GWP set, weights, MC settings.
    Each process's own rows are digested once (a factor drawn on by 40,000 products is not re-read 40,000
    times); a product's fingerprint is the digest of its closure's digests in process-id order."""
    tech_rows = technosphere.select("consumer", "provider", "amount", "gsd2", "stage", "line_id")
    tech = _texts_by(tech_rows, "consumer")
    bio = _texts_by(biosphere.select("process_id", "gas", "amount_kg", "gsd2"), "process_id")
    info = _texts_by(line_info, "consumer")
    own = _texts_by(products, "process_id")
    common = json.dumps({**settings_key, "code": code_fingerprint()}, sort_keys=True, default=str).encode()
    closure = upstream_pairs(products["process_id"], tech_rows.select("consumer", "provider"))
    members = closure["member"].unique().to_list()
    digests = {
        p: hashlib.sha256(
            "\x1d".join((p, tech.get(p, ""), bio.get(p, ""), info.get(p, ""), own.get(p, ""))).encode()
        ).digest()
        for p in members
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
    included: joins level by level until no new pair appears (supply chains are a few levels deep)."""
    edges = edges.drop_nulls().unique()
    reach = pl.DataFrame({"product": products, "member": products}).unique()
    frontier = reach
    while frontier.height:
        step = frontier.join(edges, left_on="member", right_on="consumer").select(
            "product", pl.col("provider").alias("member")
        )
        frontier = step.unique().join(reach, on=["product", "member"], how="anti")
        reach = pl.concat([reach, frontier])
    return reach


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
    keep = [
        p for p, sha in engine["engine_products"].select("process_id", "inputs_sha256").rows() if reuse.get(p) == sha
    ]
    return {k: v.filter(~pl.col("process_id").is_in(keep)) if k.startswith("engine_") else v for k, v in engine.items()}


def merge_with_previous(
    new: dict[str, pl.DataFrame],
    previous: dict[str, pl.DataFrame] | None,
    fingerprints: dict[str, str] | None = None,
) -> tuple[dict[str, pl.DataFrame], dict]:
    """-> the marts to publish, and the change report. fingerprints: every product in force -> its inputs
    fingerprint, when `new` holds only the recomputed products (`recomputed_only`); without it, `new`
    holds every product."""
    fp_new = new["product_footprint"]
    previous = previous or {}
    prev_fp = previous.get("product_footprint")
    usable = (
        prev_fp is not None
        and "inputs_sha256" in prev_fp.columns
        and all(previous.get(m) is not None and previous[m].schema == new[m].schema for m in PER_PRODUCT_MARTS)
    )
    old_sha = dict(prev_fp.select("product_key", "inputs_sha256").rows()) if usable and prev_fp is not None else {}
    old_co2e = dict(prev_fp.select("product_key", "co2e_kg").rows()) if prev_fp is not None and prev_fp.height else {}
    new_sha = fingerprints if fingerprints is not None else dict(fp_new.select("product_key", "inputs_sha256").rows())
    keep = sorted(k for k, sha in new_sha.items() if old_sha.get(k) == sha)
    kept = set(keep)
    missing = set(new_sha) - kept - set(fp_new["product_key"].to_list())
    if missing:  # rows neither recomputed nor carried over: never publish a release without them
        raise ValueError(
            f"{len(missing)} product(s) were not recomputed and cannot be carried over from the previous "
            f"release (its marts are not usable): {sorted(missing)[:5]}"
        )
    merged = {}
    for mart, (by, descending) in PER_PRODUCT_MARTS.items():
        fresh = new[mart].filter(~pl.col("product_key").is_in(keep))
        carried = previous[mart].filter(pl.col("product_key").is_in(keep)) if keep else new[mart].clear()
        merged[mart] = pl.concat([carried, fresh]).sort(by, descending=descending, maintain_order=True)
    con = duckdb.connect()
    try:
        merged["product_benchmark"] = run_model(
            "marts/product_benchmark", con=con, product_footprint=merged["product_footprint"]
        )
    finally:
        con.close()
    new_co2e = dict(fp_new.select("product_key", "co2e_kg").rows())
    recomputed = sorted(k for k in new_sha if k in old_co2e and k not in kept)
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
    changed = [k for k in recomputed if k not in same]
    report = {
        "unchanged": len(keep),
        "recomputed_same_result": len(same),
        "added": sorted(k for k in new_sha if k not in old_co2e),
        "changed": [{"product_key": k, "old_co2e_kg": old_co2e[k], "new_co2e_kg": new_co2e[k]} for k in changed],
        "removed": sorted(k for k in old_co2e if k not in new_sha),
        "compared_with_previous": bool(usable),
    }
    return merged, report


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
