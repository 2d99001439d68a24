# One entry point for newcomers and CI: `make run`, `make test`, `make bench`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup run test bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

run: setup
	$(PY) -m mujun.cli demo

test: setup
	$(PY) -m pytest

bench: setup
	$(PY) -m pytest benchmarks -q

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks
