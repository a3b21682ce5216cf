# Everyday commands. `make demo` and `make test` are the two a new machine needs (see README).
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
INTEGRATION_ENV := DATABASE_URL=$(PG_URL) REDIS_URL=redis://127.0.0.1:6379/14 \
	CELERY_BROKER_URL=redis://127.0.0.1:6379/15 SECRET_KEY=integration-tests-only DEBUG=0 SECURE_COOKIES=0

.PHONY: install demo demo-full serve test test-unit test-integration test-browser lint typecheck format benchmarks clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

demo: install  ## a working shop with demo data on 127.0.0.1:8000; the models train in the background
	$(PY) manage.py migrate --no-input
	$(PY) manage.py setup_demo $(DEMO_FLAGS)
	$(PY) manage.py run_jobs --until-idle & trap 'kill $$! 2>/dev/null' EXIT; \
	$(PY) manage.py runserver 127.0.0.1:8000

demo-full:  ## the same with every row of every dataset
	$(MAKE) demo DEMO_FLAGS=--full

test: install lint typecheck test-unit test-integration test-browser  ## everything CI runs

test-unit: install
	$(PY) -m pytest -m "not integration and not browser" -q -n 2

test-integration: install
	$(INTEGRATION_ENV) $(PY) -m pytest -m integration -q

test-browser: install
	$(PY) -m pytest -m browser -q

lint: install  ## ruff, and the import contracts of recommend/README.md (pyproject [tool.importlinter])
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: install  ## mypy with django-stubs on recommend/core and recommend/ml (pyproject [tool.mypy])
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

benchmarks: install
	$(PY) benchmarks/import_speed.py

clean:
	rm -rf var staticfiles .pytest_cache
