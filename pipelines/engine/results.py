"""Engine results for the enterprise products: one network solve, then the per-product tables the SQL
marts (sql/marts/) shape into the release's product_footprint family."""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.engine import foreground, incremental, montecarlo
from pipelines.engine.network import Solver, build, gwp_weights, solve_footprints, with_position
from pipelines.enterprise.inventory import summarise
from pipelines.enterprise.plausibility import HOLD_COLUMN

MC_ITERATIONS = 1000
MC_SEED = 20241124


def compute(
    lines: pl.DataFrame,
    products: pl.DataFrame,
    summary: pl.DataFrame,
    factors: pl.DataFrame,
    factor_gas: pl.DataFrame,
    gwp_set: str,
    iterations: int = MC_ITERATIONS,
    seed: int = MC_SEED,
    reuse: dict[str, str] | None = None,
    kept: tuple[pl.DataFrame, str] | None = None,
) -> dict:
    """reuse: product process id -> inputs fingerprint of rows the caller already has (the previous
    release's); a product whose fingerprint is the same gets no Monte Carlo draws here (its percentiles
    are NaN and the caller carries its rows over, engine.incremental). None: draw for every product.
    kept: the previous build's "fingerprint_state" (state, key) (incremental.fingerprints): only the products
    whose closure changed since are digested. The result's "fingerprint_state" is this build's."""
    if products.is_empty() or lines.is_empty():
        return {}
    processes, tech, bio, given = foreground.build_tables(lines, products, factors, factor_gas)
    net = build(processes, tech, bio)
    solver = Solver(net)
    fp = solve_footprints(net, gwp_set, solver, given)
    w = gwp_weights(net.gases, gwp_set, given)
    # positions by join, not by a 500,000-key dict (issue 20)
    positions = net.positions
    lines, summary = resolve_linked_lines(lines, summary, fp.co2e, positions)
    line_info = lines.select(
        pl.format("{}{}/{}", pl.lit(foreground.PRODUCT_PREFIX), "uscc", "product_id").alias("consumer"),
        "line_id",
        "kind",
        "item",
        "factor_name",
        "factor_source_id",
        "match_method",
        "match_precedence",
        "selection_rule",
        "geography_used",
        "geography_fallback",
        "electricity_contract",
        "co2e_kg_per_declared_unit",
        "co2e_market_kg_per_declared_unit",
    )
    product_rows = products.select(
        pl.format("{}{}/{}", pl.lit(foreground.PRODUCT_PREFIX), "uscc", "product_id").alias("process_id"),
        "uscc",
        "product_id",
        "product_name",
        "category",
        "declared_unit",
        "benchmark_kgco2e",
        (pl.col("reporting_year") if "reporting_year" in products.columns else pl.lit(None))
        .cast(pl.Int32)
        .alias("reporting_year"),
    )
    pos = with_position(product_rows.select("process_id"), "process_id", positions, "_pos")["_pos"].to_numpy()
    biogenic = (
        sum(fp.per_gas[k][pos] * w[k] for k, g in enumerate(net.gases) if "biogenic" in g.lower())
        if any("biogenic" in g.lower() for g in net.gases)
        else np.zeros(len(pos))
    )
    engine_products = product_rows.with_columns(
        pl.Series("co2e_kg", fp.co2e[pos]),
        pl.Series("co2e_biogenic_kg", np.asarray(biogenic, dtype=float)),
        pl.lit(iterations).alias("mc_iterations"),
        pl.lit(seed).alias("mc_seed"),
        pl.lit(solver.used).alias("solver"),
        pl.lit(gwp_set).alias("gwp_set"),
    )
    engine_products = engine_products.join(
        summary.select(
            "uscc",
            "product_id",
            "primary_data_share",
            *[c for c in summary.columns if c.startswith("dq_")],
            "dqr",
            "lines",
            "lines_unmatched",
        ),
        on=["uscc", "product_id"],
        how="left",
    )
    # What each product's rows depend on, for the incremental run (engine.incremental).
    edges = incremental.unique_edges(tech)  # walked by the fingerprints and the Monte Carlo's closure
    shas, state, state_key = incremental.fingerprints(
        engine_products.select(
            "process_id",
            "uscc",
            "product_id",
            "product_name",
            "category",
            "declared_unit",
            "benchmark_kgco2e",
            "primary_data_share",
            *[c for c in engine_products.columns if c.startswith("dq")],
            "lines",
            "lines_unmatched",
        ),
        tech,
        bio,
        line_info.drop("item"),
        {"gwp_set": gwp_set, "weights": dict(zip(net.gases, w.tolist())), "mc": [iterations, seed]},
        kept,
        edges,
    )
    # The Monte Carlo after the fingerprints: only products whose inputs changed are drawn for, on their
    # upstream closure (draws are keyed by entry, so a sub-network draws the same numbers for them).
    ids = engine_products["process_id"].to_list()
    draw = ids if reuse is None else [p for p, sha in shas.items() if reuse.get(p) != sha]
    everything = len(draw) == len(ids)
    drawn_ids = pl.Series(draw, dtype=pl.String).implode()
    mc = _monte_carlo(
        net, solver, fp.co2e, w, processes, tech, bio, gwp_set, given, draw, everything, iterations, seed, edges
    )
    # Per line: amount x per-unit footprint of what it draws on (CO2e and per gas).
    # only the products drawn for: the others' rows are carried over (10,000 uploads: 3.4 million lines)
    drawn = tech if everything else tech.filter(pl.col("consumer").is_in(drawn_ids))
    t = with_position(drawn, "provider", positions, "_p")
    if t["_p"].null_count():  # build() would have refused it; say so rather than index with a null
        raise ValueError(
            f"lines draw on processes not in the network: {t.filter(pl.col('_p').is_null())['provider'][:5]}"
        )
    p_idx = t["_p"].to_numpy()
    amount = t["amount"].to_numpy()
    contrib = t.select("consumer", "line_id", "stage").with_columns(
        pl.Series("co2e_kg", amount * fp.co2e[p_idx]),
        *[pl.Series(f"gas::{g}", amount * fp.per_gas[k][p_idx]) for k, g in enumerate(net.gases)],
    )
    contrib = contrib.join(line_info, on=["consumer", "line_id"], how="left")
    market_cut = contrib.group_by("consumer").agg(
        (pl.col("co2e_kg") * (1 - pl.col("co2e_market_kg_per_declared_unit") / pl.col("co2e_kg_per_declared_unit")))
        .fill_nan(0)
        .sum()
        .alias("_market_cut")
    )
    columns = [*engine_products.columns[: engine_products.columns.index("gwp_set") + 1], "co2e_market_kg"]
    engine_products = (
        engine_products.join(
            market_cut.rename({"consumer": "process_id"}), on="process_id", how="left", maintain_order="left"
        )
        .with_columns(
            # not computed for the products whose rows are carried over (not drawn for): null, never published
            pl.when(pl.col("process_id").is_in(drawn_ids))
            .then(pl.col("co2e_kg") - pl.col("_market_cut").fill_null(0))
            .alias("co2e_market_kg")
        )
        .select(*columns, *[c for c in engine_products.columns if c not in columns])
    )
    engine_products = engine_products.with_columns(
        pl.Series("mc_p5", mc.p5[pos]),
        pl.Series("mc_p50", mc.p50[pos]),
        pl.Series("mc_p95", mc.p95[pos]),
        pl.Series("mc_mean", mc.mean[pos]),
        pl.Series("mc_std", mc.std[pos]),
    ).join(
        incremental.fingerprint_frame(shas),
        on="process_id",
        how="left",
        maintain_order="left",
    )
    gas_cols = [c for c in contrib.columns if c.startswith("gas::")]
    gases = (
        contrib.group_by("consumer")
        .agg([pl.col(c).sum() for c in gas_cols])
        .unpivot(index="consumer", variable_name="gas", value_name="amount_kg")
        .with_columns(pl.col("gas").str.strip_prefix("gas::"))
        .with_columns(pl.col("gas").replace_strict(dict(zip(net.gases, w)), return_dtype=pl.Float64).alias("gwp"))
    )
    gases = gases.with_columns((pl.col("amount_kg") * pl.col("gwp")).alias("co2e_kg")).rename(
        {"consumer": "process_id"}
    )
    contrib = contrib.drop(gas_cols).rename({"consumer": "process_id"})
    return {
        "engine_products": engine_products,
        "engine_contributions": contrib,
        "engine_gases": gases,
        "fingerprint_state": (state, state_key),  # not a mart: kept by the caller for the next build
        # the restricted inventory with linked lines resolved (not a mart: it stays in the restricted zone)
        "inventory": {"line_emissions": lines, "product_summary": summary},
    }


