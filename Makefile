# `make demo` and `make test` set themselves up: a .venv with the project and its test extras.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test soak lint bench bench-throughput bench-latency mutate clean chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The browser tests drive Debian's Chromium (Playwright cannot download its own here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

demo: $(STAMP)
	$(BIN)/esexchange demo $(DEMO_ARGS)

test: $(STAMP) chromium
	$(BIN)/ruff check src tests tools
	$(BIN)/mypy
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

# The kill -9 and fault-injection campaigns at full size (the suite runs them bounded).
soak: $(STAMP)
	ESEXCHANGE_KILLS=$${ESEXCHANGE_KILLS:-50} ESEXCHANGE_KILL_ACTIVITIES=$${ESEXCHANGE_KILL_ACTIVITIES:-1000} \
	ESEXCHANGE_FAULT_SEEDS=$${ESEXCHANGE_FAULT_SEEDS:-30} ESEXCHANGE_FUZZ_EXAMPLES=$${ESEXCHANGE_FUZZ_EXAMPLES:-150} \
	$(BIN)/pytest -n 0 -s -p no:cacheprovider tests/e2e/test_kill.py tests/e2e/test_faults.py tests/e2e/test_fuzz_exchange.py

# Every figure of issue 13: requests per pass, throughput and idle pass, then latency.
bench: $(STAMP)
	$(BIN)/python -m benchmarks.requests_per_pass
	$(BIN)/python -m benchmarks.throughput
	$(BIN)/python -m benchmarks.latency $(LATENCY_ARGS)

# First pass and idle pass against plain exchangelib (ESX_BENCH_* sizes: benchmarks/throughput.py).
bench-throughput: $(STAMP)
	$(BIN)/python -m benchmarks.throughput

# Change -> other side with the service running, 200 changes per backend and direction
# (p50/p95/max); LATENCY_ARGS="--db postgresql://..." measures on an empty PostgreSQL db.
LATENCY_ARGS ?=
bench-latency: $(STAMP)
	$(BIN)/python -m benchmarks.latency $(LATENCY_ARGS)

# Mutation testing of domain/ with the fast tests (pyproject's [tool.mutmut]); from scratch
# each time, so the scores judge today's tests. MUTANTS narrows it: 'esexchange.domain.merge*'.
MUTANTS ?=
$(VENV)/.mutation: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,mutation]'
	touch $@

mutate: $(VENV)/.mutation
	rm -rf mutants
	HYPOTHESIS_PROFILE=mutation $(BIN)/mutmut run --max-children 2 $(MUTANTS)
	$(BIN)/python tools/mutation_scores.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache mutants
