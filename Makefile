# Two commands set everything up on a fresh machine:
#   make run    virtual environment, dependencies, migrations, demo backfill, app + scheduler on :8050
#   make test   the same plus Chromium, PostgreSQL and Redis from Debian's packages, then every test
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Debian packages the app needs (briefings are rendered by Chromium and checked with pdftotext),
# and those the tests add: the browser's driver, real database and cache servers.
RUNTIME_PACKAGES := chromium poppler-utils
SYSTEM_PACKAGES := $(RUNTIME_PACKAGES) chromium-driver postgresql redis-server

.PHONY: run test runtime-deps system-deps bench clean

# Install the Debian packages of $(1) that are missing.
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

$(VENV)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

run: runtime-deps $(VENV)/.runtime
	$(PY) app.py

runtime-deps:
	$(call apt_install,$(RUNTIME_PACKAGES))

system-deps:
	$(call apt_install,$(SYSTEM_PACKAGES))

test: system-deps $(VENV)/.dev
	$(PY) -m pytest -q

bench: $(VENV)/.dev
	$(PY) bench/ingest.py

clean:
	rm -rf $(VENV) var test-artifacts
