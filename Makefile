# One entry point for newcomers and CI: `make run`, `make test`, `make bench`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup proto run test bench clean

# gRPC code is generated from proto/ by the build, never committed.
PROTOS      := $(wildcard proto/mujun/v1/*.proto)
PROTO_STAMP := service/mujun/_proto/__init__.py

setup: $(STAMP) $(PROTO_STAMP)

proto: $(PROTO_STAMP)

$(PROTO_STAMP): $(PROTOS) service/mujun/server/_codegen.py | $(STAMP)
	$(PY) service/mujun/server/_codegen.py

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
