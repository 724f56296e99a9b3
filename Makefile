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

## The whole test suite, browser tests included.
test: install
	$(BIN)/python -m pytest

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
