"""Benchmark: the activity matcher on the labelled sets (tests/data/matching_eval.csv, matching_heldout.csv)
against a release built from every real source in the sources directory. Prints `name: value` lines:

  match_index_build_seconds        building the matcher over the release's factors (once per release)
  match_lines                      labelled descriptions
  match_top1_accuracy              best candidate acceptable, among lines answered (score >= threshold)
  match_top3_accuracy              an acceptable factor among the first three, over all lines
  match_abstain_rate               lines left for a steward (below the threshold)
  match_lines_per_second           steady state on one core: the matcher built, each unit's and place's
                                   arrays computed once (a second pass over the set, answers not cached)
  match_first_pass_lines_per_second  the first pass, with those arrays computed as lines ask for them
  match_heldout_*                  the same on 60 descriptions written after the lexicon was fixed
Targets (issue 13): top-1 >= 0.90, top-3 >= 0.97, abstain <= 0.10, >= 5,000 lines/s.
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from pipelines.config import PROJECT_ROOT, settings  # noqa: E402
from pipelines.factors.warehouse import build_tables, load_source  # noqa: E402
from pipelines.matching.evaluation import evaluate, load  # noqa: E402
from pipelines.matching.matcher import Matcher  # noqa: E402
from pipelines.sources import SOURCES  # noqa: E402

DATA = PROJECT_ROOT / "tests" / "data"


def main() -> None:
    s = dataclasses.replace(settings(), curated_dir=Path(tempfile.mkdtemp(prefix="pcf-bench-match-")))
    tables, _ = build_tables([load_source(k, s) for k in SOURCES], s)
    t0 = time.perf_counter()
    matcher = Matcher(tables["factor"], tables.get("fuel_property"))
    print(f"match_index_build_seconds: {time.perf_counter() - t0:.2f}")
    print(f"match_factors: {matcher.n}")
    rows = load(DATA / "matching_eval.csv")
    first = evaluate(matcher, rows)
    steady = max((evaluate(matcher, rows) for _ in range(3)), key=lambda r: r.lines_per_second)
    print(f"match_lines: {first.lines}")
    print(f"match_top1_accuracy: {first.top1_accuracy:.3f}")
    print(f"match_top3_accuracy: {first.top3_accuracy:.3f}")
    print(f"match_abstain_rate: {first.abstain_rate:.3f}")
    print(f"match_lines_per_second: {steady.lines_per_second:.0f}")
    print(f"match_first_pass_lines_per_second: {first.lines_per_second:.0f}")
    held = evaluate(matcher, load(DATA / "matching_heldout.csv"))
    print(f"match_heldout_lines: {held.lines}")
    print(f"match_heldout_top1_accuracy: {held.top1_accuracy:.3f}")
    print(f"match_heldout_top3_accuracy: {held.top3_accuracy:.3f}")
    print(f"match_heldout_abstain_rate: {held.abstain_rate:.3f}")


if __name__ == "__main__":
    main()
