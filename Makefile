# The two commands a newcomer needs: `make run` and `make test`.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CATALOGS := $(wildcard storeserver/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGS:.po=.mo)

.PHONY: install run test lint translations screenshots bench bench-demo clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile --statistics -i $< -o $@

install: $(STAMP) $(COMPILED)

## Serve the demo store on 127.0.0.1:8000 (pulls the demo HQ feed on first run).
run: install
	$(BIN)/storeserver db upgrade
	$(BIN)/storeserver demo setup
	$(BIN)/storeserver serve

# A PostgreSQL server for the suite's second run, such as the throwaway one
# `bash .ci/postgres` starts and names; empty: SQLite only.
TEST_POSTGRESQL_URL ?=

## The whole test suite, browser tests included: on SQLite and, when
## TEST_POSTGRESQL_URL is set, on PostgreSQL at the same time (one core each;
## the PostgreSQL run's output goes to build/test-postgresql.log, its end is
## shown after the SQLite run's).
test: install
ifneq ($(TEST_POSTGRESQL_URL),)
	@mkdir -p build
	@STORESERVER_TEST_DATABASE_URL='$(TEST_POSTGRESQL_URL)' $(BIN)/python -m pytest \
	    -p no:cacheprovider --basetemp=build/pytest-postgresql \
	    > build/test-postgresql.log 2>&1 & postgresql=$$!; \
	STORESERVER_TEST_DATABASE_URL= $(BIN)/python -m pytest --basetemp=build/pytest-sqlite; \
	sqlite=$$?; wait $$postgresql; postgresql=$$?; \
	echo "--- the same suite on PostgreSQL (build/test-postgresql.log):"; \
	if [ $$postgresql -eq 0 ]; then tail -n 5 build/test-postgresql.log; \
	else tail -n 400 build/test-postgresql.log; fi; \
	test $$sqlite -eq 0 -a $$postgresql -eq 0
else
	STORESERVER_TEST_DATABASE_URL= $(BIN)/python -m pytest
	@echo "Not run on PostgreSQL: set TEST_POSTGRESQL_URL (bash .ci/postgres starts a server)."
endif

lint: install
	$(BIN)/ruff check storeserver tests
	$(BIN)/ruff format --check storeserver tests

## Extract UI strings and update both catalogs (English is filled from the source).
translations: $(STAMP)
	mkdir -p build
	$(BIN)/pybabel extract -F babel.cfg -k _l -o build/messages.pot --no-location --sort-output storeserver templates
	$(BIN)/pybabel update -i build/messages.pot -d storeserver/translations --no-fuzzy-matching --ignore-obsolete
	$(BIN)/python -m storeserver.i18n fill-english

screenshots: install
	$(BIN)/python docs/screenshots.py

clean:
	rm -rf $(VENV) build *.egg-info

## A store of 100,000 customers: each figure beside its floor, targets met or not.
bench: install
	$(BIN)/python bench/flagship.py

## Time the demo store's pull, pages, reassign and HQ sync over HTTP.
bench-demo: install
	$(BIN)/python bench/book.py
	$(BIN)/python bench/sync.py
	$(BIN)/python bench/insights.py
