# Infra validation, included by the root Makefile (`include infra/infra.mk`).
#   make test-infra   cold-creates .venv-infra (stamp file) and runs pytest tests/infra:
#                     pycep parse of every .bicep, checkov --framework bicep, template tests
#   make lint-infra   bicep build + bicep lint when the Bicep CLI is on PATH, else says skipped
#   make infra-types  regenerates tests/infra/types/*.json from Microsoft's Bicep type repositories
#   make clean-infra  removes .venv-infra
# Separate venv: checkov pins many packages; the app's .venv never sees them.

# python3, not the app's 3.13: checkov declares support up to Python 3.12.
INFRA_PYTHON ?= python3
INFRA_VENV   := .venv-infra
INFRA_PY     := $(INFRA_VENV)/bin/python
INFRA_STAMP  := $(INFRA_VENV)/.installed
# checkov pins pycep-parser 0.5.1 (no `extension` support); the current parser goes beside it.
INFRA_PYCEP  := $(INFRA_VENV)/pycep-current
INFRA_PYCEP_PIN ?= pycep-parser==0.7.1
INFRA_PIP    := $(INFRA_PY) -m pip install --quiet --disable-pip-version-check

.PHONY: test-infra lint-infra clean-infra

$(INFRA_STAMP): requirements-infra.txt infra/infra.mk
	$(INFRA_PYTHON) -m venv $(INFRA_VENV)
	$(INFRA_PIP) -r requirements-infra.txt
	$(INFRA_PIP) --no-deps --upgrade --target $(INFRA_PYCEP) $(INFRA_PYCEP_PIN)
	touch $@

test-infra: $(INFRA_STAMP)
	INFRA_TESTS=1 PYCEP_PATH=$(CURDIR)/$(INFRA_PYCEP) $(INFRA_PY) -m pytest -c tests/infra/pytest.ini \
		--rootdir=$(CURDIR) --confcutdir=tests/infra tests/infra

lint-infra:
	@if command -v bicep >/dev/null 2>&1; then \
		set -e; \
		for f in infra/main.bicep infra/app/*.bicep; do echo "bicep build $$f"; bicep build "$$f" --stdout >/dev/null; done; \
		for f in infra/main.bicep infra/app/*.bicep; do echo "bicep lint $$f"; bicep lint "$$f"; done; \
	else \
		echo "lint-infra: bicep CLI not on PATH, skipped (install: https://aka.ms/bicep-install or 'az bicep install')"; \
	fi

clean-infra:
	rm -rf $(INFRA_VENV)

# Regenerate tests/infra/types/*.json (the extract of Microsoft's Bicep types the resource-body
# test reads) after adding a resource type or changing an apiVersion. Needs checkouts (or bare git
# directories) of github.com/Azure/bicep-types-az and github.com/microsoftgraph/msgraph-bicep-types.
BICEP_TYPES_AZ      ?= ../bicep-types-az
MSGRAPH_BICEP_TYPES ?= ../msgraph-bicep-types
.PHONY: infra-types
infra-types: $(INFRA_STAMP)
	$(INFRA_PY) tests/infra/types/generate.py --az $(BICEP_TYPES_AZ) --graph $(MSGRAPH_BICEP_TYPES)