def _monte_carlo(
    net,
    solver,
    base,
    w,
    processes,
    tech,
    bio,
    gwp_set,
    given,
    draw: list[str],
    everything: bool,
    iterations,
    seed,
    edges,
) -> montecarlo.MonteCarloResult:
    """Percentiles for the products in `draw` (NaN for the others), on the whole network when every product
    is drawn for, else on the upstream closure of `draw` alone."""
    if everything:
        return montecarlo.run(
            net,
            w,
            montecarlo.aligned_gsd2(net, tech),
            montecarlo.aligned_bio_gsd2(net, bio),
            iterations=iterations,
            seed=seed,
            base=base,
            solver=solver,
        )
    nan = np.full(net.size, np.nan)
    out = montecarlo.MonteCarloResult(iterations, seed, nan, nan.copy(), nan.copy(), nan.copy(), nan.copy())
    if not draw:
        return out
    closure = incremental.upstream_pairs(pl.Series(draw, dtype=pl.String), edges)["member"].unique()
    sub_tech = tech.filter(pl.col("consumer").is_in(closure))
    sub_bio = bio.filter(pl.col("process_id").is_in(closure))
    sub = build(processes.filter(pl.col("process_id").is_in(closure)), sub_tech, sub_bio)
    sub_w = gwp_weights(sub.gases, gwp_set, given)
    mc = montecarlo.run(
        sub,
        sub_w,
        montecarlo.aligned_gsd2(sub, sub_tech),
        montecarlo.aligned_bio_gsd2(sub, sub_bio),
        iterations=iterations,
        seed=seed,
        solver=Solver(sub),
    )
    at = with_position(sub.positions.select("_id"), "_id", net.positions, "_at")["_at"].to_numpy()
    for name in ("p5", "p50", "p95", "mean", "std"):
        getattr(out, name)[at] = getattr(mc, name)
    return out


