# Everyday commands. `make demo` and `make test` are the two a new machine needs (see README).
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
INTEGRATION_ENV := DATABASE_URL=$(PG_URL) REDIS_URL=redis://127.0.0.1:6379/14 \
	CELERY_BROKER_URL=redis://127.0.0.1:6379/15 SECRET_KEY=integration-tests-only DEBUG=0 SECURE_COOKIES=0

.PHONY: install demo demo-full serve test test-unit test-integration test-browser lint typecheck format benchmarks \
	benchmarks-full figures clean

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
	$(PY) benchmarks/readme_figures.py --check

typecheck: install  ## mypy with django-stubs on recommend/core and recommend/ml (pyproject [tool.mypy])
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Every benchmark in its quick mode (small slices; minutes in all), into a folder outside the repo, so the real
# results are never replaced by a smoke run. Serving runs need wrk, scale.py also PostgreSQL; skipped without.
BENCH_QUICK_DIR ?= var/benchmark-results/quick
BENCH := nice -n 10 env BENCH_RESULTS_DIR=$(BENCH_QUICK_DIR) $(PY)
HAVE_WRK := $(shell command -v wrk 2>/dev/null)
HAVE_PG := $(shell pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && echo yes)

benchmarks: install  ## every benchmark on small slices (--quick), results in $(BENCH_QUICK_DIR)
	$(BENCH) benchmarks/import_speed.py --quick
	$(BENCH) benchmarks/classification.py --quick
	$(BENCH) benchmarks/taxonomy.py --quick
	$(BENCH) benchmarks/similarity.py --quick
	$(BENCH) benchmarks/recommendation.py --quick
	$(BENCH) benchmarks/bought_together.py --quick
	$(BENCH) benchmarks/matching.py --quick
	$(BENCH) benchmarks/fuzz.py --quick
	$(BENCH) benchmarks/pages.py --quick
	$(BENCH) benchmarks/admin_actions.py --quick
ifneq ($(HAVE_WRK),)
	$(BENCH) benchmarks/api_load.py --quick --redis ''
	$(BENCH) benchmarks/load.py --quick
	$(BENCH) benchmarks/bought_together_api.py --quick
ifneq ($(HAVE_PG),)
	$(BENCH) benchmarks/scale.py --quick --db scale_bench_quick
else
	@echo "PostgreSQL is not on 127.0.0.1:5432: benchmarks/scale.py skipped"
endif
else
	@echo "wrk is not installed (apt-get install wrk): api_load, load, bought_together_api and scale skipped"
endif
	@echo "quick results in $(BENCH_QUICK_DIR)"

benchmarks-full: install  ## the real runs (hours on 2 cores) into benchmarks/results, then the README's figures
	$(PY) benchmarks/import_speed.py
	nice -n 10 $(PY) benchmarks/classification.py
	nice -n 10 $(PY) benchmarks/taxonomy.py
	nice -n 10 $(PY) benchmarks/similarity.py
	nice -n 10 $(PY) benchmarks/recommendation.py --api
	nice -n 10 $(PY) benchmarks/bought_together.py
	$(PY) benchmarks/bought_together_api.py
	nice -n 10 $(PY) benchmarks/matching.py
	$(PY) benchmarks/fuzz.py
	$(PY) benchmarks/api_load.py --workdir var/benchmark-sites/api-load
	$(PY) benchmarks/pages.py --workdir var/benchmark-sites/api-load
	$(PY) benchmarks/load.py
	nice -n 10 $(PY) benchmarks/admin_actions.py
	nice -n 10 $(PY) benchmarks/scale.py
	$(MAKE) figures

figures: install  ## rewrite the README's figures table from benchmarks/results/*.json
	$(PY) benchmarks/readme_figures.py

clean:
	rm -rf var staticfiles .pytest_cache
