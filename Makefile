# The two commands of the README: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PORT ?= 8000
export PORT

.PHONY: run test install lock translations catalog bench clean

# Bounds live in pyproject.toml; the exact versions (with hashes) that every
# install uses live in requirements/*.lock, written by `make lock`.
RUNTIME_LOCK := requirements/runtime.lock
TEST_LOCK := requirements/test.lock

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml $(RUNTIME_LOCK) | $(BIN)/activate
	$(BIN)/pip install -q --require-hashes -r $(RUNTIME_LOCK)
	$(BIN)/pip install -q --no-deps -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml $(TEST_LOCK) $(VENV)/.installed
	$(BIN)/pip install -q --require-hashes -r $(TEST_LOCK)
	touch $@

install: $(VENV)/.installed translations

# Re-resolve the locks after editing the dependencies in pyproject.toml: pins that
# still fit are kept. `make lock UV_ARGS=--upgrade` moves everything to the newest
# releases within the bounds; `make lock UV_ARGS='--upgrade-package flask'` one package.
# The test lock is resolved first and the runtime lock takes its versions, so both agree.
UV_VERSION := 0.13.9
UV_ARGS ?=
LOCK_FLAGS := --quiet --python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
	--generate-hashes --custom-compile-command 'make lock'
lock: | $(BIN)/activate
	$(BIN)/pip install -q 'uv==$(UV_VERSION)'
	@mkdir -p requirements
	$(BIN)/uv pip compile pyproject.toml --extra test $(LOCK_FLAGS) $(UV_ARGS) -o $(TEST_LOCK)
	$(BIN)/uv pip compile pyproject.toml $(LOCK_FLAGS) -c $(TEST_LOCK) -o $(RUNTIME_LOCK)

# Compiled catalogues are build products (.mo files are not committed).
translations: $(VENV)/.installed
	@$(BIN)/pybabel compile -d portal/translations -f >/dev/null

# Re-extract strings and update the catalogues after changing user-facing text.
catalog: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o portal/translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations --no-fuzzy-matching --ignore-obsolete

run: install
	@mkdir -p instance
	$(FLASK) init-db
	$(FLASK) seed-demo --if-empty
	@$(FLASK) index check >/dev/null 2>&1 || $(FLASK) index rebuild
	@bash scripts/serve.sh

# axe-core (package.json, pinned in package-lock.json) for the browser tests' accessibility checks.
node_modules/.package-lock.json: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund && touch $@; \
	else echo "npm not found (apt-get install npm): the browser tests need axe-core" >&2; \
	  if [ "$${CI:-}" = "true" ]; then exit 1; fi; fi

test: $(VENV)/.test-installed translations node_modules/.package-lock.json
	@bash scripts/test.sh

# `make bench` (100,000 entries, SQLite and PostgreSQL); `make bench COUNT=1000000`,
# `make bench ARGS="--backends sqlite --duration 4"`: bench/run.py, results in bench/results/.
COUNT ?= 100000
bench: install
	$(BIN)/python -m bench.run --count $(COUNT) $(ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache node_modules
