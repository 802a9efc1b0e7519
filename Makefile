# The two commands a person needs: `make run` and `make test`. Both set up .venv first.
PYTHON ?= python3
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c  # a failing command before `| tail` fails its recipe
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The browser test drives Debian's chromium through Playwright's Python package (never `playwright install`).
CHROMIUM := /usr/bin/chromium

.PHONY: setup run test bench clean fonts lab

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

run: setup
	$(PY) app.py

test: setup $(CHROMIUM) fonts
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest

$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else \
		echo "make test needs Debian's chromium for its browser test: run 'sudo apt-get install chromium'" >&2; exit 1; \
	fi

# JupyterLab on the teaching notebooks (notebooks/, each run by `make test` at its CI setting)
lab: setup
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

bench: setup
	$(VENV)/bin/chatvla2-lite bench sim --episodes 100 --json

# The font corpus (sim/font_corpus.py) at the versions sim/assets/font_corpus.json pins, into .cache/font-corpus.
fonts: setup
	$(PY) -m sim.font_corpus fetch

clean:
	rm -rf $(VENV) .pytest_cache artifacts

# ---- the nano checkpoint: one named recipe (chatvla2_lite/training/recipes/<RECIPE>.toml) from scratch -------------
# `train` records the demos and trains every run not done yet (each resumes from its state/); `export --to` scores
# the recipe's card model (resuming too) and ships it to checkpoints/chatvla2-nano with its card and lineage.
.PHONY: nano
RECIPE ?= nano
RECIPE_OUT ?= outputs/$(RECIPE)
CLI := $(VENV)/bin/chatvla2-lite
nano: setup fonts
	$(CLI) train --recipe $(RECIPE) --out $(RECIPE_OUT) --json
	$(CLI) export --recipe $(RECIPE) --out $(RECIPE_OUT) --to checkpoints/chatvla2-nano --json
