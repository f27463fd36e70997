# FLEP Registry: `make demo` and `make test` work on a fresh machine (PyPI, npm and Debian reachable).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP_PY  := $(VENV)/.installed
STAMP_NPM := node_modules/.installed

.PHONY: setup demo test lint test-python test-solidity slither devnet-up devnet-down bench clean

setup: $(STAMP_PY) $(STAMP_NPM)

# torch first and pinned: an unpinned torch (or a dependency pulling it) downloads a multi-GB CUDA build.
$(STAMP_PY): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(STAMP_NPM): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

demo: setup
	$(PY) scripts/demo.py

# pytest last, so its summary is the closing line of the run.
test: setup lint slither test-solidity test-python

# lint-imports checks the layer contracts in pyproject.toml ([tool.importlinter]).
lint: setup
	$(VENV)/bin/ruff check registry clients scripts tests flep_flower
	$(VENV)/bin/lint-imports --no-cache

# The explorer's browser tests drive Debian's Chromium (installed when missing, as root).
test-python: setup
	scripts/ensure_chromium.sh
	$(VENV)/bin/pytest

test-solidity: setup
	node_modules/.bin/forge test
	node_modules/.bin/forge snapshot --check --match-contract 'ModelRegistryTest|GasBudgetTest'

slither: setup
	scripts/slither.sh

devnet-up: setup
	$(VENV)/bin/flep devnet up

devnet-down: setup
	$(VENV)/bin/flep devnet down

clean:
	-$(VENV)/bin/flep devnet down
	rm -rf out cache .flep
