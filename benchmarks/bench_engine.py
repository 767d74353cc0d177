"""Benchmark: the footprint engine against Brightway (bw2calc 3.1 + pypardiso), side by side in one run.

Each part runs in its own process so its peak memory (ru_maxrss) is its own. Both engines start from the
same in-memory tables (processes / technosphere / biosphere); matrix construction is timed on both sides
(ours: build + solver set-up + solve; Brightway: datapackage + FastScoresOnlyMultiLCA set-up + solve).
Each timing is the best of --repeat runs.

Prints `name: value` lines:
  engine_seconds_10k, brightway_fast_seconds_10k     per-unit CO2e of ALL products at 10,000 processes
  engine_speedup_vs_brightway                        Brightway's fastest way / ours (target >= 10)
  brightway_loop_seconds_10k_est                     Brightway's per-product loop, timed on a sample, scaled
  engine_speedup_vs_brightway_loop                   that / ours
  engine_max_rel_diff_10k                            max |ours - bw| / |bw| over all products (target 1e-9)
  engine_seconds_100k_total_gas_stage                CO2e, every gas and every stage of all products at
                                                     100,000 processes (target < 10 s), with the peak memory of
                                                     the process that reads the tables and solves
  engine_mc_seconds_1000_all_products_10k            1,000 Monte Carlo iterations, all products (target < 60 s)
  brightway_mc_seconds_per_iteration_one_product_10k Brightway's Monte Carlo, ONE functional unit
  uslci_* figures                                    the same comparison on the real USLCI database
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402


def _best(fn, repeat: int):
    best, value = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t0)
    return best, value


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _ours(tables, gwp_set: str = "AR6"):
    from pipelines.engine.network import Solver, build, solve_footprints

    net = build(*tables)
    solver = Solver(net)
    return solve_footprints(net, gwp_set, solver), solver, net


def part_compare(n: int, repeat: int, loop_sample: int) -> dict:
    """Ours vs Brightway on a synthetic database-shaped network of n processes."""
    from pipelines.engine.synthetic import generate
    from tests.brightway_reference import all_product_scores, loop_scores

    tables = generate(n, seed=7)
    ours_s, (fp, solver, net) = _best(lambda: _ours(tables), repeat)

    def brightway():
        from pipelines.engine.network import build

        return all_product_scores(build(*tables), "AR6")

    bw_s, bw = _best(brightway, repeat)
    rel = float(np.max(np.abs(fp.co2e - bw) / np.abs(bw)))
    sample = list(range(0, n, max(1, n // loop_sample)))[:loop_sample]
    t0 = time.perf_counter()
    loop = loop_scores(net, "AR6", sample)
    loop_s = (time.perf_counter() - t0) / len(sample) * n
    loop_rel = float(np.max(np.abs(fp.co2e[sample] - loop) / np.abs(loop)))
    return {
        f"engine_seconds_{n // 1000}k": round(ours_s, 4),
        f"brightway_fast_seconds_{n // 1000}k": round(bw_s, 4),
        "engine_speedup_vs_brightway": round(bw_s / ours_s, 1),
        f"brightway_loop_seconds_{n // 1000}k_est": round(loop_s, 1),
        "engine_speedup_vs_brightway_loop": round(loop_s / ours_s, 0),
        f"engine_max_rel_diff_{n // 1000}k": f"{max(rel, loop_rel):.2e}",
        f"engine_solver_{n // 1000}k": f"{solver.used} ({solver.iterations} iterations)"
        if solver.used == "jacobi"
        else solver.used,
    }


def part_generate(n: int, target: Path) -> dict:
    """Writes the n-process network tables to Parquet, so that the measuring process does not carry the
    generator's memory in its peak."""
    from pipelines.engine.synthetic import generate

    target.mkdir(parents=True, exist_ok=True)
    for name, frame in zip(("processes", "technosphere", "biosphere"), generate(n, seed=8)):
        frame.write_parquet(target / f"{name}.parquet")
    return {}


def part_large(n: int, source: Path) -> dict:
    """All products by CO2e total, by gas and by stage at n processes; peak memory of this process."""
    import polars as pl

    from pipelines.engine.network import stage_split

    tables = tuple(pl.read_parquet(source / f"{name}.parquet") for name in ("processes", "technosphere", "biosphere"))
    before = _peak_mb()
    t0 = time.perf_counter()
    fp, solver, net = _ours(tables)
    stages = stage_split(net, tables[1], fp.per_gas.T @ fp.weights)
    seconds = time.perf_counter() - t0
    total = sum(stages.values())
    direct = net.B.T @ fp.weights
    consistent = float(np.max(np.abs(total + direct - fp.co2e) / np.abs(fp.co2e)))
    return {
        f"engine_seconds_{n // 1000}k_total_gas_stage": round(seconds, 3),
        f"engine_gases_{n // 1000}k": len(fp.gases),
        f"engine_stages_{n // 1000}k": len(stages),
        f"engine_stage_sum_rel_diff_{n // 1000}k": f"{consistent:.1e}",
        f"engine_peak_memory_mb_{n // 1000}k": round(_peak_mb(), 0),
        f"engine_peak_memory_mb_{n // 1000}k_before_solve": round(before, 0),
    }


