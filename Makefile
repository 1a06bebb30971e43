# Quick start:  make demo   (set up, release the notebooks and the handout, grade a sample class from a Canvas
#                            download and export its grades back to Canvas)
#               make test   (set up, run the test suite)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP_FLAGS ?=# CI pins a tested torch/torchvision pair: PIP_FLAGS="-c .ci/constraints.txt"

.PHONY: setup sandbox demo test results release bench

setup: $(VENV)/.installed sandbox

$(VENV)/.installed: pyproject.toml student/requirements.txt autograder/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(PIP_FLAGS) -e '.[test]'
	touch $@

# The grader runs student code in bubblewrap; install it where we can (Debian/Ubuntu as root).
sandbox:
	@command -v bwrap >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && apt-get update -qq && apt-get install -y -qq bubblewrap; } \
	  || { echo "Please install bubblewrap (e.g. sudo apt-get install bubblewrap)"; exit 1; }

demo: setup
	$(BIN)/hw4 release
	$(BIN)/hw4 demo --out demo

# One and a half test processes per core: many tests wait on kernels, signals and time limits, but the suite
# is bound by its total work, and each process more costs its imports (benchmarks/README.md).
# The suite runs ruff too (tests/test_docs.py).
test: setup
	$(BIN)/python -m pytest -q -n $$((3 * $$(nproc) / 2)) --dist loadgroup

release: setup
	$(BIN)/hw4 release

results: setup
	$(BIN)/hw4 results
