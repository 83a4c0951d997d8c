# slotblock — `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench
DEPLOY_STAMP := $(VENV)/.installed-deploy
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help run test lint fmt bench bench-peers migrate clean browser image image-test fleet-test dist vendor-ui
help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-11s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)  ## migrate the embedded database, create the demo data, serve on $(HOST):$(PORT)
	$(BIN)/slotblock serve --demo --host $(HOST) --port $(PORT)

lint: $(STAMP)  ## ruff (format check + lint), mypy --strict on src/ tests/ bench/ deploy/, import contracts
	$(BIN)/ruff format --check src tests bench deploy
	$(BIN)/ruff check src tests bench deploy
	$(BIN)/mypy src tests bench deploy
	$(BIN)/lint-imports

JS_DIR := tests/conformance/js
JS_SDK := $(JS_DIR)/node_modules/.installed
$(JS_SDK): $(JS_DIR)/package.json $(JS_DIR)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix $(JS_DIR) --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm is not installed: the JavaScript SDK test will skip"; fi

# The browser tests (/docs, /ui/) drive Debian's Chromium; CI installs it, elsewhere they skip.
browser:  ## install Chromium and its driver for the /docs and /ui/ browser tests (done by make test in CI; FORCE=1 elsewhere)
	@if ! command -v chromedriver >/dev/null 2>&1; then \
		if [ "$$CI" = "true" ] || [ "$(FORCE)" = "1" ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
		else echo "chromium is not installed (make browser FORCE=1): the browser tests will skip"; fi; \
	fi

# The web view's calendar component, vendored (committed) so that no Node is needed to run or
# test slotblock: FullCalendar's standard bundle (MIT) at a pinned version, with its licence.
FULLCALENDAR_VERSION := 6.1.22
UI_VENDOR := src/slotblock/api/web_ui/vendor/fullcalendar
vendor-ui:  ## refresh the web view's FullCalendar (FULLCALENDAR_VERSION) from npm into the package
	@command -v npm >/dev/null 2>&1 || (echo "vendor-ui needs npm" && exit 1)
	rm -rf $(UI_VENDOR).tmp && mkdir -p $(UI_VENDOR).tmp
	npm pack fullcalendar@$(FULLCALENDAR_VERSION) --pack-destination $(UI_VENDOR).tmp --silent >/dev/null
	tar -xzf $(UI_VENDOR).tmp/fullcalendar-$(FULLCALENDAR_VERSION).tgz -C $(UI_VENDOR).tmp
	mkdir -p $(UI_VENDOR)
	cp $(UI_VENDOR).tmp/package/index.global.min.js $(UI_VENDOR).tmp/package/LICENSE.md $(UI_VENDOR)/
	echo $(FULLCALENDAR_VERSION) > $(UI_VENDOR)/VERSION
	rm -rf $(UI_VENDOR).tmp

test: lint $(JS_SDK) browser  ## lint, then the whole suite (PostgreSQL tests too where a server answers)
	$(BIN)/pytest

fmt: $(STAMP)  ## format and fix what ruff can
	$(BIN)/ruff format src tests bench deploy
	$(BIN)/ruff check --fix src tests bench deploy

BENCH_SIZES ?= 10000,1000000
bench: $(STAMP) $(BENCH_STAMP)  ## the hot-path targets (minutes; BENCH_SIZES=10000 for a short run): bench/RESULTS.md
	@command -v wrk >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)
	$(BIN)/python -m bench.hotpath --sizes $(BENCH_SIZES)

bench-peers: $(STAMP) $(BENCH_STAMP)  ## the full benchmark with the CalDAV peers (long): bench/RESULTS.md
	$(BIN)/python -m bench.run

$(BENCH_STAMP): pyproject.toml
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

# Shipping: the container image (podman; no registry needed), the compose fleet, releases.
image:  ## build localhost/slotblock:<version> with podman from Debian's and PyPI's packages (deploy/image.sh)
	deploy/image.sh

image-test: image  ## run the image: health, the seed request, a restart on its volume, an OCI archive (~1 min)
	$(PYTHON) -m deploy.image_test

fleet-test: image $(STAMP) $(DEPLOY_STAMP)  ## compose.yaml up: 2 nodes x 2 workers, PostgreSQL, Redis, HAProxy; load, one node stopped (~3 min)
	$(BIN)/python -m deploy.fleet_test

dist: $(STAMP) $(DEPLOY_STAMP)  ## sdist and wheel in dist/, twine check, the wheel tried in a fresh virtualenv
	rm -rf dist
	$(BIN)/python -m build --outdir dist . >/dev/null
	$(BIN)/twine check --strict dist/*
	$(BIN)/python -m deploy.dist_check

$(DEPLOY_STAMP): pyproject.toml
	$(BIN)/pip install --quiet -e '.[test,deploy]'
	touch $(DEPLOY_STAMP)

migrate: $(STAMP)  ## create or upgrade the database schema
	$(BIN)/slotblock migrate

clean:  ## remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis $(JS_DIR)/node_modules
