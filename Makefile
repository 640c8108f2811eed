# SignalOS: `make run` brings the whole system up locally; `make test` runs every test.
# Both set up a fresh machine of this kind on their own: Debian packages, .venv, tools.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
APT_PACKAGES := tesseract-ocr tesseract-ocr-eng poppler-utils

.PHONY: setup system-packages run test lint bench clean

setup: system-packages $(STAMP)

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

run: setup
	$(PY) -m infra.local

test: setup
	$(PY) -m ruff check .
	$(PY) -m pytest

bench: setup
	$(PY) -m pytest tests/benchmarks -s -p no:cacheprovider -o addopts=""

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache
