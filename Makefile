# gridgov — two commands for a new machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
MANAGE := $(PY) manage.py
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test bench lint format serve worker install install-dev frontend chromium migrate demo messages clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml
	$(PIP) install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

install: $(VENV)/.installed node_modules/.installed
install-dev: $(VENV)/.installed-dev node_modules/.installed
frontend: node_modules/.installed

migrate: install
	$(MANAGE) migrate --noinput

demo: migrate
	$(MANAGE) demo --seed 1 --scale 1 --if-empty

run: demo
	$(MANAGE) runserver $(HOST):$(PORT)

# Debian's Chromium for the browser tests, when missing and we are root (as in CI).
chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; \
	  else echo "chromium not installed and not root: browser tests will be skipped"; fi; \
	fi
	@if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = "0" ] && ! fc-list 2>/dev/null | grep -qi wenquanyi; then \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null || true; fi

test: install-dev chromium
	$(PY) -m pytest -q $(PYTEST_ARGS)

bench: install-dev
	$(PY) -m gridgov.bench

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# --preload: the app (and jieba's ~70 MB dictionary, warmed in gridgov/wsgi.py) loads once
# in the master and is shared by the forked workers; code changes need a restart, not HUP.
serve: install
	$(MANAGE) migrate --noinput
	GRIDGOV_COMPRESS_STATIC=true $(MANAGE) collectstatic --noinput --verbosity 0
	GRIDGOV_COMPRESS_STATIC=true $(VENV)/bin/gunicorn gridgov.wsgi:application --bind $(HOST):$(PORT) --workers $${GRIDGOV_WORKERS:-4} --preload

worker: install
	$(VENV)/bin/celery -A gridgov worker --beat --loglevel INFO

messages: install-dev
	cd gridgov && ../$(MANAGE) makemessages -l en --no-obsolete && ../$(MANAGE) compilemessages

clean:
	rm -rf $(VENV) node_modules staticfiles
