# Every target creates its own virtual environment: nothing depends on a hand install.
# The app's venv runs Python 3.13 (as Azure does, see infra/app/api.bicep); scripts/find-python
# finds one (PATH, pyenv, uv, Homebrew) or says what to install. `make PYTHON=/path/to/python3.13`
# picks one explicitly.
PYTHON_VERSION := 3.13
PYTHON ?=
VENV   := .venv
PY     := $(VENV)/bin/python
# The stamp names the version: a venv from another Python is rebuilt (--clear), not reused.
STAMP  := $(VENV)/.installed-py$(PYTHON_VERSION)

.PHONY: demo test test-app bench profile fuzz lint venv venv-clients clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt scripts/find-python
	@python="$$(scripts/find-python $(PYTHON_VERSION) $(PYTHON))" && echo "$(VENV): $$python" && \
		"$$python" -m venv --clear $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# The client generators callers use (openapi-python-client, datamodel-code-generator), run on
# openapi.json by tests/test_openapi_clients.py. Their own venv: they pin packages of their own.
CLIENTS_VENV  := .venv-clients
CLIENTS_STAMP := $(CLIENTS_VENV)/.installed-py$(PYTHON_VERSION)

venv-clients: $(CLIENTS_STAMP)

$(CLIENTS_STAMP): requirements-clients.txt scripts/find-python
	@python="$$(scripts/find-python $(PYTHON_VERSION) $(PYTHON))" && echo "$(CLIENTS_VENV): $$python" && \
		"$$python" -m venv --clear $(CLIENTS_VENV)
	$(CLIENTS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-clients.txt
	$(CLIENTS_VENV)/bin/python -m pip check --disable-pip-version-check
	touch $@

demo: $(STAMP)
	$(PY) -m emulator.demo

# The app's suites (unit, emulator, end to end) in .venv; the Bicep checks in their own .venv-infra.
test: test-app test-infra

test-app: $(STAMP) $(CLIENTS_STAMP)
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) -m bench

# Where a warm Cosmos request's time goes (cProfile, the function's side only).
profile: $(STAMP)
	$(PY) -m bench --profile 2000

# The long property run of the HTTP contract (openapi.json) against the local host + emulator;
# `make test` runs the same test bounded (12 examples per operation, derandomized).
FUZZ_EXAMPLES ?= 1000
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_RANDOM=1 FUZZ_SECONDS_PER_OPERATION=600 \
		$(PY) -m pytest tests/e2e/test_contract_fuzz.py -p no:cacheprovider --hypothesis-show-statistics

lint: $(STAMP) lint-infra
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

clean:
	rm -rf $(VENV) $(CLIENTS_VENV) $(INFRA_VENV) .pytest_cache .ruff_cache .emulator

# Bicep validation targets (test-infra, lint-infra); included last so `make` alone stays `venv`.
include infra/infra.mk
