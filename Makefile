# losskit: `make lab` opens the lessons, `make test` runs the whole suite.
# Both create .venv on first use and refresh it when pyproject.toml changes.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: lab test test-fast bench lint format figures grade-demo sync-notebooks clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.lab-installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[lab]'
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.lab-installed

lab: $(VENV)/.lab-installed
	$(VENV)/bin/jupyter lab notebooks/

test: $(VENV)/.dev-installed
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: $(VENV)/.dev-installed
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

bench: $(VENV)/.dev-installed
	$(VENV)/bin/losskit bench

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check losskit tests benchmarks

format: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format losskit tests benchmarks

figures: $(VENV)/.dev-installed
	$(VENV)/bin/losskit figures --out figures

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache figures artifacts
