# graphmoe: `make demo` and `make test` set everything up from a clean clone.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.graphmoe-installed
# The CPU wheel of torch lies in /opt/wheels on the project's machines; elsewhere pip's index serves it.
FIND_LINKS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels,)
PIP_INSTALL := $(PY) -m pip install --quiet $(FIND_LINKS) -c constraints.txt
FASHION_DIR ?= /usr/share/datasets/fashion-mnist

.PHONY: help setup demo test bench data clean

help:
	@echo "make demo   - set up .venv and run the demo (table + plots in runs/demo/)"
	@echo "make test   - set up .venv and run the test suite (notebooks included)"
	@echo "make bench  - run the clustering benchmark on the built-in datasets"
	@echo "make data   - install Fashion-MNIST from Debian (dataset-fashion-mnist) if missing"

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# torch first and pinned, so that no later requirement can pull a CUDA build
	$(PIP_INSTALL) "torch==2.13.0"
	$(PIP_INSTALL) -e ".[dev]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

# Best effort: Fashion-MNIST from Debian's package; tests and demo work without it.
data:
	@if [ -f $(FASHION_DIR)/train-images-idx3-ubyte.gz ]; then \
	  echo "Fashion-MNIST: $(FASHION_DIR)"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "installing dataset-fashion-mnist with apt-get"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  ( apt-get install -y -qq dataset-fashion-mnist || \
	    ( apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist ) ) >/dev/null 2>&1 || \
	  echo "note: could not install dataset-fashion-mnist; Fashion-MNIST runs are skipped"; \
	else \
	  echo "note: Fashion-MNIST not found in $(FASHION_DIR); run 'sudo apt-get install dataset-fashion-mnist'"; \
	fi

demo: setup data
	$(PY) -m graphmoe demo --out runs/demo

test: setup data
	$(PY) -m pytest

bench: setup data
	$(PY) -m graphmoe bench cluster --out runs/bench-cluster

clean:
	rm -rf $(VENV) runs .pytest_cache
