# The two commands a person needs: `make run` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup run test bench clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

run: setup
	$(PY) app.py

test: setup
	$(PY) -m pytest

bench: setup
	$(VENV)/bin/chatvla2-lite bench sim --episodes 100 --json

clean:
	rm -rf $(VENV) .pytest_cache artifacts
