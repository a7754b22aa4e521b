# Every target sets up .venv itself when it is missing or out of date.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
PROFILE ?= local
SAMPLE := data/telco_sample.csv
SAMPLE_ROWS ?= 7043
# three monthly snapshots of the sample's customers, for the feature-store profile local_features
SNAPSHOTS := data/telco_snapshots/telco_2026-03.csv
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := true

.PHONY: venv data run test test-fast lint format docs install-check bench pictures demo clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --progress-bar off -r requirements.txt
	$(BIN)/python -m pip install -q --progress-bar off --no-deps -e .
	# byte-compiled once, as pip does for a wheel: an editable install leaves it to the first
	# import, which PYTHONDONTWRITEBYTECODE (set on some machines) turns off for good
	$(BIN)/python -m compileall -q src
	touch $@

data: $(SAMPLE) $(SNAPSHOTS)

$(SAMPLE): $(VENV)/.installed
	$(BIN)/mlrecipes sample-data --rows $(SAMPLE_ROWS) --seed 42 --out $(SAMPLE)

$(SNAPSHOTS): $(VENV)/.installed
	$(BIN)/mlrecipes sample-data --rows $(SAMPLE_ROWS) --seed 42 --months 3 --out data/telco_snapshots

run: venv data
	$(BIN)/mlrecipes run --profile $(PROFILE) --strict

# two workers, each test file on one of them (its module fixtures, one server or one trained
# recipe, are built once); `make test PYTEST_WORKERS=0` runs in this process
PYTEST_WORKERS ?= 2
test: venv
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=15

test-fast: venv
	$(BIN)/python -m pytest -m "not slow"

# the documentation site (docs/, mkdocs.yml) into site/; --strict: a broken link fails it
docs: venv
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

# the wheel and sdist built and twine-checked, the wheel installed by resolution (not the pins)
# into a fresh venv, and the template run there outside the repository
install-check: venv
	PYTHON=$(PYTHON) .ci/install-check

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: venv data
	$(BIN)/python benchmarks/run_all.py

# the seed's demo, month by month, on a basic-auth MLflow server it starts (and stops) on
# 127.0.0.1: writes demo/report.html and demo/summary.json
demo: venv
	$(BIN)/mlrecipes demo play --out demo

# the README's pictures, from the real runs of the tests that check them (headless Chromium)
pictures: venv
	MLRECIPES_PICTURES=docs $(BIN)/python -m pytest -p no:cacheprovider -q \
		tests/integration/test_monitoring.py tests/integration/test_demo.py \
		tests/integration/test_mlflow_ui.py -k "report_opens or lists_the_recipes_runs"

clean:
	rm -rf .mlrecipes metadata mlruns
