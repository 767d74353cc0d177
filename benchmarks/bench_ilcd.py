"""Benchmark: importing the TianGong ILCD archive (../shared/data/sources/tiangong_lca_ilcd) end to end:
read and parse every data set (both cores), validate, map gases, solve the archive's network, stage factors.
Prints `name: value` lines: ilcd_import_seconds (best of 3), ilcd_datasets_per_second, and the counts
(data sets and exchanges in, imported, quarantined). Target (issue 18): the whole archive under a minute."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from pipelines.config import settings  # noqa: E402
from pipelines.ilcd.archive import read  # noqa: E402
from pipelines.ilcd.importer import import_archive  # noqa: E402
from pipelines.sources import tiangong_ilcd  # noqa: E402


def main() -> None:
    path = settings().sources_dir / "tiangong_lca_ilcd" / "tiangong_lca_data_ilcd.zip"
    if not path.is_file():
        print(f"ilcd_archive_missing: {path}")
        return
    times, res = [], None
    for _ in range(3):
        t0 = time.perf_counter()
        res = import_archive(read(path), tiangong_ilcd.gwp_values())
        times.append(time.perf_counter() - t0)
    best = min(times)
    c = res.counts
    print(f"ilcd_import_seconds: {best:.2f}")
    print(f"ilcd_datasets_per_second: {c['datasets_in'] / best:.0f}")
    for k in (
        "datasets_in",
        "datasets_imported",
        "datasets_quarantined",
        "exchanges_in",
        "exchanges_imported",
        "exchanges_quarantined",
    ):
        print(f"ilcd_{k}: {c[k]}")
    print(f"ilcd_ef31_processes_compared: {res.ef_check['processes_compared']}")
    print(f"ilcd_ef31_differ_over_1pct: {res.ef_check['differ_over_1pct']}")


if __name__ == "__main__":
    main()
