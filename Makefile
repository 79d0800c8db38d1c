# `make demo`, `make test` and `make docs` do all the set-up themselves: system packages when
# missing, a virtual environment in .venv, and the package with every extra.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
EXTRAS := all,dev,bench,docs

.PHONY: demo test lint docs lessons bench system-deps clean

demo: $(STAMP) system-deps
	$(PY) scripts/demo.py

# the tests build the documentation site too (tests/test_docs.py), into a temporary folder
test: $(STAMP)
	@PYTHON=$(PYTHON) WITH_BROWSER=1 sh scripts/system-deps.sh
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

# the site, lessons executed, into site/; any warning (a broken link, a bad docstring) fails it
docs: $(STAMP) system-deps
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

# every lesson executed into out/lessons/<name>.html, MathJax beside them: pages that work offline
lessons: $(STAMP) system-deps
	$(PY) scripts/lessons_html.py

bench: $(STAMP)
	$(PY) benchmarks/scalar_vs_micrograd.py
	$(PY) benchmarks/batch_vs_numpy.py
	$(PY) benchmarks/mode_overhead.py

system-deps:
	@PYTHON=$(PYTHON) sh scripts/system-deps.sh

$(PY):
	@PYTHON=$(PYTHON) VENV_CHECK=1 sh scripts/system-deps.sh
	$(PYTHON) -m venv $(VENV)

# re-installed whenever the dependencies (pyproject.toml) or the extras asked for (here) change
$(STAMP): pyproject.toml Makefile | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $@

clean:
	rm -rf $(VENV) out site dist .pytest_cache .hypothesis .mypy_cache .ruff_cache
