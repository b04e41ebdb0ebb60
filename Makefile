# Two commands on a fresh machine: `make demo` and `make test`. Everything else is set-up they call.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
JARS_STAMP := spark/jars/target/.fetched
export AWS_REQUEST_CHECKSUM_CALCULATION := when_required
export AWS_RESPONSE_CHECKSUM_VALIDATION := when_required

.PHONY: venv vendor jars test test-fast lint demo clean

venv: $(INSTALLED) vendor

# The Eloqua sandbox is a development distribution of its own (sandbox/): installed here, never in the image.
$(INSTALLED): setup.cfg pyproject.toml sandbox/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]' -e ./sandbox
	touch $@

# The Data Docs' browser assets, from the npm registry (quality/vendor.py): fetched when missing or not matching
# the sha256s of quality/gx/vendor.json, checked on every run.
vendor:
	$(PYTHON) quality/vendor.py

# hadoop-aws (matching pyspark's bundled Hadoop) and the AWS SDK v2 modules it needs, from Maven Central.
jars: $(JARS_STAMP)

# The folder is emptied first: a version bump in the pom must not leave the old jars on Spark's classpath.
$(JARS_STAMP): spark/jars/pom.xml
	rm -rf spark/jars/target/jars
	mvn -q -B -f spark/jars/pom.xml dependency:copy-dependencies -DoutputDirectory=target/jars -DincludeScope=runtime
	touch $@

test: venv jars
	$(BIN)/python -m pytest

test-fast: venv
	$(BIN)/python -m pytest -m "not slow"

lint: venv
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy contract lake eloqua spark jobs quality luigi_tasks sandbox/scc_sandbox

demo: venv jars
	$(BIN)/scc demo

clean:
	rm -rf $(VENV) spark/jars/target var .pytest_cache quality/gx/vendor
