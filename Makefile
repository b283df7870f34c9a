# spo: `make demo` and `make test` set everything up on a fresh machine.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.spo-installed
TORCH   := torch==2.13.0
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export HF_HUB_DISABLE_PROGRESS_BARS := 1

.PHONY: setup demo test bench lint clean

setup: $(STAMP)

# torch first: the local CPU build; the package's torch range then pulls nothing more.
$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/python -m spo.learner.prebuild
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m spo.train experiment=tiny run_name=tiny-$$(date +%Y%m%d-%H%M%S)

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Each benchmark writes benchmarks/results/<name>.json; report.py renders them into results/README.md.
BENCHES := learner generation pipeline buffer sync
bench: $(STAMP)
	for b in $(BENCHES); do $(BIN)/python -m benchmarks.bench_$$b || exit 1; done
	$(BIN)/python -m benchmarks.report

lint: $(STAMP)
	$(BIN)/ruff check spo tests benchmarks
	$(BIN)/ruff format --check spo tests benchmarks

clean:
	rm -rf $(VENV) runs outputs
