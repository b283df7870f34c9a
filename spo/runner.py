"""The single controller: builds the role groups and runs self-play iterations.

One iteration: rollout (generate -> score -> buffer, streamed chunk by chunk as
object references), selection, learning, weight sync, checkpoint, held-out
evaluation. Each stage is its own method and writes one ``metrics.jsonl`` line.

A run continues where it stopped: started again on the same run directory (same
command, or ``resume=RUN_DIR``), it rolls back to its last complete iteration,
restores the learner's state, and goes on (see :mod:`spo.run_state`).
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import asdict
from pathlib import Path

import pyarrow as pa
import ray
from omegaconf import OmegaConf

from spo.assets.tiny import TinySpec, ensure_tiny_policy
from spo.buffer.pair_metrics import NEEDS_LOGPROBS
from spo.buffer.replay_buffer import ReplayBuffer
from spo.cluster import check_fits, connect
from spo.config import Config, ConfigError, validate
from spo.data.prompts import load_prompts, screen_prompts
from spo.eval.heldout import collect_heldout
from spo.eval.pairwise import PairwiseJudge
from spo.eval.reference import load_reference_answers
from spo.io import atomic_file, write_parquet
from spo.learner.group import LearnerGroup
from spo.metrics import MetricsLog, format_table, saved_compute
from spo.progress import gather_with_progress
from spo.reward.pool import ScorerPool
from spo.rollout.base import SamplingParams
from spo.rollout.hf_engine import load_tokenizer
from spo.rollout.pool import GeneratorPool
from spo.run_state import (
    checkpoint_dir,
    completed_iteration,
    iteration_rows,
    learner_state_dir,
    mark_complete,
    rollback,
)
from spo.schemas import generated_schema
from spo.sync.base import TRANSPORTS
from spo.tracking import build_trackers

log = logging.getLogger(__name__)


def resolve_model_path(cfg: Config) -> str:
    """The policy checkpoint directory: ``model.path`` or the locally built tiny model."""
    if cfg.model.path is not None:
        return str(Path(cfg.model.path).expanduser())
    if cfg.model.name != "tiny":
        raise ConfigError(f"model.path: required for model {cfg.model.name!r}")
    spec = TinySpec(
        hidden_size=cfg.model.tiny_hidden_size,
        num_layers=cfg.model.tiny_num_layers,
        sft_steps=cfg.model.tiny_sft_steps,
    )
    return str(ensure_tiny_policy(Path(cfg.cache_dir).expanduser(), spec))


def resolve_pool_path(cfg: Config, pool) -> str:
    """An extra pool's checkpoint: its ``path`` or a locally built tiny model of its size."""
    if pool.path is not None:
        return str(Path(pool.path).expanduser())
    spec = TinySpec(hidden_size=pool.tiny_hidden_size, num_layers=pool.tiny_num_layers, sft_steps=pool.tiny_sft_steps)
    return str(ensure_tiny_policy(Path(cfg.cache_dir).expanduser(), spec))


# Keys that may differ when a run directory is started again: the run continues regardless.
RESUMABLE_CHANGES = ("run_dir", "resume", "iterations")


class RewardFailureError(RuntimeError):
    """Too many samples of an iteration could not be scored."""


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        out.update(_flatten(v, key + ".") if isinstance(v, dict) else {key: v})
    return out


def resume_point(cfg: Config) -> int | None:
    """``None`` for a fresh run directory; else the last complete iteration of the run it holds.

    The saved config must match ``cfg`` apart from :data:`RESUMABLE_CHANGES`.
    """
    run_dir = Path(cfg.run_dir)
    if not (run_dir / "metrics.jsonl").exists():
        return None
    saved_path = run_dir / "config.yaml"
    if not saved_path.exists():
        raise ConfigError(f"run_dir: {run_dir} holds metrics.jsonl but no config.yaml; choose another run_name=...")
    saved = _flatten(OmegaConf.to_container(OmegaConf.load(saved_path), resolve=True))
    now = _flatten(OmegaConf.to_container(OmegaConf.structured(cfg), resolve=True))
    changed = sorted(k for k in saved.keys() | now.keys() if saved.get(k) != now.get(k) and k not in RESUMABLE_CHANGES)
    if changed:
        shown = ", ".join(f"{k}: {saved.get(k)!r} -> {now.get(k)!r}" for k in changed[:5])
        raise ConfigError(
            f"run_dir: {run_dir} holds a run with a different config ({shown}); choose another run_name=..., "
            f"or continue it with resume={run_dir}"
        )
    return completed_iteration(run_dir)


