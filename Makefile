# Styrkedja: `make run` serves the product (embedded default), `make test` runs the whole suite.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test services system-deps lint bench demo clean stack stack-stop

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/styrkedja serve

test: $(STAMP) services system-deps
	$(BIN)/python -m pytest -q

services:
	@scripts/services.sh

system-deps:
	@scripts/system-deps.sh

lint: $(STAMP)
	$(BIN)/ruff check .

demo: $(STAMP)
	$(BIN)/styrkedja demo

# Production shape on one machine: gunicorn, two RQ workers and the projection runner (docs/operations.md).
stack: $(STAMP) services
	$(BIN)/python -m web.ops_stack start

stack-stop:
	$(BIN)/python -m web.ops_stack stop

bench: $(STAMP) services
	$(BIN)/python bench/append.py

clean:
	rm -rf var test-output .pytest_cache
