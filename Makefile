# Every target creates its own virtual environment: nothing depends on a hand install.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-app bench lint venv clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

demo: $(STAMP)
	$(PY) -m emulator.demo

# The app's suites (unit, emulator, end to end) in .venv; the Bicep checks in their own .venv-infra.
test: test-app test-infra

test-app: $(STAMP)
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) -m bench

lint: $(STAMP) lint-infra
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

clean:
	rm -rf $(VENV) $(INFRA_VENV) .pytest_cache .ruff_cache .emulator

# Bicep validation targets (test-infra, lint-infra); included last so `make` alone stays `venv`.
include infra/infra.mk
