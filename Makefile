# rexnet_mm: `make demo` and `make test` set the environment up first (idempotent).
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup demo demo-seg test lint benchmark clean-venv

setup:
	@bash tools/setup_env.sh

demo: setup
	@$(PY) tools/demo.py

demo-seg: setup
	@$(PY) tools/demo.py --seg

test: setup
	@$(PY) -m pytest tests $(PYTEST_ARGS)

# flake8 + isort, configured in setup.cfg (line length 100)
LINT_PATHS := setup.py rexnet_mm tools tests configs
lint: setup
	@$(PY) -m flake8 $(LINT_PATHS)
	@$(PY) -m isort --check-only --diff $(LINT_PATHS)
	@echo "[lint] flake8 and isort: clean"

benchmark: setup
	@$(PY) tools/analysis/benchmark.py

clean-venv:
	rm -rf $(VENV) .setup-logs
