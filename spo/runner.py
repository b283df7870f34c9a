"""The single controller: builds the role groups and runs self-play iterations.

One iteration: rollout (generate -> score -> buffer, streamed chunk by chunk as
object references), freshen (drop or regenerate too-stale samples), selection,
learning, weight sync, checkpoint, held-out evaluation. Each stage is its own
method and writes one ``metrics.jsonl`` line; the pipeline mode
(:mod:`spo.pipeline`, ``pipeline.mode``) orders them within and across iterations.

A run continues where it stopped: started again on the same run directory (same
command, or ``resume=RUN_DIR``), it rolls back to its last complete iteration,
restores the learner's state, and goes on (see :mod:`spo.run_state`).
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path

import ray
from omegaconf import OmegaConf

from spo.assets.paths import resolve_model_path, resolve_pool_path
from spo.buffer.quarantine import RewardFailureError, check_failures
from spo.chat import load_tokenizer
from spo.cluster.connect import connect
from spo.cluster.resources import check_fits
from spo.cluster.simulate import with_stand_ins
from spo.config import Config, validate
from spo.data.prompts import load_screened_prompts
from spo.data.schedule import PromptSchedule, chunks, derived_seed
from spo.errors import ConfigError
from spo.eval.reference import load_reference_answers
from spo.eval.stages import HeldoutStages
from spo.io import atomic_file
from spo.learner.group import StateSave
from spo.metrics import MetricsLog, format_table, iteration_line, progress_line, saved_compute
from spo.plugins import PIPELINES
from spo.predicted_rollout import predicted_rollout
from spo.progress import gather_with_progress
from spo.roles import start_roles
from spo.rollout.base import SamplingParams
from spo.run_lock import RunLock
from spo.run_log import record_invocation, run_log
from spo.run_state import (
    checkpoint_dir,
    completed_iteration,
    iteration_rows,
    learner_state_dir,
    mark_complete,
    resume_point,
    rollback,
)
from spo.timing import RoleTally

log = logging.getLogger(__name__)
__all__ = ["RewardFailureError", "RunInterrupted", "SelfPlayRunner"]

REGENERATE_SEED = 7919  # added to the run's seed when stale prompts are sampled again


class RunInterrupted(RuntimeError):
    """The driver was interrupted (Ctrl-C); the message says what is complete and how to continue."""


class SelfPlayRunner:
    """Owns the role groups and the iteration loop."""

    def __init__(self, cfg: Config, overrides: list[str] | None = None):
        """``overrides``: the command line's ``key=value`` overrides, recorded in ``invocations.jsonl``."""
        if cfg.cluster.simulate_gpus:
            with_stand_ins(cfg)
        validate(cfg)
        self.overrides = overrides
        self.cfg = cfg
        self.run_dir = Path(cfg.run_dir)
        self.resume_from = resume_point(cfg)
        self.model_path = resolve_model_path(cfg.model, cfg.cache_dir)
        try:
            self.tokenizer = load_tokenizer(self.model_path, cfg.model.trust_remote_code)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"model.path: {exc}") from exc
        self.train_prompts, self.heldout_prompts, self.input_summary = load_screened_prompts(cfg.task, self.tokenizer)
        self.reference_answers = (
            load_reference_answers(cfg.eval.baseline, self.heldout_prompts) if cfg.eval.baseline != "initial" else None
        )
        self.extra_paths = {
            name: resolve_pool_path(pool, cfg.cache_dir) for name, pool in cfg.generator.extra_pools.items()
        }
        self.metrics = MetricsLog(self.run_dir)
        self.schedule = PromptSchedule(self.train_prompts, cfg.prompts_per_iteration, cfg.seed)
        self.heldout = HeldoutStages(cfg, self.run_dir, self.heldout_prompts, self.reference_answers)
        self.pipeline = PIPELINES.get(cfg.pipeline.mode)(self)
        self.tally = RoleTally()
        self.state_saves: dict[int, StateSave] = {}  # iteration -> its learner state being saved
        self.loop_started = time.perf_counter()  # reset when the iterations start

    # ----------------------------------------------------------------- set-up
    def start(self) -> None:
        """Connect to Ray, check the layout fits, and start every role."""
        cfg = self.cfg
        self._owns_ray = connect(cfg.cluster, cfg.cache_dir)
        try:
            resources = ray.cluster_resources()
            check_fits(cfg, resources.get("CPU", 0.0), resources.get("GPU", 0.0))
        except ConfigError:
            self.shutdown()
            raise
        log.info("starting the roles (model loading and DeepSpeed set-up take a while on CPU)")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with atomic_file(self.run_dir / "config.yaml", "w") as fh:
            fh.write(OmegaConf.to_yaml(cfg, resolve=True))
        self.roles = start_roles(cfg, self.model_path, self.extra_paths)
        self.metrics.trackers = self.roles.trackers
        r = self.roles
        self.generators, self.extra_pools, self.scorers, self.buffer = r.generators, r.extra_pools, r.scorers, r.buffer
        self.learner, self.transport, self.pairwise_judge = r.learner, r.transport, r.pairwise_judge
        with atomic_file(self.run_dir / "placement.json", "w") as fh:
            json.dump(r.placement(), fh, indent=1)

    def shutdown(self) -> None:
        """Stop every role, and the local Ray cluster if this runner started it."""
        self.metrics.close()
        if getattr(self, "roles", None) is not None:
            self.roles.shutdown()
        for save in self.state_saves.values():  # never waited for: the iteration is not complete
            save.discard()
        self.state_saves.clear()
        if getattr(self, "_owns_ray", False):
            ray.shutdown()

    # ----------------------------------------------------------------- stages
    def _stream(self, rows: list[dict], iteration: int, n_samples: int, seed: int, pools: list,
                in_flight: int | None = None, between_chunks=None, first_chunk: int = 0,
                first_idx: int = 0) -> dict:  # fmt: skip
        """Generate -> score -> buffer, chunk by chunk, for every pool; the driver holds only references. Chunk
        ``k`` is seeded as the ``first_chunk + k``-th of the iteration; its samples are numbered from ``first_idx``.

        With ``in_flight``, at most that many chunks per generator are queued at once, and
        ``between_chunks()`` is called before each new chunk is queued (where a weight push may go).
        """
        g = self.cfg.generator
        start = time.perf_counter()
        acks, queued = [], []
        pieces = chunks(rows, g.chunk_size)
        for k, chunk in enumerate(pieces):
            sampling = SamplingParams(
                n_samples, g.temperature, g.top_p, g.max_new_tokens, derived_seed(seed, iteration, first_chunk + k)
            )
            if in_flight is not None:
                queued = wait_below(queued, in_flight * sum(len(p.workers) for p in pools), between_chunks)
            for pool in pools:
                samples = pool.submit(chunk, iteration, sampling, first_idx)
                queued.append(samples)
                acks.append(self.buffer.add.remote(self.scorers.submit(samples)))
        per_ack = -(-len(rows) // max(len(pieces), 1)) * n_samples
        total = self.cfg.iterations
        label = f"rollout {iteration} (iteration {iteration + 1}/{total})" if iteration >= 0 else "difficulty pass"
        watch = self.roles.watch(self.cfg.cluster.restart_timeout_s)
        kept = sum(gather_with_progress(acks, label, "samples generated, scored and buffered", per_ack, watch=watch))
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
        rows = self.schedule.used(self.cfg.iterations)
        stats = self._stream(rows, -1, d.n_samples or self.cfg.generator.n_samples, self.cfg.seed, [self.generators])
        return {**stats, **ray.get(self.buffer.freeze_difficulty.remote())}

    def rollout(self, iteration: int, in_flight: int | None = None, between_chunks=None) -> dict:
        """Select (when difficulty is known up front), then generate, score and buffer (see :meth:`_stream`)."""
        pools = [self.generators, *self.extra_pools]
        if self.cfg.difficulty.source == "predicted":
            return predicted_rollout(self, iteration, pools, in_flight, between_chunks)
        rows = self.schedule.iteration(iteration)
        if self.cfg.difficulty.source != "current":
            kept = set(ray.get(self.buffer.preselect.remote(iteration, [r["prompt_id"] for r in rows])))
            rows = [r for r in rows if r["prompt_id"] in kept]
        return self._stream(rows, iteration, self.cfg.generator.n_samples, self.cfg.seed, pools, in_flight,
                            between_chunks)  # fmt: skip

    def freshen(self, iteration: int) -> dict:
        """Take samples staler than ``pipeline.max_staleness`` out of the buffer (kept in ``stale_samples.parquet``)
        and, with ``pipeline.stale=regenerate``, sample their prompts again from the current policy."""
        p = self.cfg.pipeline
        stale = ray.get(self.buffer.take_stale.remote(iteration, p.max_staleness))
        ids = stale.pop("stale_prompt_ids")
        if p.stale == "regenerate" and ids:
            by_id = {r["prompt_id"]: r for r in self.train_prompts}  # the iteration's prompts, however chosen
            rows = [by_id[i] for i in ids]
            again = self._stream(rows, iteration, self.cfg.generator.n_samples, self.cfg.seed + REGENERATE_SEED,
                                 [self.generators, *self.extra_pools])  # fmt: skip
            stale.update(regenerated_prompts=len(rows), regenerated_samples=again["samples_clean"],
                         regenerate_generate_s=again["generate_s"], regenerate_score_s=again["score_s"])  # fmt: skip
        return stale

    def select(self, iteration: int) -> dict:
        """Compute difficulty, select prompts and build pairs in the buffer."""
        start = time.perf_counter()
        summary = ray.get(self.buffer.select_prompts.remote(iteration))
        return {**summary, "select_s": time.perf_counter() - start}

    def select_pairs(self, iteration: int) -> dict:
        """Score candidate pairs (on the learner group, if the metric needs log-probs) and keep the best."""
        sel = self.cfg.selection
        start = time.perf_counter()
        pieces, timing = [], {}
        if sel.needs_logprobs:
            pieces = self.learner.pair_logprobs(self.buffer.candidates.remote(iteration), sel.implicit == "dpo")
            timing["pair_logprobs_s"] = time.perf_counter() - start
        summary = ray.get(self.buffer.choose_pairs.remote(iteration, *pieces))
        return {**summary, **timing, "select_pairs_s": time.perf_counter() - start}

    def learn(self, iteration: int) -> dict:
        """Train the learner group on this iteration's pairs."""
        start = time.perf_counter()
        sampler = (self.cfg.model.name, iteration) if self.cfg.learner.uses_sampler else None
        metrics = self.learner.train(self.buffer.pairs.remote(iteration), iteration, sampler)
        return {**metrics, "train_s": time.perf_counter() - start}

    def sync(self, version: int) -> dict:
        """Push the learner's weights to the generators as ``version``."""
        start = time.perf_counter()
        self.transport.push(self.learner, self.generators, version)
        versions = self.generators.policy_versions()
        return {"sync_s": time.perf_counter() - start, "policy_version": min(versions)}

    def checkpoint(self, iteration: int) -> dict:
        """Save an HF checkpoint of the policy after ``iteration``, and start saving the learner's full training
        state, which :meth:`complete` waits for (meanwhile the other roles go on: the held-out evaluation).

        The generators are told that checkpoint holds their current policy (a restarted one loads it).
        """
        start = time.perf_counter()
        path = checkpoint_dir(self.run_dir, iteration)
        self.learner.save_checkpoint(str(path))
        self.generators.set_policy(iteration + 1, str(path))
        self.state_saves[iteration] = self.learner.save_state(str(learner_state_dir(self.run_dir, iteration)))
        return {"checkpoint_s": time.perf_counter() - start}

    def score_reference_answers(self) -> dict | None:
        """Score the reference answers once (``eval.baseline`` file) into ``eval/reference.parquet``."""
        return self.heldout.score_reference_answers(self.scorers, self.tokenizer)

    def heldout_difficulty(self) -> dict | None:
        """The independent difficulty estimate that defines the held-out thirds (see :mod:`spo.eval.stages`)."""
        return self.heldout.difficulty(self.generators, self.scorers)

    def evaluate(self, version: int) -> dict:
        """Answer the held-out prompts with fixed sampling, score them, and compare with the baseline."""
        return self.heldout.evaluate(version, self.generators, self.scorers, self.pairwise_judge)

    # ------------------------------------------------------------------- loop
    def run(self) -> list[dict]:
        """Run (or continue) every iteration; returns one summary row per iteration.

        The run directory is locked for the life of this driver: a second driver is refused, naming this one.
        """
        with RunLock(self.run_dir), run_log(self.run_dir):
            self.resume_from = resume_point(self.cfg)  # again, now that no other driver can move it
            record_invocation(self.run_dir, self.overrides, self.resume_from)
            try:
                return self._run()
            except KeyboardInterrupt:  # the roles are stopped by now (_run's finally)
                last = completed_iteration(self.run_dir)
                done = f"iteration {last} is the last complete one" if last >= 0 else "no iteration is complete yet"
                raise RunInterrupted(
                    f"interrupted; the actors are stopped and {done} (of {self.cfg.iterations}). Continue with:\n"
                    f"  python -m spo.train resume={self.run_dir}"
                ) from None

    def _run(self) -> list[dict]:
        if self.resume_from is not None and self.resume_from >= self.cfg.iterations - 1:
            rows = iteration_rows(self.run_dir)  # finished: no Ray, no actors, just the table again
            log.info("%s already holds all %d iterations; nothing to run", self.run_dir, self.cfg.iterations)
            return self._report(rows)
        self.start()
        try:
            if self.resume_from is not None and self.resume_from >= 0:
                rows = self.restore(self.resume_from)
            else:
                if self.resume_from == -1:  # stopped before its first iteration completed: start afresh
                    rollback(self.run_dir, -2)
                rows = self.initial_stages()
            self.learner.ready()  # its set-up ran beside the initial stages; the loop's timings exclude it
            self.tally.take()
            self.loop_started = time.perf_counter()
            for it in range(len(rows) - 1, self.cfg.iterations):
                self.iterate(it)
            self.pipeline.finish()
            return self._report(iteration_rows(self.run_dir))
        finally:
            self.shutdown()

    def _report(self, rows: list[dict]) -> list[dict]:
        print(format_table(rows), flush=True)
        print(f"run directory: {self.run_dir}", flush=True)
        return rows

    def initial_stages(self) -> list[dict]:
        """Input counts, the difficulty pass, reference answers and the initial policy's evaluation."""
        self.metrics.write(-1, "input", self.input_summary)
        difficulty = self.prepare_difficulty()
        if difficulty is not None:
            self.metrics.write(-1, "difficulty", difficulty)
        reference = self.score_reference_answers()
        if reference is not None:
            self.metrics.write(-1, "reference", reference)
        thirds = self.heldout_difficulty()
        if thirds is not None:
            self.metrics.write(-1, "heldout_difficulty", thirds)
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
        if d.source in ("frozen", "file"):
            path = self.run_dir / "difficulty.parquet" if d.source == "frozen" else Path(d.file).expanduser()
            ray.get(self.buffer.load_difficulty.remote(str(path)))
        synced = self.pipeline.resume(last)
        self.metrics.write(last + 1, "resume", {"resumed_after": last, "removed": removed, **synced,
                                                "resume_s": time.perf_counter() - start})  # fmt: skip
        return iteration_rows(self.run_dir)

    def iterate(self, iteration: int) -> None:
        """One self-play iteration, its stages ordered by the pipeline mode (:mod:`spo.pipeline`)."""
        self.pipeline.iterate(iteration)

    def policy_path(self, version: int) -> str:
        """The weights of policy ``version``: the initial model, or the checkpoint after iteration ``version - 1``."""
        return self.model_path if version == 0 else str(checkpoint_dir(self.run_dir, version - 1))

    def stage(self, iteration: int, name: str, fn, *args) -> dict:
        """Run one stage and record its values."""
        return self.record(iteration, name, fn(*args))

    def record(self, iteration: int, name: str, values: dict) -> dict:
        """Write a stage's ``metrics.jsonl`` line and count its busy time; stop the run if too many rewards failed."""
        self.metrics.write(iteration, name, values)
        self.tally.add(values)
        if name == "select":
            quarantine = self.run_dir / f"iter_{iteration}" / "quarantine.parquet"
            check_failures(iteration, values, self.cfg.reward.max_failure_fraction, quarantine)
        return values

    def complete(self, iteration: int, row: dict) -> None:
        """Wait for the iteration's training state to be saved, write its summary row (with the time since the
        previous one completed, and each role's idle fraction in it) and mark the iteration complete."""
        row["state_wait_s"] = self.state_saves.pop(iteration).wait()
        row.update(self.tally.take(), elapsed_s=time.perf_counter() - self.loop_started)
        d = self.cfg.difficulty
        if d.source != "current":  # against generating every prompt (frozen, file) or every candidate (predicted)
            pool = math.ceil(self.cfg.prompts_per_iteration * (d.oversample if d.source == "predicted" else 1))
            row.update(saved_compute(pool, self.cfg.generator.n_samples, row))
        if row.get("pairs_trained"):
            row["tokens_per_pair"] = row.get("tokens_generated", 0) / row["pairs_trained"]
        self.metrics.write(iteration, "iteration", row)
        mark_complete(self.run_dir, iteration, self.cfg.keep_checkpoints)
        log.info("%s", iteration_line(row))
        log.info("%s", progress_line(iteration, self.cfg.iterations, row["iteration_s"]))


def wait_below(refs: list, limit: int, between=None) -> list:
    """Wait until fewer than ``limit`` of ``refs`` are unfinished, then call ``between()``; returns the unfinished."""
    while len(refs) >= limit:
        _, refs = ray.wait(refs, num_returns=len(refs) - limit + 1)
    if between is not None:
        between()
    return refs
