# The README's commands. Set-up is idempotent: the venv is (re)built only when a pyproject or the lock changes.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# One lock file of exact versions (see its header): every install here and in every Dockerfile is constrained by it.
LOCK := constraints.txt
PIP_INSTALL := $(PY) -m pip install --quiet --constraint $(LOCK)
PACKAGES := packages/mcp-common $(patsubst %/,%,$(sort $(dir $(wildcard services/*/pyproject.toml)))) lab
PYPROJECTS := $(addsuffix /pyproject.toml,$(PACKAGES)) requirements-dev.txt
# The type checker's paths: the same in every target.
TYPED := packages/mcp-common/src $(sort $(wildcard services/*/src)) lab/src
# Coverage of the project's own packages, printed by every test target.
COVERAGE := $(addprefix --cov=,mcp_common k8s_mcp logs_mcp kb_mcp sre_lab) --cov-report=term:skip-covered
# What the fast loop leaves out: the real embedding model / large seeds, and the whole-stack scenarios.
FAST := not slow and not stack

.PHONY: setup lab test test-fast test-stack lint check bench lock dist clean

setup: $(STAMP)

$(STAMP): $(PYPROJECTS) $(LOCK)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@# The distributions' former names (renamed to sre-lab-*: the old ones are taken on PyPI) and stale
	@# egg-info left in src/ by earlier editable installs would shadow the new metadata.
	$(PY) -m pip uninstall --quiet --yes k8s-mcp logs-mcp kb-mcp mcp-common 2>/dev/null || true
	rm -rf $(addsuffix /src/*.egg-info,$(PACKAGES))
	@# torch first, at the lock's version: the CPU build where the machine has it (an unconstrained resolve
	@# pulls multi-GB CUDA wheels).
	$(PIP_INSTALL) torch
	@# kb-mcp with its build-time extra: the tests check the ONNX export, and the export below needs torch.
	$(PIP_INSTALL) -r requirements-dev.txt $(addprefix -e ,$(patsubst services/kb-mcp,services/kb-mcp[export],$(PACKAGES)))
	@# The embedding model's ONNX export, made once into the user cache (a server or an ingest would otherwise
	@# make it on first use); idempotent, keyed by the model's content.
	$(VENV)/bin/kb-mcp export-model >/dev/null
	@touch $@

lab: $(STAMP)  ## seed the embedded lab and check every server over MCP
	$(VENV)/bin/sre-lab up --embedded

lint: $(STAMP)  ## ruff (lint + format) and the type checker
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy $(TYPED)

test: lint  ## lint, type-check, then every test (the stack scenarios on the embedded stack), with coverage
	$(PY) -m pytest $(COVERAGE)

test-fast: lint  ## the edit loop: lint, type-check, then the tests not marked slow or stack, with coverage
	$(PY) -m pytest -m "$(FAST)" $(COVERAGE)

test-stack: $(STAMP)  ## the workshop path for real: engine, every image built, sre-lab up --docker, stack tests, down
	.ci/stack/test-stack.sh

check: test

bench: $(STAMP)  ## benchmarks: print figures, write JSON under .lab/bench/
	$(PY) -m sre_lab.bench_logs
	$(PY) -m sre_lab.bench_up
	$(PY) services/kb-mcp/eval/bench.py

dist: $(STAMP)  ## wheels of the five packages into dist/ (what a release uploads; see the README)
	rm -rf dist && $(PY) -m pip wheel --quiet --no-deps --wheel-dir dist $(PACKAGES)
	@ls -1 dist

lock:  ## resolve every dependency afresh (newest the pyprojects allow) and rewrite the lock
	rm -rf .lab/lock-venv && $(PYTHON) -m venv .lab/lock-venv
	.lab/lock-venv/bin/pip install --quiet --upgrade pip
	.lab/lock-venv/bin/pip install --quiet torch==$$(sed -n 's/^torch==//p' $(LOCK))
	.lab/lock-venv/bin/pip install --quiet -r requirements-dev.txt $(addprefix ./,$(PACKAGES))
	{ sed -n '/^#/p' $(LOCK); .lab/lock-venv/bin/pip freeze --exclude-editable \
	  | grep -v -i -E '^sre-lab' | sed -E 's/^([A-Za-z0-9_.-]+==[^+ ]+)\+[A-Za-z0-9.]+$$/\1/'; } > $(LOCK).new
	mv $(LOCK).new $(LOCK) && rm -rf .lab/lock-venv
	@git diff --stat -- $(LOCK) 2>/dev/null || true

clean:
	rm -rf $(VENV) .lab
