# Two commands on a fresh machine: `make run` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.8
PYTHON310 ?= $(shell pyenv prefix 3.10 2>/dev/null | head -n1)/bin/python
VENV := .venv
BIN := $(VENV)/bin
MODEL := models/current.tar.gz
DETECTOR := models/triage_detector.joblib
DETECTOR_INPUTS := data/triage/detector.yml $(wildcard data/nlu*.yml) bot/triage/statistical.py \
	$(wildcard data/triage/corpus/*.yml)
# data/reviewed/: examples labelled in the review queue (python -m bot review export).
RASA_DATA := $(wildcard data/nlu*.yml) $(wildcard data/reviewed/nlu*.yml) data/rules.yml data/stories.yml
MODEL_INPUTS := config.yml domain.yml $(RASA_DATA) \
	$(wildcard bot/rasa/components/*.py) bot/embeddings.py
SEEDS := ../shared/seeds
CHROMIUM := /usr/bin/chromium
# Debian's Noto fonts: Devanagari (Hindi) and Arabic render without tofu on the kiosk and in tests.
NOTO_FONTS := /usr/share/fonts/truetype/noto/NotoSansDevanagari-Regular.ttf
# The cluster profile's servers (bot/cluster/servers.py), from Debian's packages.
SERVICE_PACKAGES := postgresql redis-server nginx
SERVICES_STAMP := /usr/sbin/nginx

export PYTHONPATH := $(CURDIR)
export TF_CPP_MIN_LOG_LEVEL := 3
export SQLALCHEMY_SILENCE_UBER_WARNING := 1

.PHONY: help setup run run-cluster test unit train detector lint format check validate core-tests pytest eval bench load load-cluster staff browser fonts services migrate review-export

help:
	@echo "make run    set up, train when needed, start everything (http://localhost:8080)"
	@echo "make run-cluster   the same with PostgreSQL, Redis, nginx and two Rasa replicas"
	@echo "make test   everything CI checks"
	@echo "make unit   the tests that need no server, browser or rasa test core (quick)"
	@echo "make eval   NLU and triage evaluation figures;  make bench  speed and memory figures"
	@echo "make load   load-and-fault figures (replies, tickets, notifications lost or doubled)"
	@echo "make staff NAME=name   create a clinician account (ROLE=admin|staff; the first is admin)"

$(BIN)/uv-synced: pyproject.toml uv.lock
	@python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet "uv==$(UV_VERSION)"
	@test -x "$(PYTHON310)" || { echo "Python 3.10 not found (pyenv install 3.10)"; exit 1; }
	python3 -m uv sync --frozen --python "$(PYTHON310)"
	@touch $@

setup: $(BIN)/uv-synced

$(MODEL): $(MODEL_INPUTS) | setup
	$(BIN)/python -m bot.rasa.cli train --data $(RASA_DATA) --fixed-model-name current --out models

train: $(MODEL)

# The statistical symptom-report detector (data/triage/detector.yml), beside the triage rules.
$(DETECTOR): $(DETECTOR_INPUTS) | setup
	$(BIN)/python -m bot detector train

detector: $(DETECTOR)

run: setup $(MODEL) $(DETECTOR)
	$(BIN)/python -m bot check
	$(BIN)/python -m bot serve

# What every start does first (bot/storage/migrate.py); MESO_DATABASE_URL or var/meso.db.
migrate: setup
	$(BIN)/python -m bot migrate

# The cluster profile (README: Cluster profile): the same supervisord machinery as `make run`.
run-cluster: setup services $(MODEL) $(DETECTOR)
	$(BIN)/python -m bot check
	$(BIN)/python -m bot serve --cluster

staff: setup
	@test -n "$(NAME)" || { echo "usage: make staff NAME=username"; exit 2; }
	$(BIN)/python -m bot staff add $(NAME) $(if $(ROLE),--role $(ROLE))

review-export: setup
	$(BIN)/python -m bot review export

$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

$(NOTO_FONTS):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-core >/dev/null
	fc-cache -f >/dev/null 2>&1 || true

fonts: $(NOTO_FONTS)

# Installed together; the stamp is the last binary the three packages bring.
$(SERVICES_STAMP):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SERVICE_PACKAGES) >/dev/null
	@ls /usr/lib/postgresql/*/bin/postgres >/dev/null && command -v redis-server >/dev/null

services: $(SERVICES_STAMP)

browser: $(CHROMIUM) $(NOTO_FONTS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: setup
	$(BIN)/python -m bot check
	@if [ -d "$(SEEDS)" ]; then python3 ../shared/tools/seed_overlap.py --seeds $(SEEDS) .; fi

validate: setup
	$(BIN)/python scripts/validate_rasa_data.py

core-tests: $(MODEL) $(DETECTOR)
	$(BIN)/python -m bot.rasa.cli test core --model $(MODEL) --stories tests/stories \
		--fail-on-prediction-errors --out results/core

# Everything that needs no running server: no stack, no browser, no `rasa test core`.
unit: setup $(MODEL) $(DETECTOR) $(SERVICES_STAMP)
	$(BIN)/pytest -q -ra -m "not stack and not browser"

# Browser tests run on their own: Playwright's sync API keeps an event loop running in the main
# thread, which pytest-asyncio tests after it cannot share.
# Two pytest sequences run at once, one per core: the tests that need the running system (`stack`,
# mostly waiting for servers), the understanding guard (`guard`) and then the browser tests; and the
# rest, which mostly compute (the triage guard among them). Every server binds port 0 and each
# process has its own temporary directory, so they do not collide; each log is printed when both
# have ended.
PYTEST_LOGS := results/pytest
pytest: setup $(MODEL) $(DETECTOR) $(CHROMIUM) $(NOTO_FONTS) $(SERVICES_STAMP)
	@mkdir -p $(PYTEST_LOGS); rm -f $(PYTEST_LOGS)/*.log; tmp=$$(mktemp -d); \
	( $(BIN)/pytest -q -ra -m "(stack or guard) and not browser" -p no:cacheprovider \
		--basetemp $$tmp/stack > $(PYTEST_LOGS)/stack.log 2>&1; first=$$?; \
	$(BIN)/pytest -q -ra -m browser -p no:cacheprovider --basetemp $$tmp/browser \
		> $(PYTEST_LOGS)/browser.log 2>&1 && exit $$first ) & stack=$$!; \
	$(BIN)/pytest -q -ra -m "not stack and not guard and not browser" --basetemp $$tmp/rest \
		> $(PYTEST_LOGS)/rest.log 2>&1; rest_status=$$?; \
	wait $$stack; stack_status=$$?; \
	echo "== tests without the running system (exit $$rest_status)"; cat $(PYTEST_LOGS)/rest.log; \
	echo "== the running system and the understanding guard, then the browser tests" \
		"(exit $$stack_status)"; cat $(PYTEST_LOGS)/stack.log $(PYTEST_LOGS)/browser.log; \
	rm -rf $$tmp; test $$rest_status = 0 && test $$stack_status = 0

# The model, the detector and the quick checks are independent: built two at a time (each output
# printed whole when its job ends), then the tests that need them.
test: setup
	$(MAKE) -j2 --output-sync=target $(MODEL) $(DETECTOR) lint check validate
	$(MAKE) core-tests pytest

eval: $(MODEL) $(DETECTOR)
	$(BIN)/python scripts/eval_nlu.py --model $(MODEL)
	$(BIN)/python scripts/eval_triage.py

bench: $(MODEL) services
	$(BIN)/python bench/run.py

# Load and faults: conversations over REST, socket.io and WhatsApp while parts are killed.
load: $(MODEL) $(DETECTOR)
	$(BIN)/python bench/load.py --conversations 30 --duration 120

load-cluster: $(MODEL) $(DETECTOR) services
	$(BIN)/python bench/load.py --target cluster --conversations 30 --duration 120