def resolve_linked_lines(
    lines: pl.DataFrame, summary: pl.DataFrame, co2e: np.ndarray, positions: pl.DataFrame, max_passes: int = 50
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Lines drawing on another enterprise product ('supplier_product') take CO2e = amount x that product's
    solved footprint; their primary fraction is the supplier product's own primary data share (PACT), which
    may itself depend on its suppliers, so the share is iterated to a fixed point (chains settle in as many
    passes as they are deep; a loop converges geometrically). Market-based: the supplier's location-based
    footprint is carried (its own contractual instruments are not propagated; docs/engine.md)."""
    linked = pl.col("match_method") == "supplier_product"
    if lines.is_empty() or not lines.filter(linked).height:
        return lines, summary
    # each linked line's provider footprint by its position (a join; the dict of every product was 0.1 s)
    at = with_position(lines.select("factor_id"), "factor_id", positions, "_at")["_at"]
    provider = pl.Series("_provider", co2e, dtype=pl.Float64).gather(at)  # null where not a process
    lines = lines.with_columns(
        pl.when(linked).then(provider).otherwise(pl.col("factor_co2e_per_unit")).alias("factor_co2e_per_unit")
    )
    lines = lines.with_columns(
        pl.when(linked)
        .then(pl.col("amount_per_declared_unit") * pl.col("factor_co2e_per_unit"))
        .otherwise(pl.col("co2e_kg_per_declared_unit"))
        .alias("co2e_kg_per_declared_unit")
    )
    lines = lines.with_columns(
        pl.when(linked)
        .then(pl.col("co2e_kg_per_declared_unit"))
        .otherwise(pl.col("co2e_market_kg_per_declared_unit"))
        .alias("co2e_market_kg_per_declared_unit")
    )
    release, gwp_set = summary["factors_from"][0], summary["gwp_set"][0]
    kept = (  # the plausibility verdicts come from the lines' amounts, which this does not change
        summary.select("upload_id", "product_id", HOLD_COLUMN) if HOLD_COLUMN in summary.columns else None
    )
    for _ in range(max_passes):
        summary = summarise(lines, release, gwp_set)
        if kept is not None:
            summary = summary.join(kept, on=["upload_id", "product_id"], how="left", maintain_order="left")
        pds = {
            foreground.product_process_id(u, p): v
            for u, p, v in summary.select("uscc", "product_id", pl.col("primary_data_share").fill_null(0.0)).rows()
        }
        updated = lines.with_columns(
            pl.when(linked)
            .then(pl.col("factor_id").replace_strict(pds, default=0.0, return_dtype=pl.Float64))
            .otherwise(pl.col("primary_fraction"))
            .alias("primary_fraction")
        )
        if updated["primary_fraction"].equals(lines["primary_fraction"]):
            break
        lines = updated
    return lines, summary
