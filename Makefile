# The two commands a newcomer needs: `make run` and `make test` (see README.md).
SHELL := /bin/sh
PYTHON := .venv/bin/python
INSTALLED := .venv/.installed

.PHONY: run test lint format bench lock messages clean

$(INSTALLED): requirements.lock scripts/bootstrap scripts/find-python
	@scripts/bootstrap

## run: serve the inbox with demo data on http://127.0.0.1:8000, plus the task worker
run: $(INSTALLED)
	@$(PYTHON) scripts/run_dev.py

## test: the full test suite on every core (SQLite unless DATABASE_URL says otherwise)
test: $(INSTALLED)
	$(PYTHON) -m pytest -n auto --dist loadgroup $(PYTEST_ARGS)

## lint: ruff, the apps' layers, mypy on messaging and privacy, and no model change without its migration
lint: $(INSTALLED)
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports
	DEBUG=on ENV_FILE= .venv/bin/mypy
	DEBUG=on ENV_FILE= $(PYTHON) manage.py makemigrations --check --dry-run

## format: apply ruff's fixes and formatting
format: $(INSTALLED)
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

## bench: performance benchmarks on PostgreSQL with gunicorn and wrk (bench/run.py, docs/benchmarks.md)
bench: $(INSTALLED)
	$(PYTHON) -m bench.run $(BENCH_ARGS)

## lock: re-resolve requirements.lock from pyproject.toml (newest allowed versions)
lock:
	@scripts/lock

## messages: refresh the Arabic catalogue from the code, then compile it (needs GNU gettext)
messages: $(INSTALLED)
	DEBUG=on $(PYTHON) manage.py makemessages --locale ar --no-obsolete --ignore .venv --ignore staticfiles
	DEBUG=on $(PYTHON) manage.py compilemessages --locale ar --ignore .venv

clean:
	rm -rf .venv staticfiles .pytest_cache .ruff_cache .mypy_cache
