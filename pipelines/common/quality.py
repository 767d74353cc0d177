"""Data quality: pedigree scores, DQR and the lognormal uncertainty derived from them.

Pedigree matrix and uncertainty factors: Weidema B.P. et al. (2013), "Overview and methodology. Data
quality guideline for the ecoinvent database version 3", ecoinvent Report 1(v3), Table 10.5 (the
factors below are the squared-GSD contributions U_i per score 1..5). Basic uncertainty 1.05
(Table 10.4, CO2 from combustion and most product flows).

  GSD2 = exp( sqrt( ln(Ub)^2 + sum_i ln(U_i)^2 ) )

DQR = mean of the five scores (1 excellent ... 5 poor), the form used by the PEF method's DQR.
"""

from __future__ import annotations

import math

import polars as pl

PEDIGREE_FACTORS = {
    "dq_reliability": (1.00, 1.54, 1.61, 1.69, 1.69),
    "dq_completeness": (1.00, 1.03, 1.04, 1.08, 1.08),
    "dq_temporal": (1.00, 1.03, 1.10, 1.19, 1.29),
    "dq_geographical": (1.00, 1.04, 1.08, 1.11, 1.11),
    "dq_technological": (1.00, 1.18, 1.65, 2.08, 2.80),
}
BASIC_GSD2 = 1.05
SCORES = tuple(PEDIGREE_FACTORS)


def temporal_score(age: pl.Expr) -> pl.Expr:
    """Age in years against the assessment year: <3: 1, <6: 2, <10: 3, <15: 4, else 5."""
    return (
        pl.when(age < 3)
        .then(1)
        .when(age < 6)
        .then(2)
        .when(age < 10)
        .then(3)
        .when(age < 15)
        .then(4)
        .otherwise(5)
        .cast(pl.Int8)
    )


def geographical_score(level: pl.Expr, country: pl.Expr) -> pl.Expr:
    """Fit for products made in China, the warehouse's main use."""
    return (
        pl.when(level.is_in(["province", "grid_region"]))
        .then(1)
        .when(country == "CN")
        .then(2)
        .when(level.is_in(["global", "region"]))
        .then(3)
        .otherwise(4)
        .cast(pl.Int8)
    )


def gsd2_expr() -> pl.Expr:
    total = pl.lit(math.log(BASIC_GSD2) ** 2)
    for column, factors in PEDIGREE_FACTORS.items():
        ln2 = [math.log(f) ** 2 for f in factors]
        total = total + pl.col(column).cast(pl.Int32).replace_strict(
            [1, 2, 3, 4, 5], ln2, default=ln2[-1], return_dtype=pl.Float64
        )
    return total.sqrt().exp()


def gsd2(scores: dict[str, int]) -> float:
    """Scalar form of gsd2_expr, for tests and hand checks."""
    total = math.log(BASIC_GSD2) ** 2 + sum(math.log(PEDIGREE_FACTORS[k][v - 1]) ** 2 for k, v in scores.items())
    return math.exp(math.sqrt(total))


def dqr_expr() -> pl.Expr:
    return pl.mean_horizontal([pl.col(c).cast(pl.Float64) for c in SCORES])
