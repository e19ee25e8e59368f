# The two commands: `make demo` and `make test`. Both create .venv on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# tox finds the other Pythons through pyenv when it is there (CI and the developers' machines).
PYENVS := $(shell command -v pyenv >/dev/null 2>&1 && pyenv versions --bare 2>/dev/null | grep -E '^3\.1[0-9]\.[0-9]+$$' | paste -sd: -)

.PHONY: venv test lint typecheck pytest services demo bench docs test-edges clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy hashstore

# nginx and Chromium come from Debian; the scripts install them when absent.
services:
	bash scripts/ensure-nginx.sh
	bash scripts/ensure-chromium.sh

pytest: $(STAMP) services
	$(BIN)/pytest -n 2 -q

test: lint typecheck pytest

demo: $(STAMP)
	bash scripts/ensure-nginx.sh
	$(BIN)/python examples/demo.py

bench: $(STAMP)
	$(BIN)/python bench/build.py

# The tox matrix's edges: the oldest and the newest Django (CI runs these after `make test`).
test-edges: $(STAMP)
	PYENV_VERSION="$(PYENVS)" $(BIN)/tox run -e py310-django42,py312-django61

clean:
	rm -rf $(VENV) .tox build .pytest_cache .mypy_cache .ruff_cache
