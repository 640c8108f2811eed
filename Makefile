# SignalOS: `make run` brings the whole system up locally; `make test` runs every test.
# Both set up a fresh machine of this kind on their own: Debian packages, .venv, the SAM CLI.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The SAM CLI gets its own venv: its pins conflict with ours.
SAM_VENV := .venv-sam
SAM_STAMP := $(SAM_VENV)/.installed
APT_PACKAGES := tesseract-ocr tesseract-ocr-eng poppler-utils
export SAM_CLI_TELEMETRY := 0

.PHONY: setup system-packages sam-cli run test lint validate build layer-requirements bench clean

setup: system-packages $(STAMP) $(SAM_STAMP)

# Debian packages the project uses: tesseract (OCR of signal images), poppler (PDF report tests).
system-packages:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[workers,dev]'
	touch $(STAMP)

$(SAM_STAMP):
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install -q --upgrade pip
	$(SAM_VENV)/bin/python -m pip install -q aws-sam-cli
	touch $(SAM_STAMP)

sam-cli: $(SAM_STAMP)

# The local stack: moto as AWS, template.yaml's resources, HTTP on 127.0.0.1:$${PORT:-3000}.
run: setup
	$(PY) -m infra.local

# Everything: lint, unit, integration, infra (cfn-lint, sam validate, sam build), end-to-end.
test: setup
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .

# The template alone: cfn-lint and SAM's own validation (offline).
validate: setup
	$(VENV)/bin/cfn-lint template.yaml
	$(PY) -m infra.sam validate

# Lambda artifacts in .aws-sam/build (what `sam deploy --config-env dev` uploads).
build: setup
	$(PY) -m infra.sam build --cached --parallel

# Regenerate the Lambda layers' requirements from pyproject.toml.
layer-requirements: $(STAMP)
	$(PY) -m infra.requirements

bench: setup
	$(PY) -m pytest tests/benchmarks -s -p no:cacheprovider -o addopts=""

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache
