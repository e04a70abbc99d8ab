# One entry point for people and CI. Needs only python3 (>= 3.11) with venv and pip.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test unit integration lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## The demo: embedded broker, topics, enricher, sink, replay of seeds/ into out/.
run: $(STAMP)
	$(BIN)/newswire run --seeds seeds --out out

## Tests run in PYTEST_WORKERS processes (pytest-xdist), one per core of the 2-core CI
## machine: more workers starved the chaos/SIGKILL tests' services of CPU on a loaded
## machine (see NOTES-citime.md). Each worker starts its own broker and PostgreSQL (free
## ports, own data dirs); --dist loadfile keeps a file's tests on one worker, so module
## fixtures (a file's running services, a loaded model) are built once. 0: serial.
PYTEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile

## The whole test suite: unit, property and integration (real broker, real worker).
test: $(STAMP)
	$(PYTEST)

unit: $(STAMP)
	$(PYTEST) -m "not integration"

integration: $(STAMP)
	$(PYTEST) -m integration

## Lint, format and type check (ruff, mypy; settings in pyproject.toml); `ruff format`
## fixes formatting. mypy checks services/ under its import name `newswire` through a
## symlink (git-ignored build/), so it reports paths as build/mypy-path/newswire/... .
MYPY_PATH := build/mypy-path

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	mkdir -p $(MYPY_PATH)
	ln -sfn $(CURDIR)/services $(MYPY_PATH)/newswire
	MYPYPATH=$(MYPY_PATH) $(BIN)/mypy -p newswire

clean:
	rm -rf $(VENV) out .newswire .pytest_cache .hypothesis .mypy_cache $(MYPY_PATH)
