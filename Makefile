# Two entry points for a fresh clone: `make run` starts Augury, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

COMPILED := .venv-compiled
SOURCES := $(shell find src -name '*.py')
BENCH_STREAM := /tmp/augury-orderbook-200k.csv
PEERS := ../shared/bench/orderbook_peers.py

.PHONY: run run-compiled test test-compiled lint typecheck pytest bench bench-orderbook compiled unasync clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# The web UI's chart library, from npm (package-lock.json), served from node_modules.
NODE_STAMP := node_modules/.installed

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

run: $(STAMP) $(NODE_STAMP)
	$(BIN)/augury serve --demo

# The same on the mypyc-compiled core (README, "The compiled build").
run-compiled: $(COMPILED)/.installed $(NODE_STAMP)
	$(COMPILED)/bin/augury serve --demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/python scripts/unasync.py --check
	$(BIN)/lint-imports
	$(BIN)/python scripts/import_cycles.py

# The sync SDK client (src/augury/client/_sync/) is generated from the async one (_async/).
unasync: $(STAMP)
	$(BIN)/python scripts/unasync.py

typecheck: $(STAMP)
	$(BIN)/mypy --strict src/augury/domain src/augury/journal src/augury/engine src/augury/projections src/augury/api src/augury/client src/augury/evidence src/augury/web src/augury/settings.py src/augury/priority.py src/augury/cli src/augury/watch.py src/augury/demo_seed src/augury/transport src/augury/roles src/augury/identity

pytest: $(STAMP) $(NODE_STAMP)
	$(BIN)/pytest

# The core's tests again, against the mypyc-compiled production build.
test-compiled: $(COMPILED)/.installed
	$(COMPILED)/bin/python -m pytest tests/domain --import-mode=importlib -p no:cacheprovider

test: lint typecheck pytest test-compiled

# The production build: the hot modules of the core compiled with mypyc (setup.py).
$(COMPILED)/.installed: pyproject.toml setup.py $(SOURCES)
	$(PYTHON) -m venv $(COMPILED)
	$(COMPILED)/bin/pip install -q --upgrade pip 'setuptools>=77,<81' wheel 'mypy>=1.10,<3' \
		'msgspec>=0.19,<0.23' 'google-re2>=1.1,<2' 'pytest>=8.0,<10' 'hypothesis>=6.100,<7'
	AUGURY_COMPILE=1 $(COMPILED)/bin/pip install -q --no-build-isolation .
	touch $@

compiled: $(COMPILED)/.installed

# Order-book throughput side by side with the peers (shared/bench), plain and compiled.
bench-orderbook: $(STAMP) $(COMPILED)/.installed
	python3 $(PEERS) gen 200000 $(BENCH_STREAM)
	python3 $(PEERS) compare $(BENCH_STREAM) -- $(BIN)/python bench/orderbook.py
	python3 $(PEERS) compare $(BENCH_STREAM) -- $(COMPILED)/bin/python bench/orderbook.py

bench: bench-orderbook
	$(BIN)/python bench/lmsr.py

clean:
	rm -rf $(VENV) $(COMPILED) build *.egg-info src/*.egg-info
