# One entry point for newcomers and CI: `make run`, `make test`, `make bench`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup proto run test bench clean browser

# gRPC code is generated from proto/ by the client's build (clients/python/hatch_build.py, run by every
# pip install of clients/python), never committed.
PROTOS      := $(wildcard proto/mujun/v1/*.proto)
PROTO_STAMP := clients/python/mujun_wire/v1/__init__.py

setup: $(STAMP) $(PROTO_STAMP)

proto: $(PROTO_STAMP)

$(PROTO_STAMP): $(PROTOS) clients/python/hatch_build.py | $(STAMP)
	$(PY) clients/python/hatch_build.py

$(STAMP): pyproject.toml clients/python/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e clients/python -e '.[dev]'
	touch $(STAMP)

# The gRPC server on the embedded store in ./data (bundled packs published and active); it prints
# how to call it. Stop with Ctrl-C (in-flight calls are drained).
run: setup
	$(PY) -m mujun.cli serve --data-dir data --port 50051 --metrics-port 9464

test: setup browser
	$(PY) -m pytest

# The impact report's test (tests/test_report_html.py) opens the page in Debian's Chromium, headless, and
# fonts-noto-cjk draws its Chinese labels; both are installed here when missing (CI runs as root). Bounded
# in time; the test fails, never skips, when the browser is absent.
browser:
	@command -v chromium >/dev/null && fc-list :lang=zh | grep -q . || { \
	  timeout 300 apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 900 \
	  apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk; }

bench: setup
	$(PY) -m pytest benchmarks -q

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks
