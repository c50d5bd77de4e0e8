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

# pytest-xdist: a worker per core (at most 4; none on one core), tests handed out
# one at a time (worksteal); each worker and the tools it runs share the cores
# (tests/conftest.py). TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); [ $$n -gt 4 ] && n=4; \
	[ $$n -lt 2 ] && n=0; echo $$n)

test: setup
	@$(PY) -m pytest tests -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

# flake8 + isort, configured in setup.cfg (line length 100)
LINT_PATHS := setup.py rexnet_mm tools tests configs
lint: setup
	@$(PY) -m flake8 $(LINT_PATHS)
	@$(PY) -m isort --check-only --diff $(LINT_PATHS)
	@$(PY) -m codespell_lib $(LINT_PATHS) README.md CHANGELOG.md docs
	@echo "[lint] flake8, isort and codespell: clean"

benchmark: setup
	@$(PY) tools/analysis/benchmark.py

clean-venv:
	rm -rf $(VENV) .setup-logs
