# Two commands on a fresh machine (Python 3.11+ with pip):
#   make demo   start the bundled sandbox, extract it with tap-invoicing into target-jsonl (output/);
#               PROVIDER=revolv3 or PROVIDER=paypal for those sandboxes
#   make test   lint and run every test (what CI runs: .ci/run); installs what they need, PostgreSQL,
#               target-postgres, Meltano, Airflow and libfaketime included
# And while working on the tap:
#   make test-fast  the engine and the sandboxes without PostgreSQL, Meltano or Airflow, in four
#               processes (under two minutes): pytest -m "not warehouse and not orchestrate and not
#               slow"; the markers are described in pyproject.toml
#   make bench  how fast it extracts: workers vs one, vs a minimal client, memory, the cost of
#               logging (a few minutes)
#   make lock   rewrite uv.lock and requirements/*.txt, the exact versions every virtualenv gets,
#               after changing pyproject.toml or requirements/*.in; UPGRADE=--upgrade for the newest
PYTHON ?= python3
PROVIDER ?= cybersource
VENV := .venv
TARGET_VENV := .venv-target
SINGER_TOOLS_VENV := .venv-singer-tools
TARGET_POSTGRES_VENV := .venv-target-postgres

.PHONY: demo test test-fast lint lock bench clean postgres-server faketime

