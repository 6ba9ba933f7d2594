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

.PHONY: install run serve worker beat test test-fast lint format migrate seed clean bench

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON_BIN) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

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