def _seed(*parts: int) -> int:
    return random.Random(" ".join(map(str, parts))).randrange(2**31 - 1)


class SelfPlayRunner:
    """Owns the role groups and the iteration loop."""

    def __init__(self, cfg: Config):
        validate(cfg)
        self.cfg = cfg
        self.run_dir = Path(cfg.run_dir)
        self.train_prompts, self.heldout_prompts = load_prompts(cfg.task)
        if not self.heldout_prompts:
            raise ConfigError("task.heldout_file: a held-out prompt set is required for evaluation")
        self.resume_from = resume_point(cfg)
        self.reference_answers = (
            load_reference_answers(cfg.eval.baseline, self.heldout_prompts) if cfg.eval.baseline != "initial" else None
        )
        self.model_path = resolve_model_path(cfg)
        try:
            tokenizer = load_tokenizer(self.model_path, cfg.model.trust_remote_code)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"model.path: {exc}") from exc
        source = cfg.task.prompts_file or f"task {cfg.task.name}"
        self.train_prompts, dropped = screen_prompts(self.train_prompts, tokenizer, cfg.task, source)
        self.heldout_prompts, dropped_heldout = screen_prompts(
            self.heldout_prompts, tokenizer, cfg.task, cfg.task.heldout_file or f"task {cfg.task.name} (held out)"
        )
        self.input_summary = {
            "prompts_train": len(self.train_prompts),
            "prompts_heldout": len(self.heldout_prompts),
            **{f"prompts_{k}": v + dropped_heldout[k] for k, v in dropped.items()},
        }
        self.extra_paths = {name: resolve_pool_path(cfg, pool) for name, pool in cfg.generator.extra_pools.items()}
        self.metrics = MetricsLog(self.run_dir)
        self.scorer_names = list(cfg.reward.scorers)
        self._order = list(range(len(self.train_prompts)))
        random.Random(cfg.seed).shuffle(self._order)

    # ----------------------------------------------------------------- set-up
    def start(self) -> None:
        """Connect to Ray and start every role."""
        cfg, cl = self.cfg, self.cfg.cluster
        self._owns_ray = connect(cl, cfg.cache_dir)
        try:
            resources = ray.cluster_resources()
            check_fits(cfg, resources.get("CPU", 0.0), resources.get("GPU", 0.0))
        except ConfigError:
            self.shutdown()
            raise
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with atomic_file(self.run_dir / "config.yaml", "w") as fh:
            fh.write(OmegaConf.to_yaml(cfg, resolve=True))
        self.metrics.trackers = build_trackers(
            list(cfg.tracking.backends), self.run_dir, cfg.tracking.project, cfg.run_name,
            asdict(cfg),
        )  # fmt: skip
        engine_kwargs = {"model_path": self.model_path, "trust_remote_code": cfg.model.trust_remote_code,
                         **cfg.generator.engine_kwargs}  # fmt: skip
        self.generators = GeneratorPool(
            cfg.generator.num_workers,
            cfg.generator.engine,
            engine_kwargs,
            generator_name=cfg.model.name,
            num_cpus=cl.generator_cpus,
            threads=cl.generator_threads,
            max_restarts=cl.max_restarts,
            num_gpus=cl.generator_gpus,
        )
        self.scorers = ScorerPool(
            {name: self._scorer_spec(sc) for name, sc in cfg.reward.scorers.items()},
            num_cpus=cl.scorer_cpus,
            threads=cl.scorer_threads,
            max_restarts=cl.max_restarts,
            num_gpus=cl.scorer_gpus,
        )
        self.extra_pools = [
            GeneratorPool(
                pool.num_workers,
                cfg.generator.engine,
                {**engine_kwargs, "model_path": self.extra_paths[name]},
                generator_name=name,
                num_cpus=cl.generator_cpus,
                threads=cl.generator_threads,
                sample_offset=(k + 1) * cfg.generator.n_samples,
                max_restarts=cl.max_restarts,
                num_gpus=cl.generator_gpus,
            )
            for k, (name, pool) in enumerate(cfg.generator.extra_pools.items())
        ]
        self.buffer = ray.remote(ReplayBuffer).options(num_cpus=cl.buffer_cpus).remote(cfg)
        learner_cfg = asdict(cfg.learner)
        self.learner = LearnerGroup(
            cfg.learner.num_ranks,
            self.model_path,
            learner_cfg,
            cl.learner_cpus,
            cl.learner_threads,
            cfg.seed,
            num_gpus=cl.learner_gpus,
        )
        self.transport = TRANSPORTS.get(cfg.sync.transport)(cfg.sync)
        self.pairwise_judge = None
        if cfg.eval.pairwise_judge is not None:
            self.pairwise_judge = (
                ray.remote(PairwiseJudge)
                .options(num_cpus=cl.scorer_cpus)
                .remote(str(Path(cfg.eval.pairwise_judge).expanduser()), cfg.generator.engine)
            )

    def _scorer_spec(self, sc) -> dict:
        """Constructor arguments of one scorer backend."""
        if sc.backend == "rule":
            kwargs = {"fn": sc.fn}
        elif sc.backend == "rule_judge":
            kwargs = {"fn": sc.fn, "dimensions": list(sc.dimensions)}
        elif sc.backend == "judge":
            kwargs = {"path": str(Path(sc.path).expanduser()), "dimensions": list(sc.dimensions),
                      "engine": self.cfg.generator.engine, "max_new_tokens": sc.max_new_tokens,
                      "trust_remote_code": sc.trust_remote_code}  # fmt: skip
        else:
            kwargs = {
                "path": str(Path(sc.path).expanduser()),
                "policy_path": self.model_path,
                "batch_size": sc.batch_size,
                "trust_remote_code": sc.trust_remote_code,
                "chat_template": sc.chat_template,
            }
        return {"backend": sc.backend, "num_workers": sc.num_workers, "kwargs": kwargs}

    def shutdown(self) -> None:
        """Stop every role, and the local Ray cluster if this runner started it."""
        self.metrics.close()
        if getattr(self, "pairwise_judge", None) is not None:
            ray.kill(self.pairwise_judge)
        for pool in getattr(self, "extra_pools", []):
            pool.shutdown()
        for role in ("generators", "scorers", "learner"):
            if hasattr(self, role):
                getattr(self, role).shutdown()
        if getattr(self, "_owns_ray", False):
            ray.shutdown()

    # ----------------------------------------------------------------- stages
    def _iteration_prompts(self, iteration: int) -> list[dict]:
        n = self.cfg.prompts_per_iteration
        idx = [self._order[(iteration * n + i) % len(self._order)] for i in range(n)]
        return [self.train_prompts[i] for i in idx]

    def _chunks(self, rows: list[dict]) -> list[list[dict]]:
        size = self.cfg.generator.chunk_size
        return [rows[i : i + size] for i in range(0, len(rows), size)]

    def _stream(self, rows: list[dict], iteration: int, n_samples: int, seed: int, pools: list) -> dict:
        """Generate -> score -> buffer, chunk by chunk, for every pool; the driver holds only references."""
        g = self.cfg.generator
        start = time.perf_counter()
        acks = []
        chunks = self._chunks(rows)
        for k, chunk in enumerate(chunks):
            sampling = SamplingParams(n_samples, g.temperature, g.top_p, g.max_new_tokens, _seed(seed, iteration, k))
            for pool in pools:
                samples = pool.submit(chunk, iteration, sampling)
                acks.append(self.buffer.add.remote(self.scorers.submit(samples)))
        per_ack = -(-len(rows) // max(len(chunks), 1)) * n_samples
        label = f"rollout {iteration}" if iteration >= 0 else "difficulty pass"
        kept = sum(gather_with_progress(acks, label, "samples generated, scored and buffered", per_ack))
        return {
            "rollout_s": time.perf_counter() - start,
            "generate_s": max(pool.take_busy_seconds() for pool in pools),
            "score_s": self.scorers.take_busy_seconds(),
            "prompts_generated": len(rows),
            "samples_clean": kept,
        }

    def prepare_difficulty(self) -> dict | None:
        """Set up a ``frozen`` or ``file`` difficulty source; ``None`` for ``current``."""
        d = self.cfg.difficulty
        if d.source == "file":
            return {"prompts": ray.get(self.buffer.load_difficulty.remote(str(Path(d.file).expanduser())))}
        if d.source != "frozen":
            return None
        n = self.cfg.prompts_per_iteration
        used = sorted({self._order[i % len(self._order)] for i in range(n * self.cfg.iterations)})
        rows = [self.train_prompts[i] for i in used]
        stats = self._stream(rows, -1, d.n_samples or self.cfg.generator.n_samples, self.cfg.seed, [self.generators])
        return {**stats, **ray.get(self.buffer.freeze_difficulty.remote())}

    def rollout(self, iteration: int) -> dict:
        """Select (when difficulty is known up front), then generate, score and buffer."""
        rows = self._iteration_prompts(iteration)
        if self.cfg.difficulty.source != "current":
            kept = set(ray.get(self.buffer.preselect.remote(iteration, [r["prompt_id"] for r in rows])))
            rows = [r for r in rows if r["prompt_id"] in kept]
        pools = [self.generators, *self.extra_pools]
        return self._stream(rows, iteration, self.cfg.generator.n_samples, self.cfg.seed, pools)

    def select(self, iteration: int) -> dict:
        """Compute difficulty, select prompts and build pairs in the buffer."""
        start = time.perf_counter()
        summary = ray.get(self.buffer.finalize.remote(iteration))
        return {**summary, "select_s": time.perf_counter() - start}

    def check_failures(self, iteration: int, summary: dict) -> None:
        """Stop the run once the quarantined share of an iteration's samples is too large."""
        limit = self.cfg.reward.max_failure_fraction
        if summary["quarantined_fraction"] > limit:
            raise RewardFailureError(
                f"iteration {iteration}: {summary['quarantined']} of {summary['samples'] + summary['quarantined']} "
                f"samples could not be scored ({summary['quarantined_fraction']:.1%} > reward.max_failure_fraction="
                f"{limit}); first error: {summary['first_score_error']}; see "
                f"{self.run_dir / f'iter_{iteration}' / 'quarantine.parquet'}"
            )

    def select_pairs(self, iteration: int) -> dict:
        """Score candidate pairs (on the learner group, if the metric needs log-probs) and keep the best."""
        sel = self.cfg.selection
        start = time.perf_counter()
        pieces = []
        if sel.pairs in NEEDS_LOGPROBS:
            pieces = self.learner.pair_logprobs(self.buffer.candidates.remote(iteration), sel.implicit == "dpo")
        summary = ray.get(self.buffer.select_pairs.remote(iteration, *pieces))
        return {**summary, "select_pairs_s": time.perf_counter() - start}

    def learn(self, iteration: int) -> dict:
        """Train the learner group on this iteration's pairs."""
        start = time.perf_counter()
        metrics = self.learner.train(self.buffer.pairs.remote(iteration), iteration)
        return {**metrics, "train_s": time.perf_counter() - start}

    def sync(self, version: int) -> dict:
        """Push the learner's weights to the generators as ``version``."""
        start = time.perf_counter()
        self.transport.push(self.learner, self.generators, version)
        versions = self.generators.policy_versions()
        return {"sync_s": time.perf_counter() - start, "policy_version": min(versions)}

    def checkpoint(self, iteration: int) -> dict:
        """Save an HF checkpoint of the policy after ``iteration``, and the learner's full training state.

        The generators are told that checkpoint holds their current policy (a restarted one loads it).
        """
        start = time.perf_counter()
        path = checkpoint_dir(self.run_dir, iteration)
        self.learner.save_checkpoint(str(path))
        self.generators.set_policy(iteration + 1, str(path))
        self.learner.save_state(str(learner_state_dir(self.run_dir, iteration)))
        return {"checkpoint_s": time.perf_counter() - start}

    def score_reference_answers(self) -> dict | None:
        """Score the reference answers once (``eval.baseline`` file) into ``eval/reference.parquet``."""
        if self.reference_answers is None:
            return None
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(self.model_path)
        rows = [
            dict(prompt_id=p["prompt_id"], prompt=p["prompt"], response=self.reference_answers[p["prompt_id"]],
                 sample_idx=0, generator="reference", policy_version=-1, iteration=-1,
                 n_tokens=len(tok(self.reference_answers[p["prompt_id"]], add_special_tokens=False).input_ids),
                 logprob_sum=None, finish_reason="stop", score_error=None)
            for p in self.heldout_prompts
        ]  # fmt: skip
        scored = ray.get(self.scorers.submit(ray.put(pa.Table.from_pylist(rows, schema=generated_schema()))))
        write_parquet(scored, self.run_dir / "eval" / "reference.parquet")
        return {"reference_answers": scored.num_rows}

    def evaluate(self, version: int) -> dict:
        """Answer the held-out prompts with fixed sampling, score them, and compare with the baseline."""
        e, g = self.cfg.eval, self.cfg.generator
        start = time.perf_counter()
        scored = []
        for k, chunk in enumerate(self._chunks(self.heldout_prompts)):
            sampling = SamplingParams(e.n_samples, e.temperature, e.top_p, g.max_new_tokens, _seed(e.seed, k))
            scored.append(self.scorers.submit(self.generators.submit(chunk, -1, sampling)))
        eval_dir = self.run_dir / "eval"
        path = str(eval_dir / f"policy_v{version}.parquet")
        initial = str(eval_dir / "policy_v0.parquet")
        baseline = initial if self.reference_answers is None else str(eval_dir / "reference.parquet")
        judge = e.judge or self.cfg.reward.primary
        summary = ray.get(collect_heldout.remote(path, self.scorer_names, judge, baseline, initial, *scored))
        self.generators.take_busy_seconds()
        self.scorers.take_busy_seconds()
        if self.pairwise_judge is not None and (version > 0 or self.reference_answers is not None):
            summary.update(ray.get(self.pairwise_judge.compare_files.remote(path, baseline)))
        summary["heldout_reward"] = summary[f"heldout_reward/{self.cfg.reward.primary}"]
        for key in ("win_rate", "lc_win_rate"):
            if f"{key}/{judge}" in summary:
                summary[key] = summary[f"{key}/{judge}"]
        return {**summary, "eval_s": time.perf_counter() - start, "policy_version": version}

    # ------------------------------------------------------------------- loop
    def run(self) -> list[dict]:
        """Run (or continue) every iteration; returns one summary row per iteration."""
        self.start()
        try:
            if self.resume_from is not None and self.resume_from >= 0:
                rows = self.restore(self.resume_from)
            else:
                if self.resume_from == -1:  # stopped before its first iteration completed: start afresh
                    rollback(self.run_dir, -2)
                rows = self.initial_stages()
            for it in range(len(rows) - 1, self.cfg.iterations):
                rows.append(self.iterate(it))
            print(format_table(rows), flush=True)
            print(f"run directory: {self.run_dir}", flush=True)
            return rows
        finally:
            self.shutdown()

    def initial_stages(self) -> list[dict]:
        """Input counts, the difficulty pass, reference answers and the initial policy's evaluation."""
        self.metrics.write(-1, "input", self.input_summary)
        difficulty = self.prepare_difficulty()
        if difficulty is not None:
            self.metrics.write(-1, "difficulty", difficulty)
        reference = self.score_reference_answers()
        if reference is not None:
            self.metrics.write(-1, "reference", reference)
        baseline = self.evaluate(0)
        self.metrics.write(-1, "eval", baseline)
        log.info("iteration -1 (initial policy): held-out reward %.4f", baseline["heldout_reward"])
        return [{"iteration": -1, **baseline}]

    def restore(self, last: int) -> list[dict]:
        """Continue after iteration ``last``: drop later partial outputs, restore learner and generators."""
        start = time.perf_counter()
        removed = rollback(self.run_dir, last)
        log.warning("resuming %s after iteration %d; removed: %s", self.run_dir, last, removed or "nothing")
        self.learner.load_state(str(learner_state_dir(self.run_dir, last)))
        d = self.cfg.difficulty
        if d.source != "current":
            path = self.run_dir / "difficulty.parquet" if d.source == "frozen" else Path(d.file).expanduser()
            ray.get(self.buffer.load_difficulty.remote(str(path)))
        synced = self.sync(last + 1)
        self.generators.set_policy(last + 1, str(checkpoint_dir(self.run_dir, last)))
        self.metrics.write(last + 1, "resume", {"resumed_after": last, "removed": removed, **synced,
                                                "resume_s": time.perf_counter() - start})  # fmt: skip
        return iteration_rows(self.run_dir)

    def iterate(self, iteration: int) -> dict:
        """One full self-play iteration; returns its summary row."""
        start = time.perf_counter()
        row = {"iteration": iteration}
        for stage, fn, arg in (
            ("rollout", self.rollout, iteration),
            ("select", self.select, iteration),
            ("select_pairs", self.select_pairs, iteration),
            ("learn", self.learn, iteration),
            ("sync", self.sync, iteration + 1),
            ("checkpoint", self.checkpoint, iteration),
            ("eval", self.evaluate, iteration + 1),
        ):
            values = fn(arg)
            self.metrics.write(iteration, stage, values)
            row.update(values)
            if stage == "select":
                self.check_failures(iteration, values)
        row["iteration_s"] = time.perf_counter() - start
        if self.cfg.difficulty.source != "current":
            row.update(saved_compute(self.cfg.prompts_per_iteration, self.cfg.generator.n_samples, row))
        self.metrics.write(iteration, "iteration", row)
        mark_complete(self.run_dir, iteration)
        log.info(
            "iteration %d: held-out %.4f, difficulty %.3f, pairs %s, loss %.4f, acc %.3f, %.1fs",
            iteration,
            row["heldout_reward"],
            row["difficulty_mean"] or float("nan"),
            row.get("pairs_trained"),
            row.get("loss", float("nan")),
            row.get("reward_accuracy", float("nan")),
            row["iteration_s"],
        )
        return row
