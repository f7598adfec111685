# The two commands: `make demo` and `make test`. Each creates .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORPUS ?= $(HOME)/.cache/techvet-corpus
TRUTH ?= ../shared/corpus/TRUTH.tsv
DEMO_APP := tests/fixtures/apps/drone_companion.apk

.PHONY: demo test lint eval bench clean

$(BIN)/techvet: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

demo: $(BIN)/techvet
	$(BIN)/techvet scan $(DEMO_APP) -v
	$(BIN)/techvet scan $(DEMO_APP) --format json -o demo-report.json
	@echo "JSON report written to demo-report.json"

test: $(BIN)/techvet
	$(BIN)/ruff check src tests bench tools
	$(BIN)/mypy
	$(BIN)/pytest -q

eval: $(BIN)/techvet
	$(BIN)/python tools/eval_corpus.py --corpus $(CORPUS) --truth $(TRUTH)

$(VENV)/.bench: $(BIN)/techvet
	$(BIN)/pip install --quiet -e '.[bench]'
	@touch $@

bench: $(VENV)/.bench
	$(BIN)/python bench/scan.py --corpus $(CORPUS)

clean:
	rm -rf $(VENV) demo-report.json .pytest_cache .mypy_cache .ruff_cache
