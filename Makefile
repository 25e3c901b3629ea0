# Common tasks. `make help` lists them.
VENV ?= .venv
BIN := $(VENV)/bin
# The folder `make serve` serves (`make serve SITE=demo-site`: the demo's).
SITE ?= site

.PHONY: help install demo serve serve-demo test lint bench up down

help:            ## list the tasks
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/pip:
	python3 -m venv $(VENV)

install: $(BIN)/pip  ## install gitbrag and its test tools into .venv
	$(BIN)/pip install -e '.[test]'

demo: install    ## publish the demo site into demo-site/ (no token, no network), apart from site/
	$(BIN)/gitbrag-refresh --once --demo

serve:           ## serve site/ on http://127.0.0.1:8000/ (SITE=demo-site: the demo's)
	python3 -m http.server --directory $(SITE) 8000

serve-demo:      ## serve demo-site/ on http://127.0.0.1:8000/
	python3 -m http.server --directory demo-site 8000

test: install    ## the test suite (what CI runs)
	$(BIN)/pytest

lint:            ## ruff and mypy
	$(BIN)/ruff check gitbrag tests benchmarks && $(BIN)/mypy

bench:           ## the benchmark scripts (print tables)
	$(BIN)/python benchmarks/claims.py
	$(BIN)/python benchmarks/api_economy.py
	$(BIN)/python benchmarks/hook_load.py

up:              ## docker compose: Redis, the service and nginx
	docker compose up -d --build

down:
	docker compose down
