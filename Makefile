# Two commands on a fresh machine: `make run` serves the product, `make test` proves it.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Deployment checks (Helm engine, schemas, checkov, ansible-lint, hadolint) in their own venv.
TOOLS_VENV := .venv-tools
TOOLS_STAMP := $(TOOLS_VENV)/.installed

PG_HOST := 127.0.0.1
PG_URL := postgres://postgres@$(PG_HOST):5432
# The suite runs against PostgreSQL, one database per app, and Redis db 15, as development (random
# secrets, handed to the processes it starts; tests/test_production_secrets.py runs production).
TEST_ENV := DATABASE_URL=$(PG_URL)/shop_default \
	DATABASE_URL_USERS=$(PG_URL)/shop_users \
	DATABASE_URL_PRODUCTS=$(PG_URL)/shop_products \
	DATABASE_URL_INVENTORY=$(PG_URL)/shop_inventory \
	DATABASE_URL_PAYMENTS=$(PG_URL)/shop_payments \
	REDIS_URL=redis://127.0.0.1:6379/15 \
	SHOP_ENV=development \
	CACHE_KEY_PREFIX=test$(TEST_DB_SUFFIX)

.PHONY: run run-split stop-split test install tools spectral manifests services browser nginx lint bench clean protos

$(STAMP): requirements/base.txt requirements/prod.txt requirements/dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/dev.txt
	touch $(STAMP)

# The project's bytecode, which its processes then load instead of compiling every module at
# each start (PYTHONDONTWRITEBYTECODE, as in the image, stops them writing it themselves).
install: $(STAMP)
	@$(PY) -m compileall -q apps config grpc_api

$(TOOLS_STAMP): requirements/tools.txt
	$(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(TOOLS_VENV)/bin/python -m pip install --quiet -r requirements/tools.txt
	touch $(TOOLS_STAMP)

tools: $(TOOLS_STAMP)

## Spectral (pinned in requirements/spectral/package-lock.json) lints the OpenAPI document in the suite.
SPECTRAL := requirements/spectral/node_modules/.bin/spectral
$(SPECTRAL): requirements/spectral/package.json requirements/spectral/package-lock.json
	@command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
	npm ci --prefix requirements/spectral --no-audit --no-fund --silent
	touch $(SPECTRAL)

spectral: $(SPECTRAL)

## Regenerate the chart's route table and deploy/<mode>.yaml after changing config/routes.py or charts/.
manifests: tools
	$(TOOLS_VENV)/bin/python deploy/render.py

## Start PostgreSQL and Redis when they are down (the machine has both installed).
services:
	@pg_isready -q -h $(PG_HOST) || { pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -1) main start && sleep 1; }
	@until pg_isready -q -h $(PG_HOST); do sleep 0.5; done
	@redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
	@until redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; do sleep 0.2; done

## nginx fronts the split services (make run-split, the end-to-end tests); installed when missing.
nginx:
	@command -v nginx >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; }

## Debian's Chromium for the browser tests: Playwright drives it and downloads no browser of its own.
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

## Serve the monolith on http://127.0.0.1:8000 with the embedded defaults (SQLite, in-process events).
run: install
	$(PY) manage.py migrate --verbosity 0
	$(PY) manage.py seed_demo
	$(VENV)/bin/gunicorn -c config/gunicorn_local.py config.wsgi:application --bind 127.0.0.1:8000 --workers 2 --threads 4 --worker-class gthread

## The four services, Kafka and nginx in the background: the API on http://127.0.0.1:8080.
run-split: install services nginx
	$(PY) deploy/run_split.py start --postgres $(PG_URL) --redis redis://127.0.0.1:6379/1

stop-split:
	$(PY) deploy/run_split.py stop

lint: install
	$(VENV)/bin/ruff check .

## The whole suite against PostgreSQL, Redis and a throw-away Kafka broker.
test: install tools spectral services browser nginx lint
	$(TEST_ENV) $(VENV)/bin/pytest --create-db $(PYTEST_ARGS)

## Measure on this machine (not part of `make test`): one table, results in bench/results/.
bench: install services
	@command -v wrk >/dev/null || { apt-get update -q && apt-get install -y -q wrk; }
	$(PY) bench/run.py $(BENCH_ARGS)

clean:
	rm -rf var test-artifacts

## Regenerate grpc_api/gen/ from grpc_api/protos/ (a test checks the committed stubs match).
protos: install
	$(PY) grpc_api/generate.py