def part_monte_carlo(n: int, iterations: int, bw_iterations: int) -> dict:
    from pipelines.engine import montecarlo
    from pipelines.engine.network import gwp_weights
    from pipelines.engine.synthetic import generate
    from tests.brightway_reference import monte_carlo_one_product

    tables = generate(n, seed=9)
    t0 = time.perf_counter()
    fp, solver, net = _ours(tables)
    tech_g = montecarlo.aligned_gsd2(net, tables[1])
    bio_g = montecarlo.aligned_bio_gsd2(net, tables[2])
    mc = montecarlo.run(
        net, gwp_weights(net.gases, "AR6"), tech_g, bio_g, iterations=iterations, base=fp.co2e, solver=solver
    )
    ours = time.perf_counter() - t0
    product = n - 1
    t0 = time.perf_counter()
    bw = monte_carlo_one_product(net, "AR6", product, tech_g, bio_g, bw_iterations)
    per_it = (time.perf_counter() - t0) / bw_iterations
    return {
        f"engine_mc_seconds_{iterations}_all_products_{n // 1000}k": round(ours, 2),
        f"engine_mc_p5_p50_p95_product_{product}": f"{mc.p5[product]:.4g} / {mc.p50[product]:.4g} / {mc.p95[product]:.4g}",
        f"brightway_mc_seconds_per_iteration_one_product_{n // 1000}k": round(per_it, 4),
        f"brightway_mc_seconds_{iterations}_one_product_{n // 1000}k_est": round(per_it * iterations, 1),
        f"brightway_mc_p50_product_{product}_{bw_iterations}_draws": f"{np.median(bw):.4g}",
    }


def part_uslci(repeat: int) -> dict:
    from pipelines.config import settings
    from pipelines.engine.network import build
    from pipelines.engine.olca import load_olca_zip
    from tests.brightway_reference import all_product_scores

    path = Path(settings().sources_dir) / "uslci_olca_jsonld_v1_5" / "uslci_olca1_5_0_json_ld.zip"
    if not path.exists():
        return {"uslci": f"skipped ({path} not found)"}
    t0 = time.perf_counter()
    db = load_olca_zip(path)
    load_s = time.perf_counter() - t0
    tables = (db.processes, db.technosphere, db.biosphere)
    ours_s, (fp, solver, net) = _best(lambda: _ours(tables), repeat)
    bw_s, bw = _best(lambda: all_product_scores(build(*tables), "AR6"), repeat)
    nz = np.abs(bw) > 1e-300
    rel = float(np.max(np.abs(fp.co2e[nz] - bw[nz]) / np.abs(bw[nz])))
    return {
        "uslci_processes": net.size,
        "uslci_load_seconds": round(load_s, 2),
        "uslci_engine_seconds": round(ours_s, 4),
        "uslci_brightway_fast_seconds": round(bw_s, 4),
        "uslci_speedup_vs_brightway": round(bw_s / ours_s, 1),
        "uslci_max_rel_diff": f"{rel:.2e}",
        "uslci_solver": solver.used,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=["compare", "generate", "large", "mc", "uslci"])
    parser.add_argument("--tables", type=Path, default=None, help="(internal) where the large network's tables are")
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--loop-sample", type=int, default=200)
    parser.add_argument("--mc-iterations", type=int, default=1000)
    parser.add_argument("--bw-mc-iterations", type=int, default=20)
    args = parser.parse_args()
    if args.part:
        out = {
            "compare": lambda: part_compare(args.n, args.repeat, args.loop_sample),
            "generate": lambda: part_generate(args.large, args.tables),
            "large": lambda: part_large(args.large, args.tables),
            "mc": lambda: part_monte_carlo(args.n, args.mc_iterations, args.bw_mc_iterations),
            "uslci": lambda: part_uslci(args.repeat),
        }[args.part]()
        print(json.dumps(out))
        return
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    import tempfile

    tables = Path(tempfile.mkdtemp(prefix="pcf-bench-engine-"))
    for part in ("compare", "generate", "large", "mc", "uslci"):
        cmd = [sys.executable, __file__, "--part", part, "--tables", str(tables), *sys.argv[1:]]
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
        if done.returncode != 0:
            print(f"engine_{part}: failed\n{done.stderr[-2000:]}", file=sys.stderr)
            sys.exit(done.returncode)
        for name, value in json.loads(done.stdout.strip().splitlines()[-1]).items():
            print(f"{name}: {value}", flush=True)
    import shutil

    shutil.rmtree(tables, ignore_errors=True)


if __name__ == "__main__":
    main()
