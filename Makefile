# Two commands on a fresh machine: `make run` and `make test` (the .venv is created on first use).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-12)
export GX_ANALYTICS_ENABLED := False

.PHONY: run test bench dev venv clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/pcf build

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_ingest.py
	$(BIN)/python benchmarks/bench_engine.py

# the Dagster UI on the same instance as `pcf build` and `pcf runs` (data/curated/dagster unless DAGSTER_HOME is set)
dev: $(STAMP)
	DAGSTER_HOME=$${DAGSTER_HOME:-$(CURDIR)/data/curated/dagster} $(BIN)/python -c 'from pipelines.runs import instance; from pipelines.config import settings; instance(settings())'
	DAGSTER_HOME=$${DAGSTER_HOME:-$(CURDIR)/data/curated/dagster} $(BIN)/dagster dev -m pipelines.definitions

clean:
	rm -rf data/curated/releases data/curated/objects data/curated/_assets data/curated/warehouse.duckdb data/curated/dagster
