"""The product marts: sql/marts/*.sql run on DuckDB over the engine's result tables."""

from __future__ import annotations

import duckdb
import polars as pl

from pipelines.common.sqlmodels import run_model

MARTS = (
    "product_footprint",
    "product_footprint_stage",
    "product_footprint_gas",
    "product_contribution",
    "product_benchmark",
)


def build_marts(engine: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    if not engine:
        return {}
    con = duckdb.connect()
    try:
        tables = {k: v for k, v in engine.items() if k.startswith("engine_")}
        marts = {name: run_model(f"marts/{name}", con=con, **tables) for name in MARTS if name != "product_benchmark"}
        marts["product_benchmark"] = run_model(
            "marts/product_benchmark", con=con, product_footprint=marts["product_footprint"]
        )
        return marts
    finally:
        con.close()
