# Two commands on a fresh machine: `make demo` and `make test`.
# Both create the virtualenv and install everything they need.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: demo test test-all test-fast lint setup snapshot-update bench docs clean tui-demo

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# torch first and pinned: the CPU wheel (2.13.0) instead of a multi-GB CUDA build
	$(PY) -m pip install --quiet --disable-pip-version-check torch==2.13.0
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[lora,dev]'
	# Bytecode now, as a wheel install does: an editable install is compiled on first import only
	# where writing .pyc is allowed, and some machines set PYTHONDONTWRITEBYTECODE=1.
	$(PY) -m compileall -q diagnose tui > /dev/null
	$(PY) examples/tiny_models.py > /dev/null
	touch $(STAMP)

## The demo: the seed card's LoRA setup on a tiny local GPT-2 fails, and is diagnosed.
demo: $(STAMP)
	@echo "\$$ diagnose run examples/peft-target-modules-not-found.py"
	@$(VENV)/bin/diagnose run --no-quiz examples/peft-target-modules-not-found.py; \
	 status=$$?; if [ $$status -ne 1 ]; then echo "demo: expected the script to fail with exit 1, got $$status"; exit 1; fi

tui-demo: $(STAMP)
	$(VENV)/bin/diagnose tui examples/peft-target-modules-not-found.py

## Lint, format and types (configured in pyproject.toml); `make test` runs them first.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

## The test suite, after lint: everything but the `slow` tests (those run real training scripts,
## launchers with several ranks, a Jupyter kernel, wheel installs: about an hour on 2 cores; `make test-all`).
## pytest's exit code 5 (no tests collected) is a failure, not a pass.
test: lint
	@status=0; $(PY) -m pytest -q -n 2 -m "not slow" --durations=10 $(PYTEST_ARGS) || status=$$?; \
	 if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests"; exit 1; fi; exit $$status

## Every test, the slow ones included.
test-all: lint
	$(PY) -m pytest -q -n 2 --durations=20 $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow" $(PYTEST_ARGS)

snapshot-update: $(STAMP)
	$(PY) -m pytest -q tests/test_tui_snapshots.py --snapshot-update

docs: $(STAMP)
	$(VENV)/bin/diagnose kb docs --write docs/kb.md

bench: $(STAMP)
	for b in bench/bench_*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .tiny-models .pytest_cache
