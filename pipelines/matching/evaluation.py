"""Measuring the matcher on a labelled set (tests/data/matching_eval.csv, described in tests/data/matching_eval.md).

Each line: a description as an enterprise writes it, its unit, geography and year, and `expected`: the
factors a careful practitioner would accept, as predicates separated by '|' (the lexicon's target syntax:
`key:<activity key>`, `code:<classification code prefix>`, `zh:<in the Chinese name>`, `zh=<the Chinese
name>`, `en:<in the English name>`). A line is answered when the best score reaches the threshold;
top-1 is judged among answered lines, top-3 on the first three candidates, abstention over all lines.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass
from pathlib import Path


def satisfies(row: dict, expected: str) -> bool:
    for pred in expected.split("|"):
        kind, sep, value = pred.partition(":") if ":" in pred.split("=")[0] else pred.partition("=")
        kind = kind.strip()
        if sep == "=" and kind == "zh":
            if (row.get("name_zh") or "") == value:
                return True
        elif kind == "key":
            if row.get("activity_key") == value:
                return True
        elif kind == "code":
            if (row.get("classification_code") or "").startswith(value):
                return True
        elif kind == "zh":
            if value in (row.get("name_zh") or ""):
                return True
        elif kind == "en":
            if value.lower() in (row.get("name_en") or "").lower():
                return True
        else:
            raise ValueError(f"expected {pred!r}: not key:|code:|zh:|zh=|en:")
    return False


def load(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@dataclass
class Report:
    lines: int
    answered: int
    top1: int
    top3: int
    seconds: float
    failures: list[dict]

    @property
    def top1_accuracy(self) -> float:
        return self.top1 / self.answered if self.answered else 0.0

    @property
    def top3_accuracy(self) -> float:
        return self.top3 / self.lines if self.lines else 0.0

    @property
    def abstain_rate(self) -> float:
        return 1 - self.answered / self.lines if self.lines else 0.0

    @property
    def lines_per_second(self) -> float:
        return self.lines / self.seconds if self.seconds else 0.0


def evaluate(matcher, rows: list[dict]) -> Report:
    matcher._cache.clear()
    t0 = time.perf_counter()
    results = [
        matcher.match(r["text"], r["unit"] or None, r["geography"] or None, int(r["year"] or 0) or None, 3)
        for r in rows
    ]
    seconds = time.perf_counter() - t0
    answered = top1 = top3 = 0
    failures = []
    for r, res in zip(rows, results):
        ok3 = any(satisfies(c.row, r["expected"]) for c in res.candidates[:3])
        top3 += ok3
        if res.confident:
            answered += 1
            if satisfies(res.candidates[0].row, r["expected"]):
                top1 += 1
                continue
        best = res.best
        failures.append(
            {
                "text": r["text"],
                "unit": r["unit"],
                "label": r.get("label"),
                "answered": res.confident,
                "got": f"{best.score} {best.source_id} {best.name_zh or best.name_en} [{best.unit}]"
                if best
                else res.note,
            }
        )
    return Report(len(rows), answered, top1, top3, seconds, failures)
