# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv and install
# pinned versions first (torch first, exactly torch==2.13.0: a looser pin pulls a CUDA build).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.fedinsight-installed
# Flower would otherwise reinstall the app's dependencies with uv (and pull a CUDA torch).
export FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION := 1

.PHONY: install demo test test-fast lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/fedinsight simulate --pii --out runs

# Two pytest workers, each test file on one worker (its module fixtures built once; a fixture
# two files share is built once per session, see tests/audit/conftest.py). On this 2-core
# machine two keep both cores busy (vmstat: 4% idle over a whole run); four were slower than
# two. --no-loadscope-reorder keeps the order tests/conftest.py gives: the longest files first.
# TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2

test: $(STAMP)
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=30

test-fast: $(STAMP)
	$(BIN)/pytest -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy coordinator client_node privacy anonymization audit simulations insight federation cli

# Comparison libraries for the audit benchmark only, never project dependencies: merkletools
# does not install on Python 3.11 with its dependencies (pysha3 does not build), hence --no-deps.
bench: $(STAMP)
	-$(BIN)/pip install --quiet pymerkle==7.0.0
	-$(BIN)/pip install --quiet --no-deps merkletools==1.0.3
	$(BIN)/fedinsight bench all

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
