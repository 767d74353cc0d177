"""Benchmark (`make bench-scale`, about an hour and a half on 2 cores; ~15 minutes with --uploads 1000): where one machine stops (issue 20).

1. The build's cost curve: a whole `pcf build` (one Dagster run, every source in the sources directory and
   the embedded data) with a generated literature file of 1,000,000, 3,000,000 and 10,000,000 rows
   (bench_ingest's generator), each build in a fresh warehouse, wall time and the build process's peak
   resident memory. A size whose memory, extrapolated from the smaller ones, would not fit in this
   machine's memory is not run (said so). The exponents are least-squares slopes in log-log space.
2. Enterprise scale: --uploads generated workbooks of ~200 activity lines each (the template's rules; 48
   products per enterprise from the aluminium example, amounts varied), ingested by the intake (the
   function the upload partition runs) and one `pcf build`; then one corrected upload through the whole
   path (`pcf ingest enterprise`: its Dagster partition, then the rebuild, incremental in the marts), then
   one new enterprise's first upload the same way.
3. The engine at 1,000,000 processes: CO2e total, per gas and per stage (benchmarks/bench_engine.py's
   large part, in its own process).

Prints `name: value` lines: build_seconds_{1m,3m,10m}, build_peak_rss_mb_{...}, build_time_exponent,
build_memory_exponent, enterprise_uploads, enterprise_lines, enterprise_uploads_<n>_seconds (n as 1k, 10k),
enterprise_uploads_{ingest,build}_seconds, enterprise_uploads_build_peak_rss_mb, incremental_upload_seconds,
incremental_new_upload_seconds, engine_seconds_1m_total_gas_stage, engine_peak_rss_mb_1m.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_ingest import generate, pcf_env  # noqa: E402

from pipelines.config import PROJECT_ROOT  # noqa: E402

PCF = Path(sys.executable).with_name("pcf")
# run a command and report its peak resident memory (the children's maxrss of a fresh process: its own)
MEASURE = (
    "import resource, subprocess, sys, time; t = time.perf_counter(); r = subprocess.run(sys.argv[1:], "
    "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
    "print(r.returncode, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)"
)


def _env(work: Path, raw: Path) -> dict:
    return pcf_env(raw, work / "curated", work / "restricted")


def measured(cmd: list[str], env: dict) -> tuple[int, float, float]:
    out = subprocess.run([sys.executable, "-c", MEASURE, *cmd], env=env, capture_output=True, text=True)
    rc, seconds, peak = out.stdout.split()
    return int(rc), float(seconds), float(peak)


def memory_mb() -> float:
    with open("/proc/meminfo") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("MemTotal")) / 1024


def _release_hash(work: Path) -> str:
    manifest = sorted((work / "curated" / "releases").glob("v*/manifest.json"))[-1]
    return json.loads(manifest.read_text(encoding="utf-8"))["release_hash"]


def build_curve(sizes: list[int]) -> None:
    """Each size built as `pcf build` does by default (the factor path in chunks of PCF_FACTOR_CHUNK_ROWS); the
    smallest size also with every source in memory (PCF_FACTOR_CHUNK_ROWS=0), whose release must be the same."""
    points = []
    for rows in sizes:
        name = f"{rows // 1_000_000}m"
        if len(points) >= 2:
            (r1, _, m1), (r2, _, m2) = points[-2], points[-1]
            slope = np.log(m2 / m1) / np.log(r2 / r1)
            projected = m2 * (rows / r2) ** slope
            if projected > 0.85 * memory_mb():
                print(
                    f"build_seconds_{name}: not run (projected peak {projected:.0f} MB > 85% of {memory_mb():.0f} MB)"
                )
                print(f"build_peak_rss_mb_{name}_projected: {projected:.0f}")
                continue
        with tempfile.TemporaryDirectory(prefix="pcf-scale-") as tmp:
            work = Path(tmp)
            raw = work / "raw"
            shutil.copytree(PROJECT_ROOT / "data" / "raw", raw)
            generate(raw / "literature" / "scale.csv", rows)
            env = _env(work, raw)
            rc, seconds, peak = measured([str(PCF), "build"], env)
            if rc != 0:
                print(f"build_seconds_{name}: failed (rc {rc})")
                continue
            points.append((rows, seconds, peak))
            print(f"build_seconds_{name}: {seconds:.1f}", flush=True)
            print(f"build_peak_rss_mb_{name}: {peak:.0f}", flush=True)
            if rows == min(sizes):  # the same inputs with every source in memory: the same release?
                streamed = _release_hash(work)
                shutil.rmtree(work / "curated")
                shutil.rmtree(work / "restricted", ignore_errors=True)
                rc, seconds, peak = measured([str(PCF), "build"], {**env, "PCF_FACTOR_CHUNK_ROWS": "0"})
                print(f"build_seconds_{name}_in_memory: {seconds:.1f}")
                print(f"build_peak_rss_mb_{name}_in_memory: {peak:.0f}")
                same = rc == 0 and _release_hash(work) == streamed
                print(f"build_release_identical_to_in_memory_{name}: {'yes' if same else 'NO'}", flush=True)
    if len(points) >= 2:
        x = np.log([p[0] for p in points])
        print(f"build_time_exponent: {np.polyfit(x, np.log([p[1] for p in points]), 1)[0]:.2f}")
        print(f"build_memory_exponent: {np.polyfit(x, np.log([p[2] for p in points]), 1)[0]:.2f}")


def _uscc(k: int) -> str:
    from pipelines.enterprise.uscc import check_character

    first = f"91500113MA{k:07d}"
    return first + check_character(first)


def upload_data(k: int, products: int = 48) -> dict:
    """A realistic upload of ~200 lines: the aluminium example's enterprise, 48 products modelled on its two
    profiles (their lines, amounts varied), the plant's shared lines allocated by mass."""
    from pipelines.enterprise.examples import EXAMPLES

    base = EXAMPLES["aluminium_profile"]
    rnd = random.Random(k)
    data = copy.deepcopy(base)
    data["enterprise"][0]["uscc"] = _uscc(k)
    data["enterprise"][0]["enterprise_name"] = f"示例铝型材企业 {k}（example）"
    by_product = {
        p["product_id"]: [a for a in base["activity"] if a["product_id"] == p["product_id"]] for p in base["product"]
    }
    plant = [a for a in base["activity"] if a["product_id"] == "PLANT"]
    data["product"], data["activity"] = [], []
    for i in range(products):
        model = base["product"][i % 2]
        pid = f"{model['product_id']}-{i:02d}"
        scale = rnd.uniform(0.05, 0.3)
        data["product"].append({**model, "product_id": pid, "annual_output": round(model["annual_output"] * scale)})
        for a in by_product[model["product_id"]]:
            data["activity"].append(
                {
                    **a,
                    "line_id": f"{a['line_id']}-{i:02d}",
                    "product_id": pid,
                    "amount": round(a["amount"] * scale * rnd.uniform(0.8, 1.2), 3),
                }
            )
    for a in plant:
        data["activity"].append({**a, "amount": round(a["amount"] * products * 0.15 * rnd.uniform(0.8, 1.2), 3)})
    return data


