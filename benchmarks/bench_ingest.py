"""Benchmark: ingest, validate, harmonise and publish a generated 1,000,000-row file in the literature
template format, against DuckDB alone reading the same file (measured in the same run).

Prints `name: value` lines:
  ingest_rows: N
  ingest_seconds: our end-to-end time (read -> stage -> validate -> harmonise -> curate (decision log
                  applied, review queue written) -> publish), best of --repeat
  ingest_seconds_median: the median of those runs
  ingest_rows_per_second: N / best
  duckdb_read_seconds: DuckDB reading the same CSV into a table (all columns), best of --repeat
  ingest_overhead_vs_duckdb: ours / DuckDB's, best against best (target: at most 3)
  ingest_overhead_vs_duckdb_median: the same with medians
The two sides run interleaved in the same process on the same file; each of our runs publishes into a
fresh warehouse directory, so no run benefits from an earlier one's objects.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.config import settings  # noqa: E402
from pipelines.curation.run import curate  # noqa: E402
from pipelines.factors.warehouse import assemble_tables, validate_batches  # noqa: E402
from pipelines.release.publish import publish  # noqa: E402
from pipelines.sources import literature  # noqa: E402
from pipelines.sources.base import SourceBatch, raw_files_frame  # noqa: E402

UNITS = ["kg", "千克", "t", "公吨", "kWh", "千瓦时", "t·km", "m3", "台", "MJ"]
CATEGORIES = {
    "kg": "material",
    "千克": "material",
    "t": "material",
    "公吨": "material",
    "kWh": "electricity",
    "千瓦时": "electricity",
    "t·km": "transport_freight",
    "m3": "material",
    "台": "product",
    "MJ": "fuel",
}
GEOS = ["CN", "500000", "重庆", "CN-GD", "US", "GLO", "DE", "四川", "CN-GRID-EC", "JP"]


def generate(path: Path, rows: int, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    unit = rng.choice(UNITS, rows)
    frame = pl.DataFrame(
        {
            "record_id": [f"bench-{i:07d}" for i in range(rows)],
            "name_zh": "合成因子",
            "name_en": "synthetic factor",
            "classification_scheme": "LIT",
            "classification_code": rng.integers(10000, 99999, rows).astype(str),
            "activity_category": [CATEGORIES[u] for u in unit],
            "activity_key": None,
            "factor_purpose": "life_cycle",
            "unit": unit,
            "co2e_kg": np.round(rng.lognormal(0, 1.5, rows), 6),
            "published_gwp_set": "AR6",
            "co2_fossil_kg": np.round(rng.lognormal(0, 1.5, rows), 6),
            "co2_biogenic_kg": None,
            "ch4_fossil_kg": np.round(rng.lognormal(-6, 1, rows), 8),
            "ch4_biogenic_kg": None,
            "n2o_kg": np.round(rng.lognormal(-8, 1, rows), 9),
            "geography": rng.choice(GEOS, rows),
            "reference_year": rng.integers(2010, 2025, rows),
            "valid_from": None,
            "valid_to": None,
            "technology": "generic",
            "system_boundary": "cradle_to_gate",
            "data_type": "secondary",
            "publisher": "Benchmark Institute",
            "document": "Synthetic literature",
            "locator": "Table 1",
            "doi_or_url": "10.0000/bench",
            "publication_date": "2024",
            "licence": "CC-BY-4.0",
            "gsd2": None,
            "removal": None,
            "redistributable": "true",
            "dq_reliability": 3,
            "dq_completeness": 2,
            "dq_technological": 3,
        }
    )
    # Gases given: the published CO2e is made consistent so that rows pass the GWP-sum rule.
    frame = frame.with_columns(
        co2e_kg=(pl.col("co2_fossil_kg") + pl.col("ch4_fossil_kg") * 29.8 + pl.col("n2o_kg") * 273).round(6)
    )
    frame.write_csv(path)


def pcf_env(raw: Path, curated: Path, restricted: Path) -> dict:
    """The environment of a `pcf` child process on a warehouse of its own (and its own Dagster instance,
    in <curated>/dagster). Used by every benchmark that runs `pcf`."""
    import os

    env = {
        **os.environ,
        "PCF_RAW_DIR": str(raw),
        "PCF_CURATED_DIR": str(curated),
        "PCF_RESTRICTED_DIR": str(restricted),
        "COLUMNS": "200",
    }
    env.pop("DAGSTER_HOME", None)
    return env


def full_build(work: Path, literature_file: Path, rows: int) -> None:
    """A whole `pcf build` (one Dagster run: every source in the sources directory, the embedded data with
    this literature file beside the example, enterprise examples, marts, publish) in its own process: wall
    time and the process's peak resident memory (the children's maxrss; kB on Linux)."""
    import resource
    import subprocess

    from pipelines.config import PROJECT_ROOT

    raw = work / "build_raw"
    shutil.copytree(PROJECT_ROOT / "data" / "raw", raw)
    shutil.copy(literature_file, raw / "literature" / literature_file.name)
    env = pcf_env(raw, work / "build_curated", work / "build_restricted")
    pcf = Path(sys.executable).with_name("pcf")
    t0 = time.perf_counter()
    done = subprocess.run([str(pcf), "build"], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"pcf build failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"build_rows_literature: {rows}")
    print(f"build_seconds: {seconds:.1f}")
    print(f"build_peak_rss_mb: {peak_mb:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side; best and median are printed")
    parser.add_argument("--no-build", action="store_true", help="skip the full `pcf build` measurement")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pcf-bench-"))
    try:
        raw_root = work / "raw"
        (raw_root / "literature").mkdir(parents=True)
        path = raw_root / "literature" / "bench.csv"
        generate(path, args.rows)
        duck, ours = [], []
        for i in range(args.repeat):  # interleaved, so that a slow spell of the machine hits both sides
            con = duckdb.connect()
            t0 = time.perf_counter()
            con.execute(f"create table t as select * from read_csv('{path}', header=true, all_varchar=false)")
            duck.append(time.perf_counter() - t0)
            con.close()

            s = dataclasses.replace(settings(), raw_dir=raw_root, curated_dir=work / f"curated{i}")
            t0 = time.perf_counter()
            staged, raw = literature.stage_file(path, raw_root)
            batch = SourceBatch(literature.SPEC, "bench", staged, raw_files_frame([raw]))
            validated = validate_batches([batch], s)
            tables, summary = assemble_tables(validated)
            curated = curate(s, {"tables": tables, "summary": summary, "sources": []})
            publish(s, curated["tables"], curated["summary"], [])
            ours.append(time.perf_counter() - t0)
            assert summary["balanced"], summary
        best, med = min(ours), statistics.median(ours)
        print(f"ingest_rows: {args.rows}")
        print(f"ingest_factors: {summary['factors']}")
        print(f"ingest_runs: {args.repeat}")
        print(f"ingest_seconds: {best:.3f}")
        print(f"ingest_seconds_median: {med:.3f}")
        print(f"ingest_rows_per_second: {args.rows / best:.0f}")
        print(f"duckdb_read_seconds: {min(duck):.3f}")
        print(f"duckdb_read_seconds_median: {statistics.median(duck):.3f}")
        print(f"ingest_overhead_vs_duckdb: {best / min(duck):.2f}")
        print(f"ingest_overhead_vs_duckdb_median: {med / statistics.median(duck):.2f}")
        if not args.no_build:
            full_build(work, path, args.rows)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
