# Two commands on a fresh machine: `make run` and `make test` (the .venv is created on first use).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | sha256sum | cut -c1-12)
export GX_ANALYTICS_ENABLED := False

.PHONY: run test lint bench bench-scale dev serve venv clean lock wheel

# Installed from the lockfile: every package at the version and with the SHA-256 hashes recorded there
# (requirements.lock, pip-tools; `make lock` regenerates it after a change of pins in pyproject.toml).
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

lock:
	$(PYTHON) -m venv /tmp/pcf-lock && /tmp/pcf-lock/bin/pip install --quiet pip-tools==7.6.2
	/tmp/pcf-lock/bin/pip-compile --quiet --generate-hashes --extra test --strip-extras --allow-unsafe \
		--no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/pcf build

# lint (ruff), format check and types (mypy) first, then the tests
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q

wheel: $(STAMP)
	rm -rf dist build && $(BIN)/python -m pip wheel --quiet --no-deps -w dist .

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_ingest.py
	$(BIN)/python benchmarks/bench_engine.py
	$(BIN)/python benchmarks/bench_matching.py
	$(BIN)/python benchmarks/bench_ilcd.py
	$(BIN)/python benchmarks/bench_web.py

# where one machine stops (issue 20, docs/scale.md): build cost curve, 10,000 uploads, 1,000,000-process solve
# (about an hour and a half with the default 10,000 uploads; set SCALE_ARGS="--uploads 1000" for a shorter run)
bench-scale: $(STAMP)
	$(BIN)/python benchmarks/bench_scale.py $(SCALE_ARGS)

# the Dagster UI on the same instance as `pcf build` and `pcf runs` (data/curated/dagster unless DAGSTER_HOME is set)
dev: $(STAMP)
	DAGSTER_HOME=$${DAGSTER_HOME:-$(CURDIR)/data/curated/dagster} $(BIN)/python -c 'from pipelines.runs import instance; from pipelines.config import settings; instance(settings())'
	DAGSTER_HOME=$${DAGSTER_HOME:-$(CURDIR)/data/curated/dagster} $(BIN)/dagster dev -m pipelines.definitions

# the web platform with the PACT host on localhost:8000 (a TLS proxy in front in production: docs/web.md)
serve: $(STAMP)
	$(BIN)/pcf serve --port 8000

clean:
	rm -rf data/curated/releases data/curated/objects data/curated/_assets data/curated/warehouse.duckdb data/curated/dagster
