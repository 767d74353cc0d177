"""The marts on PySpark (optional `spark` extra): the SQL emitted for Spark runs in local mode over
Parquet (the engine's tables and the release's product_footprint) and gives DuckDB's numbers. Skipped
when PySpark is not installed (the default `make test` does not install it)."""

from __future__ import annotations

import math

import pytest

pyspark = pytest.importorskip("pyspark")

from pipelines.common.sqlmodels import model_path  # noqa: E402
from pipelines.engine.marts import MARTS  # noqa: E402
from pipelines.release.analyst_sql import emit  # noqa: E402


@pytest.fixture(scope="module")
def spark(marts_release, tmp_path_factory):
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName("pcf-marts-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    tmp = tmp_path_factory.mktemp("spark")
    for name, frame in marts_release["engine"].items():
        if name.startswith("engine_"):
            frame.write_parquet(tmp / f"{name}.parquet")
            session.read.parquet(str(tmp / f"{name}.parquet")).createOrReplaceTempView(name)
    s, result = marts_release["settings"], marts_release["result"]
    release_footprint = s.releases_dir / result.version / "product_footprint.parquet"
    session.read.parquet(str(release_footprint)).createOrReplaceTempView("product_footprint")
    yield session
    session.stop()


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return a == b


@pytest.mark.parametrize("mart", MARTS)
def test_mart_on_spark_equals_duckdb(spark, marts_release, mart):
    sql = emit(model_path(f"marts/{mart}").read_text(encoding="utf-8"), "spark")
    rows = [tuple(r) for r in spark.sql(sql).collect()]
    expected = marts_release["marts"][mart]
    assert len(rows) == expected.height > 0
    for got, want in zip(rows, expected.iter_rows()):
        assert len(got) == len(want)
        assert all(_same(g, w) for g, w in zip(got, want)), (mart, got, want)
