# `make demo` and `make test` do all the set-up themselves: system packages when missing,
# a virtual environment in .venv, and the package with its extras.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench system-deps clean

demo: $(STAMP) system-deps
	$(PY) scripts/demo.py

test: $(STAMP)
	@PYTHON=$(PYTHON) WITH_BROWSER=1 sh scripts/system-deps.sh
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) benchmarks/scalar_vs_micrograd.py
	$(PY) benchmarks/batch_vs_numpy.py
	$(PY) benchmarks/mode_overhead.py

system-deps:
	@PYTHON=$(PYTHON) sh scripts/system-deps.sh

$(PY):
	@PYTHON=$(PYTHON) VENV_CHECK=1 sh scripts/system-deps.sh
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	touch $@

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis .mypy_cache .ruff_cache
