# Two commands set everything up on a fresh machine (Python 3.11, Node.js 20, npm, make, git):
#   make demo   create .venv, install hookctl, run the tour against the local sandbox
#   make test   create .venv, install hookctl, run lint, type check and the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.hookctl-installed

.PHONY: venv demo test test-long lint typecheck unit bench clean

# pip's and the build backend's chatter goes to $(VENV)/install.log, shown only if the install fails.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing hookctl into $(VENV) (log: $(VENV)/install.log) ..."
	@{ $(BIN)/python -m pip install --disable-pip-version-check --upgrade pip \
	  && $(BIN)/python -m pip install --disable-pip-version-check -e '.[sandbox,dev]'; } \
	  > $(VENV)/install.log 2>&1 || { cat $(VENV)/install.log; echo "Installing hookctl failed; see above."; exit 1; }
	@touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(BIN)/hookctl demo

# lint-imports checks the layers and the SDK boundary written down in pyproject.toml ([tool.importlinter]).
lint: venv
	$(BIN)/ruff check provisioner tests bench
	$(BIN)/ruff format --check provisioner tests bench
	$(BIN)/lint-imports --no-cache

typecheck: venv
	$(BIN)/mypy

# The suite runs in parallel (pytest-xdist), one worker per CPU by default: PYTEST_WORKERS=0 runs it
# in one process. Tests that share a module-scoped fixture stay in one worker (tests/conftest.py).
PYTEST_WORKERS ?= auto
PYTEST := $(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadgroup

# Byte-compile hookctl first: with PYTHONDONTWRITEBYTECODE set (as on the CI machine) every
# `hookctl` process the tests start would otherwise compile the package again (~0.1 s CPU each).
unit: venv
	$(BIN)/python -m compileall -q provisioner
	$(PYTEST)

test: lint typecheck unit

test-long: venv
	$(BIN)/python -m compileall -q provisioner
	HOOKCTL_LONG=1 $(PYTEST)

bench: venv
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .hookctl build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