def enterprise_scale(uploads: int) -> None:
    from pipelines.enterprise.template import write_workbook

    with tempfile.TemporaryDirectory(prefix="pcf-scale-ent-") as tmp:
        work = Path(tmp)
        raw = work / "raw"
        shutil.copytree(PROJECT_ROOT / "data" / "raw", raw)
        folder = raw / "enterprise" / "scale"
        folder.mkdir(parents=True)
        lines = 0
        for k in range(uploads):
            data = upload_data(k)
            lines += len(data["activity"])
            write_workbook(folder / f"upload-{k:05d}.xlsx", data)
        env = _env(work, raw)
        # the intake of every upload (what each upload's partition runs), then one build
        ingest = (
            "import sys; from pathlib import Path; from pipelines.config import settings; "
            "from pipelines.enterprise.intake import ingest_upload; s = settings(); "
            "bad = [p.name for p in sorted(Path(sys.argv[1]).glob('*.xlsx')) if not ingest_upload(p, s).accepted]; "
            "sys.exit(1 if bad else 0)"
        )
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", ingest, str(folder)], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        ingest_seconds = time.perf_counter() - t0
        rc, build_seconds, peak = measured([str(PCF), "build"], env)
        assert rc == 0, "the build with the uploads failed"
        print(f"enterprise_uploads: {uploads}")
        print(f"enterprise_lines: {lines}")
        print(f"enterprise_uploads_ingest_seconds: {ingest_seconds:.1f}")
        print(f"enterprise_uploads_build_seconds: {build_seconds:.1f}")
        size = f"{uploads // 1000}k" if uploads % 1000 == 0 else str(uploads)  # 10000 -> 10k (issue 20's name)
        print(f"enterprise_uploads_{size}_seconds: {ingest_seconds + build_seconds:.1f}")
        print(f"enterprise_uploads_build_peak_rss_mb: {peak:.0f}", flush=True)
        # one corrected upload afterwards: the whole path, incremental in the product marts
        fixed = upload_data(0)
        fixed["activity"][0]["amount"] = round(fixed["activity"][0]["amount"] * 1.01, 3)
        path = write_workbook(work / "upload-00000-corrected.xlsx", fixed)
        rc, seconds, _ = measured([str(PCF), "ingest", "enterprise", str(path)], env)
        assert rc == 0, "the corrected upload failed"
        print(f"incremental_upload_seconds: {seconds:.1f}", flush=True)
        # and one new enterprise's first upload (its products are new; nobody draws on them yet)
        path = write_workbook(work / f"upload-{uploads:05d}-new.xlsx", upload_data(uploads))
        rc, seconds, _ = measured([str(PCF), "ingest", "enterprise", str(path)], env)
        assert rc == 0, "the new upload failed"
        print(f"incremental_new_upload_seconds: {seconds:.1f}", flush=True)


def engine_1m() -> None:
    tables = Path(tempfile.mkdtemp(prefix="pcf-scale-engine-"))
    try:
        bench = str(HERE / "bench_engine.py")
        args = ["--large", "1000000", "--tables", str(tables)]
        subprocess.run([sys.executable, bench, "--part", "generate", *args], check=True, capture_output=True)
        done = subprocess.run([sys.executable, bench, "--part", "large", *args], capture_output=True, text=True)
        if done.returncode != 0:
            print(f"engine_seconds_1m_total_gas_stage: failed ({done.stderr[-300:]})")
            return
        out = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"engine_seconds_1m_total_gas_stage: {out['engine_seconds_1000k_total_gas_stage']}")
        print(f"engine_peak_rss_mb_1m: {out['engine_peak_memory_mb_1000k']:.0f}")
        print(f"engine_stage_sum_rel_diff_1m: {out['engine_stage_sum_rel_diff_1000k']}")
    finally:
        shutil.rmtree(tables, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000000,3000000,10000000", help="literature rows of each build")
    parser.add_argument("--uploads", type=int, default=10_000, help="generated enterprise uploads")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: build, enterprise, engine")
    args = parser.parse_args()
    skip = set(args.skip.split(","))
    if "engine" not in skip:
        engine_1m()
    if "build" not in skip:
        build_curve([int(x) for x in args.sizes.split(",")])
    if "enterprise" not in skip:
        enterprise_scale(args.uploads)


if __name__ == "__main__":
    main()
