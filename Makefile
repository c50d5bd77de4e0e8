# rexnet_mm: `make demo` and `make test` set the environment up first (idempotent).
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup demo test benchmark clean-venv

setup:
	@bash tools/setup_env.sh

demo: setup
	@$(PY) tools/demo.py

test: setup
	@$(PY) -m pytest tests $(PYTEST_ARGS)

benchmark: setup
	@$(PY) tools/analysis/benchmark.py

clean-venv:
	rm -rf $(VENV) .setup-logs
