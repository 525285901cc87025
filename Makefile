# The two commands the README opens with:
#   make demo   build the sample organisation's database and serve it on http://127.0.0.1:8001/
#   make test   install what the tests need and run them all
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
# The browser tests' headless Chromium: Debian's package (apt-get needs root, or sudo).
CHROMIUM ?= /usr/bin/chromium
SUDO = $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test bench readme clean

demo: $(VENV)/.installed
	$(BIN)/stack-tracker demo

test: $(VENV)/.installed-test $(CHROMIUM)
	$(BIN)/python -m pytest

# Every benchmark at enterprise scale on one generated organisation, each beside its
# same-run baseline; the figures also go to bench/.work/results.txt (see docs/benchmarks.md).
bench: $(VENV)/.installed-test
	$(BIN)/python bench/all.py

# Headless Chromium for the browser tests, from Debian, installed only when missing.
# (Playwright drives it with executable_path; `playwright install` is never run.)
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# Regenerate the --help sections of the README (a test checks they are current).
readme: $(VENV)/.installed-test
	$(BIN)/cog -r README.md

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

clean:
	rm -rf $(VENV) build dist sample.db sample.db-wal sample.db-shm