# uv, pinned, in a virtualenv of its own: it installs the versions uv.lock pins.
UV_VERSION := 0.13.9
UV_VENV := .venv-uv
UV := $(UV_VENV)/bin/uv
UV_INSTALLED := $(UV_VENV)/.installed-$(UV_VERSION)
$(UV_INSTALLED):
	$(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/pip install --quiet uv==$(UV_VERSION)
	touch $@

# The package (editable) and its test tools, at exactly uv.lock's versions; --locked fails if
# pyproject.toml changed since the lock was written (then: make lock). The vendor SDK used to
# cross-check request signatures pulls in urllib3-future, whose wheel replaces the urllib3 that
# requests uses; pyproject.toml's [tool.uv] has it built with URLLIB3_NO_OVERRIDE, beside it.
# --compile-bytecode as pip does: the vendor SDK's source has escapes Python warns about when it
# compiles them, and the tests make warnings errors.
$(VENV)/.installed: pyproject.toml uv.lock | $(UV_INSTALLED)
	UV_PROJECT_ENVIRONMENT=$(VENV) UV_PYTHON_DOWNLOADS=never \
	  $(UV) sync --quiet --locked --extra test --compile-bytecode --python $(PYTHON)
	$(VENV)/bin/python -c "import urllib3, importlib.metadata as m; \
	  assert urllib3.__version__ == m.version('urllib3'), 'urllib3 was replaced by urllib3-future'"
	touch $@

# Each tool below gets a virtualenv of its own, installed from requirements/NAME.txt: every
# version pinned (make lock writes them from requirements/NAME.in).
SIDE_REQUIREMENTS := target-jsonl singer-tools target-postgres meltano

# target-jsonl pins old singer-python/jsonschema that conflict with singer-sdk: it gets its own venv.
$(TARGET_VENV)/.installed: requirements/target-jsonl.txt
	$(PYTHON) -m venv $(TARGET_VENV)
	$(TARGET_VENV)/bin/pip install --quiet -r requirements/target-jsonl.txt
	touch $@

# singer-check-tap validates the tap's output in the tests; it pins libraries from 2017, so it is
# kept in a virtualenv of its own too.
$(SINGER_TOOLS_VENV)/.installed: requirements/singer-tools.txt
	$(PYTHON) -m venv $(SINGER_TOOLS_VENV)
	$(SINGER_TOOLS_VENV)/bin/pip install --quiet -r requirements/singer-tools.txt
	touch $@

# The warehouse tests load the tap's output through the real MeltanoLabs target-postgres (its own
# venv: it pins singer-sdk ~=0.54.0 and brings SQLAlchemy and psycopg) into a PostgreSQL server.
$(TARGET_POSTGRES_VENV)/.installed: requirements/target-postgres.txt
	$(PYTHON) -m venv $(TARGET_POSTGRES_VENV)
	$(TARGET_POSTGRES_VENV)/bin/pip install --quiet -r requirements/target-postgres.txt
	touch $@

MELTANO_VENV := .venv-meltano
# Meltano pins its own dependencies (SQLAlchemy, click, ...): it gets a virtualenv of its own.
$(MELTANO_VENV)/.installed: requirements/meltano.txt
	$(PYTHON) -m venv $(MELTANO_VENV)
	$(MELTANO_VENV)/bin/pip install --quiet -r requirements/meltano.txt
	touch $@

AIRFLOW_VENV := .venv-airflow
AIRFLOW_VERSION := 3.3.2
AIRFLOW_CONSTRAINTS := orchestrate/airflow/constraints-$(shell $(PYTHON) -c \
  'import sys; print("%d.%d" % sys.version_info[:2])').txt
# Airflow, for the example DAG's test, installed as Apache asks: with a constraints file that pins
# every dependency, one per Python version (orchestrate/airflow/constraints-3.11.txt says what it is).
$(AIRFLOW_VENV)/.installed: $(AIRFLOW_CONSTRAINTS)
	$(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/pip install --quiet apache-airflow==$(AIRFLOW_VERSION) --constraint $(AIRFLOW_CONSTRAINTS)
	touch $@

# Installs Debian's PostgreSQL server if none is installed; the tests start their own cluster.
postgres-server:
	bash scripts/postgres.sh install

# tests/orchestrate/test_resume.py runs target-postgres on a clock 60 times faster (libfaketime).
faketime:
	bash scripts/faketime.sh install

demo: $(VENV)/.installed $(TARGET_VENV)/.installed
	VENV=$(VENV) TARGET_VENV=$(TARGET_VENV) PROVIDER=$(PROVIDER) bash scripts/demo.sh

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: lint $(TARGET_VENV)/.installed $(SINGER_TOOLS_VENV)/.installed $(TARGET_POSTGRES_VENV)/.installed \
	$(MELTANO_VENV)/.installed postgres-server faketime $(AIRFLOW_VENV)/.installed
	$(VENV)/bin/python -m pytest

# Four processes for two cores: most of a test's time is spent waiting (the sandbox's latency,
# retry pauses, the tap's subprocesses). --dist loadscope keeps a module's or class's tests in one
# process, in order, as the SDK's standard test classes expect.
test-fast: $(VENV)/.installed $(TARGET_VENV)/.installed $(SINGER_TOOLS_VENV)/.installed
	$(VENV)/bin/python -m pytest -n 4 --dist loadscope -m "not warehouse and not orchestrate and not slow"

# Keeps every version already pinned unless UPGRADE=--upgrade.
lock: $(UV_INSTALLED)
	UV_PYTHON_DOWNLOADS=never $(UV) lock --python $(PYTHON) $(UPGRADE)
	for name in $(SIDE_REQUIREMENTS); do \
	  $(UV) pip compile --quiet --universal --python-version 3.11 --no-config \
	    --custom-compile-command "make lock" $(UPGRADE) requirements/$$name.in -o requirements/$$name.txt \
	    || exit 1; \
	done

bench: $(VENV)/.installed
	$(VENV)/bin/python bench/throughput.py
	$(VENV)/bin/python bench/revolv3.py
	$(VENV)/bin/python bench/paypal.py
	$(VENV)/bin/python bench/logging_cost.py

clean:
	rm -rf $(VENV) $(TARGET_VENV) $(SINGER_TOOLS_VENV) $(TARGET_POSTGRES_VENV) $(MELTANO_VENV) output \
	  .pytest_cache $(AIRFLOW_VENV) $(UV_VENV)
