"""Synthetic product networks shaped like real LCA databases, for tests and benchmarks.

A core of basic materials, energy and transport (2 % of processes, at least 60) that draw on each
other (loops through electricity and transport), and the rest drawing about ten inputs each: most from
the core, some from other non-core processes made earlier in the same sector (supply-chain depth).
Real databases are sectoral (a car part draws on metals and parts, not on random farm products): with
`sector_window` the earlier processes are picked among the previous `sector_window` ones; with None from
all earlier ones, a diffuse network that fills in badly under a direct LU (kept as a stress case). Input amounts keep the
system productive (each process needs well under one unit of inputs per unit made). Each process emits
fossil CO2 and some emit CH4, N2O or biogenic CO2, with lognormal uncertainty on everything.
"""

from __future__ import annotations

import numpy as np
import polars as pl

STAGES = ("raw_material", "production", "distribution", "use", "end_of_life")


def generate(
    n: int, seed: int = 42, inputs_per_process: int = 10, sector_window: int | None = 500
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    core = max(60, n // 50)
    ids = [f"p{i:07d}" for i in range(n)]
    processes = pl.DataFrame(
        {
            "process_id": ids,
            "name": [f"process {i}" for i in range(n)],
            "kind": ["core" if i < core else "product" for i in range(n)],
            "reference_amount": np.ones(n),
        }
    )
    consumers, providers = [], []
    for j in range(n):
        k = min(inputs_per_process if j >= core else 5, n - 1)
        if j < core:
            picks = rng.choice(core, size=min(k, core - 1) + 1, replace=False)
        else:
            from_core = rng.choice(core, size=min(6, core), replace=False)
            low = core if sector_window is None else max(core, j - sector_window)
            lower = rng.integers(low, j, size=k - len(from_core)) if j > core else np.array([], dtype=int)
            picks = np.unique(np.concatenate([from_core, lower]))
        picks = picks[picks != j][:k]
        consumers.append(np.full(len(picks), j))
        providers.append(picks)
    cons = np.concatenate(consumers)
    prov = np.concatenate(providers)
    amount = rng.uniform(0.002, 0.08, size=cons.size)
    technosphere = pl.DataFrame(
        {
            "consumer": np.array(ids)[cons],
            "provider": np.array(ids)[prov],
            "amount": amount,
            "gsd2": np.where(rng.random(cons.size) < 0.5, rng.uniform(1.05, 1.5, cons.size), np.nan),
            "stage": np.array(STAGES)[rng.integers(0, 3, cons.size)],
            "line_id": [f"l{i}" for i in range(cons.size)],
        }
    ).with_columns(pl.col("gsd2").fill_nan(None))
    rows = [("CO2_fossil", np.arange(n), rng.lognormal(-1.0, 1.0, n))]
    for gas, share, mu in (("CH4_fossil", 0.3, -6.0), ("N2O", 0.2, -8.0), ("CO2_biogenic", 0.1, -2.0)):
        which = np.flatnonzero(rng.random(n) < share)
        rows.append((gas, which, rng.lognormal(mu, 1.0, which.size)))
    biosphere = pl.concat(
        [pl.DataFrame({"process_id": np.array(ids)[w], "gas": g, "amount_kg": v}) for g, w, v in rows]
    )
    biosphere = biosphere.with_columns(pl.lit(None, dtype=pl.Float64).alias("gsd2")).with_columns(
        pl.Series("gsd2", rng.uniform(1.1, 2.0, biosphere.height))
    )
    return processes, technosphere, biosphere
