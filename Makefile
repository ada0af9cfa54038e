# The two commands of the README: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PORT ?= 8000
export PORT

.PHONY: run test install translations catalog bench clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed translations

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
