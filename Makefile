# The README's commands. Set-up is idempotent: the venv is (re)built only when a pyproject changes.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PACKAGES := packages/mcp-common $(sort $(dir $(wildcard services/*/pyproject.toml))) lab
PYPROJECTS := $(wildcard packages/*/pyproject.toml services/*/pyproject.toml lab/pyproject.toml) requirements-dev.txt

.PHONY: setup lab test lint check bench clean

setup: $(STAMP)

$(STAMP): $(PYPROJECTS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@# torch first, pinned: this is the CPU build; an unpinned resolve pulls multi-GB CUDA wheels.
	$(PY) -m pip install --quiet torch==2.13.0
	@# The distributions' former names (renamed to sre-lab-*: the old ones are taken on PyPI) and stale
	@# egg-info left in src/ by earlier editable installs would shadow the new metadata.
	$(PY) -m pip uninstall --quiet --yes k8s-mcp logs-mcp kb-mcp mcp-common 2>/dev/null || true
	rm -rf $(addsuffix src/*.egg-info,$(dir $(addsuffix /,$(PACKAGES))))
	$(PY) -m pip install --quiet -r requirements-dev.txt $(addprefix -e ,$(PACKAGES))
	@# The embedding model's ONNX export, made once into the user cache (a server or an ingest would otherwise
	@# make it on first use); idempotent, keyed by the model's content.
	$(VENV)/bin/kb-mcp export-model >/dev/null
	@touch $@

lab: $(STAMP)  ## seed the embedded lab and check every server over MCP
	$(VENV)/bin/sre-lab up --embedded

test: $(STAMP)  ## lint, type-check, then the whole test suite on the embedded stack
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy packages/mcp-common/src services/*/src lab/src
	$(PY) -m pytest

check: lint test

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy packages/mcp-common/src services/*/src

bench: $(STAMP)  ## benchmarks: print figures, write JSON under .lab/bench/
	$(PY) -m sre_lab.bench_logs
	$(PY) -m kb_mcp.bench

clean:
	rm -rf $(VENV) .lab
