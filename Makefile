# Two commands do everything on a fresh clone:
#   make run   — install, migrate, seed demo data, serve on http://127.0.0.1:8000 with a Celery worker and beat
#   make test  — install, run the whole suite (PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set)
SHELL := /bin/bash
PYTHON_BIN ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
CELERY := $(VENV)/bin/celery
HOST ?= 127.0.0.1
PORT ?= 8000
PIP_VERSION := 26.3
# One resolution for every Linux machine on Python 3.11 (CI, the Docker image on amd64 or arm64).
UV_COMPILE := $(VENV)/bin/uv pip compile --quiet --generate-hashes --universal --python-version 3.11 --no-header

.PHONY: install lock lock-check run serve worker beat test test-fast lint format migrate seed clean bench

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON_BIN) -m venv $(VENV)
	$(PY) -m pip install --quiet "pip==$(PIP_VERSION)"
	$(PY) -m pip install --quiet --require-hashes --no-deps -r requirements-dev.txt
	touch $@

# Recompile the hashed locks after changing a pin in requirements.in or requirements-dev.in (README, "Upgrading
# dependencies"). The runtime lock comes first: it constrains the development lock.
lock: $(VENV)/.installed
	$(UV_COMPILE) requirements.in -o requirements.txt
	$(UV_COMPILE) requirements.in requirements-dev.in -o requirements-dev.txt

# CI: recompiling the committed locks (their pins are uv's preferences) must change nothing.
lock-check: $(VENV)/.installed
	@tmp=$$(mktemp -d) && cp requirements.txt requirements-dev.txt $$tmp/ \
	&& $(UV_COMPILE) requirements.in -o $$tmp/requirements.txt \
	&& sed 's#-c requirements.txt#-c '$$tmp'/requirements.txt#' requirements-dev.in > $$tmp/requirements-dev.in \
	&& $(UV_COMPILE) requirements.in $$tmp/requirements-dev.in -o $$tmp/requirements-dev.txt \
	&& sed -i 's#'$$tmp'/##' $$tmp/requirements-dev.txt \
	&& diff -u requirements.txt $$tmp/requirements.txt && diff -u requirements-dev.txt $$tmp/requirements-dev.txt \
	&& echo "The locks match their pins." && rm -rf $$tmp

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

# Web server, Celery worker and beat together; Ctrl-C stops all three.
run: seed
	@mkdir -p var
	@echo "Serving on http://$(HOST):$(PORT)/  (Ctrl-C stops the server, the worker and beat)"
	@trap 'kill 0' INT TERM EXIT; \
	$(CELERY) -A spa_referrals worker --loglevel=INFO --concurrency=2 --without-gossip --without-mingle & \
	$(CELERY) -A spa_referrals beat --loglevel=INFO & \
	$(PY) manage.py runserver $(HOST):$(PORT)

serve: install
	$(PY) manage.py runserver $(HOST):$(PORT)

worker: install
	$(CELERY) -A spa_referrals worker --loglevel=INFO

beat: install
	$(CELERY) -A spa_referrals beat --loglevel=INFO

test: install
	DJANGO_ALLOW_ASYNC_UNSAFE=true $(PY) -m pytest -n auto $(PYTEST_ARGS)

# Everything but the browser journeys.
test-fast: install
	$(PY) -m pytest -n auto -m "not browser" $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Seeds (or reuses) the PostgreSQL database spa_referrals_bench (22 spas, one with 100,000 referrals and 5,000
# practices, one with 10,000 active partners), serves the app under gunicorn with a Celery worker on loopback,
# drives it from a separate load process and prints one table: pages vs a plain ListView, the API create vs a bare
# DRF insert, the portal form, PDF vs bare WeasyPrint, the check-in job, web and worker memory (bench/run.py;
# needs PostgreSQL and Redis on 127.0.0.1; BENCH_RESEED=1 reseeds). Fails when a target is missed (docs/benchmarks.md).
bench: install
	$(PY) -m bench.run

clean:
	rm -rf var/broker var/cache var/email
