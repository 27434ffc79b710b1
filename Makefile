# The book's two commands:  `make book` builds it, `make test` checks everything.
# Both start from a fresh clone: they create .venv and install the exact pins first.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
FMNIST := /usr/share/datasets/fashion-mnist
JOBS   ?= 2
NB     ?=

NOTEBOOKS := $(sort $(wildcard book/*.ipynb))

# One numeric path for every run (src/scratch/reproducibility.py): ATen, MKL and oneDNN on
# their AVX2 kernels, so the stored outputs reproduce on any x86-64 CPU with or without
# AVX-512. Each chapter also pins them in its first cell; a value already set wins.
export ATEN_CPU_CAPABILITY ?= avx2
export MKL_ENABLE_INSTRUCTIONS ?= AVX2
export MKL_CBWR ?= AVX2
export ONEDNN_MAX_CPU_ISA ?= AVX2

.PHONY: help venv data chromium book book-strict test robustness lint format pytest notebooks notebook lab clean

help:
	@echo "make book       build the HTML book into _build/html (set-up included)"
	@echo "make test       lint, warning-free book build, pytest + nbval (set-up included)"
	@echo "make robustness re-run every notebook on another numeric path and other seeds;"
	@echo "                fail if any claim's verdict changes"
	@echo "make lab        JupyterLab on the book"
	@echo "make notebooks  re-execute every notebook in place from a clean kernel"

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet pip==26.3
	$(BIN)/python -m pip install --quiet --requirement requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation --editable .
	touch $@

venv: $(STAMP)

# Fashion-MNIST comes from Debian's dataset-fashion-mnist package (no download at run
# time). As root we install it; otherwise we say how.
data:
	@if [ ! -d $(FMNIST) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist) >/dev/null; \
	  else \
	    echo "Fashion-MNIST is missing: run 'sudo apt-get install dataset-fashion-mnist'"; \
	  fi; \
	fi

# Chromium for the browser tests (tests/test_browser.py, tests/test_lab.py), from
# Debian's chromium package and driven by playwright. As root we install it; otherwise
# we say how.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null; \
	  else \
	    echo "Chromium is missing (the browser tests need it): run 'sudo apt-get install chromium'"; \
	  fi; \
	fi

book: venv data
	$(BIN)/jupyter-book build . --keep-going
	@echo "open _build/html/index.html"

# The same build, failing on any warning (nitpicky): part of `make test`.
book-strict: venv
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going

lint: venv
	$(BIN)/ruff check src experiments tests book tools
	$(BIN)/ruff format --check src experiments tests book tools

format: venv
	$(BIN)/ruff check --fix src experiments tests book tools
	$(BIN)/ruff format src experiments tests book tools

# pytest over tests/ and nbval (strict: every stored text output is compared) over every
# notebook; --dist loadscope keeps each notebook's cells on one worker.
# Then every Examples:: section of the library and the experiments as a doctest.
pytest: venv data chromium
	$(BIN)/python -m pytest -n $(JOBS) --dist loadscope tests book \
	  --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-current-env
	$(BIN)/python -m pytest -q --doctest-modules src/scratch experiments --ignore=experiments/__main__.py

test: lint book-strict pytest

# Every notebook re-executed in temporary copies, on another numeric path and with every
# seed shifted; fails if any verdict differs from the committed one (tools/robustness.py).
robustness: venv data
	$(BIN)/python -m tools.robustness --jobs $(JOBS)

# Re-execute notebooks in place, one clean top-to-bottom run each (NB=path for one).
notebooks: venv data
	$(BIN)/ruff format $(or $(NB),$(NOTEBOOKS))
	$(BIN)/python -m tools.run_notebooks $(or $(NB),$(NOTEBOOKS))

notebook: notebooks

lab: venv data
	$(BIN)/jupyter lab --notebook-dir=. book/

clean:
	rm -rf _build .pytest_cache .ruff_cache .hypothesis
