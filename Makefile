# The two commands: `make demo` and `make test`. Both create .venv on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# tox finds the other Pythons through pyenv when it is there (CI and the developers' machines).
PYENV_BINS := $(shell command -v pyenv >/dev/null 2>&1 && for v in $$(pyenv versions --bare | grep -E '^3\.1[0-9]\.[0-9]+$$'); do printf '%s:' "$$(pyenv root)/versions/$$v/bin"; done)

.PHONY: venv test lint typecheck pytest services thirdparty frontend demo bench docs docs-config \
	test-edges test-matrix package-check test-rgw clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# The distribution was called `hashstore` before it became `hashstore-static`.
	$(BIN)/python -m pip uninstall --quiet --yes hashstore 2>/dev/null || true
	rm -rf hashstore.egg-info
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

# Pinned npm packages for tests/test_thirdparty.py and the JavaScript scanner's tests, cached in
# build/thirdparty/.
thirdparty: $(STAMP)
	@if command -v npm >/dev/null 2>&1; then $(BIN)/python bench/thirdparty.py; \
	else echo "npm not found: tests/test_thirdparty.py will skip the npm packages"; fi

# The Vite and webpack fixture projects for tests/test_browser_bundles.py: `npm ci` once per
# lock file and a build once per change of their inputs, cached in build/frontend/.
frontend: $(STAMP)
	@bash scripts/ensure-debian.sh npm || true
	@if command -v npm >/dev/null 2>&1; then $(BIN)/python -m tests.frontend_fixtures; \
	else echo "npm not found: tests/test_browser_bundles.py will skip the bundler projects"; fi

pytest: $(STAMP) services thirdparty frontend
	$(BIN)/pytest -n 2 -q

test: lint typecheck pytest docs

# The manual: Sphinx, furo and MyST from docs/requirements.txt; warnings are errors, and -E
# rereads every page so that a warning is never hidden by an earlier build.
DOCS_STAMP := $(VENV)/.docs-stamp
$(DOCS_STAMP): docs/requirements.txt $(STAMP)
	$(BIN)/python -m pip install --quiet -r docs/requirements.txt
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	$(BIN)/python docs/_ext/hashstore_settings.py --check
	$(BIN)/sphinx-build -W --keep-going -E -q -b html docs docs/_build/html

# docs/configuration.md's option table, generated from Settings and the parser (checked in).
docs-config: $(STAMP)
	$(BIN)/python docs/_ext/hashstore_settings.py

demo: $(STAMP)
	bash scripts/ensure-nginx.sh
	$(BIN)/python examples/demo.py

bench: $(STAMP)
	$(BIN)/python bench/build.py --big

# The tox matrix (tox.ini): the slow and browser tests (Chromium, the rolling-deploy simulation,
# 200 MiB uploads) run in `make test` only.
TOX_SELECT := -m 'not slow and not browser'

# The matrix's edges: the oldest and the newest Django (CI runs these after `make test`).
test-edges: $(STAMP)
	PATH="$(PYENV_BINS)$$PATH" $(BIN)/tox run --skip-missing-interpreters false -e py310-django42,py313-django61 -- $(TOX_SELECT)

# Every env of the matrix, two at a time with one pytest worker each (a shared 2-core machine).
test-matrix: $(STAMP)
	PATH="$(PYENV_BINS)$$PATH" $(BIN)/tox run-parallel -p 2 --parallel-no-spinner --skip-missing-interpreters false -- -n 1 $(TOX_SELECT)

# The wheel and sdist as the package index sees them, and the wheel alone in a clean venv.
package-check: $(STAMP)
	$(BIN)/python scripts/check_package.py

# The S3 tests again, against Ceph's radosgw instead of moto: each pytest worker starts a
# one-node cluster on 127.0.0.1 (tests/radosgw.py). CI runs this after `make test`.
RGW_TESTS := tests/test_s3_target.py tests/test_s3_multipart.py tests/test_s3_checksums.py \
	tests/test_publish_s3.py tests/test_publish_order.py tests/test_kept_names.py \
	tests/test_verify.py tests/test_retention.py tests/test_releases.py tests/test_doctor.py \
	tests/test_doctor_probes.py tests/test_django.py tests/test_django_manage.py \
	tests/test_flask_example.py
test-rgw: $(STAMP)
	bash scripts/ensure-debian.sh radosgw
	HASHSTORE_TEST_STORE=radosgw $(BIN)/pytest -n 2 -q -rs $(RGW_TESTS)

clean:
	rm -rf $(VENV) .tox build dist docs/_build .pytest_cache .mypy_cache .ruff_cache
