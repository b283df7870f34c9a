"""The replay buffer actor: ingests scored chunks, selects prompts, builds pairs, persists.

The logic lives in the pure modules beside this one; this class keeps the
current collection of samples, the difficulty source, and each iteration's
decisions and pairs, and writes them under the run directory.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from spo.buffer.difficulty import prompt_stats, read_difficulty
from spo.buffer.features import prompt_features
from spo.buffer.history import observations, prior_observations, read_history, usable, wide
from spo.buffer.pair_metrics.base import add_margins, attach_logprobs, cap_selected, mark_top_pairs, trim_to_multiple
from spo.buffer.pairs import build_pairs
from spo.buffer.prediction import candidates_table, quality, rank
from spo.buffer.quarantine import split_nonfinite
from spo.buffer.selection import SelectionContext, select_prompts
from spo.cluster.placement import Placed
from spo.config import Config
from spo.io import write_parquet
from spo.pipeline.staleness import pair_staleness, sample_staleness, split_stale, staleness_summary
from spo.plugins import PREDICTORS
from spo.schemas import SAMPLE_KEY, check_schema, difficulty_col, prompts_schema, samples_schema


class DuplicateSampleError(RuntimeError):
    """A sample key (iteration, prompt_id, sample_idx) arrived twice."""


class ReplayBuffer(Placed):
    """Holds the samples being collected; decides which prompts train and hands out pairs."""

    def __init__(self, cfg: Config):
        self.scorers = list(cfg.reward.scorers)
        self.reward_scorers = [n for n in cfg.reward.scorers if n not in cfg.reward.judges()]
        self.primary = cfg.reward.primary
        self.selector = cfg.difficulty.scorer or cfg.reward.primary
        self.policy = cfg.model.name  # the trained pool; difficulty is measured on its samples
        self.n_samples = cfg.generator.n_samples
        self.run_dir = Path(cfg.run_dir)
        self.selection = cfg.selection
        self.difficulty = cfg.difficulty
        self.iterations = cfg.iterations
        self.seed = cfg.seed
        self.beta = cfg.learner.beta
        self.ranks = cfg.learner.num_ranks  # every rank trains the same number of pairs
        self._chunks: list[pa.Table] = []
        self._quarantine: list[pa.Table] = []
        self._keys: set[tuple] = set()
        self._source: pa.Table | None = None  # frozen or file difficulty, one row per prompt
        self._decisions: dict[int, pa.Table] = {}
        self._candidates: dict[int, pa.Table] = {}
        self._pairs: dict[int, pa.Table] = {}
        self._predicted: dict[int, pa.Table] = {}  # difficulty.source=predicted: each iteration's candidates
        self._history: tuple[int, pa.Table | None] | None = None  # (iteration, observations of those before it)
        self._prior: pa.Table | None = None  # difficulty.prior_runs' observations, read once

    def _first(self, samples: pa.Table, k: int) -> pa.Table:
        """Each pool's first ``k`` samples of every prompt (pool j numbers its samples from j * n_samples)."""
        idx = samples.column("sample_idx").to_numpy(zero_copy_only=False)
        return samples.filter(pa.array(idx % self.n_samples < k))

    # ------------------------------------------------------------- ingest
    def add(self, chunk: pa.Table) -> int:
        """Ingest a scored chunk; returns the number of clean rows kept."""
        check_schema(chunk, samples_schema(self.scorers), "scored samples")
        keys = list(zip(*(chunk.column(k).to_pylist() for k in SAMPLE_KEY)))
        if len(set(keys)) != len(keys):
            raise DuplicateSampleError("a chunk holds the same (iteration, prompt_id, sample_idx) twice")
        dup = self._keys.intersection(keys)
        if dup:
            raise DuplicateSampleError(f"sample keys arrived twice: {sorted(dup)[:3]}")
        self._keys.update(keys)
        clean, bad = split_nonfinite(chunk, self.reward_scorers)
        if bad.num_rows:
            self._quarantine.append(bad)
        self._chunks.append(clean)
        return clean.num_rows

    def collected(self) -> int:
        """Samples (clean and quarantined) ingested since the collection was last taken."""
        return sum(t.num_rows for t in self._chunks) + sum(t.num_rows for t in self._quarantine)

    def _take_collection(self, out_dir: Path) -> pa.Table:
        """The collected clean samples, sorted; writes quarantined ones; resets the collection."""
        schema = samples_schema(self.scorers)
        samples = pa.concat_tables(self._chunks) if self._chunks else schema.empty_table()
        samples = samples.sort_by([(k, "ascending") for k in SAMPLE_KEY])
        self.n_quarantined = sum(t.num_rows for t in self._quarantine)
        self._first_error = self._quarantine[0].column("score_error")[0].as_py() if self.n_quarantined else None
        if self.n_quarantined:
            write_parquet(pa.concat_tables(self._quarantine), out_dir / "quarantine.parquet")
        self._chunks, self._quarantine, self._keys = [], [], set()
        return samples

    def _stats(self, samples: pa.Table) -> pa.Table:
        samples = samples.filter(pc.equal(samples.column("generator"), self.policy))
        if self.difficulty.n_samples is not None:
            samples = self._first(samples, self.difficulty.n_samples)
        return prompt_stats(samples, self.scorers)

    def _context(self, iteration: int) -> SelectionContext:
        return SelectionContext(iteration=iteration, iterations=self.iterations, seed=self.seed)

    # -------------------------------------------------- difficulty source
    def freeze_difficulty(self) -> dict:
        """Turn the collected difficulty-pass samples into the frozen difficulty source."""
        out_dir = self.run_dir / "difficulty_pass"
        samples = self._take_collection(out_dir)
        write_parquet(samples, out_dir / "samples.parquet")
        self._source = self._stats(samples)
        write_parquet(self._source, self.run_dir / "difficulty.parquet")
        return {"prompts": self._source.num_rows, "samples": samples.num_rows, "quarantined": self.n_quarantined}

    def load_difficulty(self, path: str) -> int:
        """Use difficulty read from ``path``; returns the number of prompts it covers."""
        table = read_difficulty(path)
        if difficulty_col(self.selector) not in table.column_names:
            raise ValueError(f"difficulty.file: {path} has no column {difficulty_col(self.selector)!r}")
        self._source = table
        return table.num_rows

    def preselect(self, iteration: int, prompt_ids: list[str]) -> list[str]:
        """Decide before generation, from the difficulty source; returns the kept prompt ids."""
        ids = pa.array(prompt_ids, pa.string())
        known = self._source.filter(pc.is_in(self._source.column("prompt_id"), value_set=ids))
        if known.num_rows != len(set(prompt_ids)):
            missing = sorted(set(prompt_ids) - set(known.column("prompt_id").to_pylist()))
            raise KeyError(f"difficulty source lacks {len(missing)} of this iteration's prompts, e.g. {missing[:3]}")
        decided = select_prompts(known.sort_by("prompt_id"), self.selection, self.selector, self._context(iteration))
        self._decisions[iteration] = decided
        return decided.filter(decided.column("selected")).column("prompt_id").to_pylist()

    # ------------------------------------------------- predicted difficulty
    def rank_candidates(self, iteration: int, rows: list[dict], embeddings, version: int) -> dict:
        """Predict each candidate's difficulty and chance of a usable pair from the history so far, keep
        those the prompt policy keeps on predicted difficulty, and rank them (see
        :func:`spo.buffer.prediction.rank`); writes ``iter_<k>/candidates.parquet``."""
        feats = prompt_features([r["prompt"] for r in rows], self.difficulty.features, embeddings)
        cands = candidates_table([r["prompt_id"] for r in rows], feats, version)
        return self._rank(iteration, cands, self._history_before(iteration), version, None,
                          seed=self.seed * 7919 + iteration)  # fmt: skip

    def _history_before(self, iteration: int) -> pa.Table | None:
        """The observations of iterations before ``iteration``, read from the run directory once per iteration
        (every wave's refit reuses them), after those of ``difficulty.prior_runs``."""
        if self._history is None or self._history[0] != iteration:
            spread = self.selection.min_reward_spread
            if self.difficulty.prior_runs and self._prior is None:
                self._prior = prior_observations(self.difficulty.prior_runs, self.selector, self.primary, spread,
                                                 self.difficulty.features)  # fmt: skip
            own = read_history(self.run_dir, iteration, self.selector, self.primary, spread)
            parts = [t for t in (self._prior, own) if t is not None]
            self._history = (iteration, pa.concat_tables(parts) if parts else None)
        return self._history[1]

    def rerank(self, iteration: int, done: list[str], wave: int) -> dict:
        """Refit the predictor with what this iteration's generated prompts (``done``) gave so far, and rank
        the candidates not yet generated again; the generated ones keep their predictions and places."""
        table = self._predicted[iteration]
        version = int(pc.min(table.column("policy_version")).as_py())
        ids = pa.array(done, pa.string())
        samples = pa.concat_tables(self._chunks) if self._chunks else samples_schema(self.scorers).empty_table()
        samples = samples.filter(pc.and_(pc.equal(samples.column("iteration"), iteration),
                                         pc.is_in(samples.column("prompt_id"), value_set=ids)))  # fmt: skip
        if not samples.num_rows:
            raise ValueError(f"iteration {iteration}: none of its {len(done)} generated prompts is collected")
        stats = self._stats(samples)
        now = observations(stats, table, self.selector, self.primary, self.selection.min_reward_spread, version)
        history = self._history_before(iteration)
        history = now if history is None else pa.concat_tables([history, now.cast(history.schema)])
        is_generated = pc.is_in(table.column("prompt_id"), value_set=ids)
        left = table.filter(pc.invert(is_generated)).select(["prompt_id", "features", "policy_version"])
        return self._rank(iteration, left, history, version, table.filter(is_generated),
                          seed=(self.seed * 7919 + iteration) * 31 + wave)  # fmt: skip

    def _rank(self, iteration: int, cands: pa.Table, history, version: int, generated: pa.Table | None,
              seed: int) -> dict:  # fmt: skip
        """Predict, keep by the prompt policy, and rank ``cands``, after the rows already generated."""
        d, ids = self.difficulty, cands.column("prompt_id").to_pylist()
        pred = PREDICTORS.get(d.predictor)(cands, history, version, d)
        known = pred.filter(pc.invert(pc.is_null(pred.column("predicted_difficulty"))))
        table = known.rename_columns(["prompt_id", difficulty_col(self.selector), *known.column_names[2:]])
        kept = set()
        if known.num_rows:  # the prompt policy, on predicted difficulty; a candidate without a prediction stays
            decided = select_prompts(table, self.selection, self.selector, self._context(iteration))
            kept = set(decided.filter(decided.column("selected")).column("prompt_id").to_pylist())
        predicted_ids = set(known.column("prompt_id").to_pylist())
        eligible = [pid in kept or pid not in predicted_ids for pid in ids]
        order = rank(pred.column("predicted_usable").to_pylist(), eligible, d.explore, seed)
        offset = 0 if generated is None else generated.num_rows
        position = {row: offset + k for k, (row, _) in enumerate(order)}
        out = cands  # predictions come row for row in the candidates' order
        for name in pred.column_names[1:]:
            out = out.append_column(name, pred.column(name))
        explored = {row for row, e in order if e}
        out = out.append_column("eligible", pa.array(eligible))
        out = out.append_column("rank", pa.array([position.get(i) for i in range(len(ids))], pa.int64()))
        out = out.append_column("explored", pa.array([i in explored for i in range(len(ids))]))
        if generated is not None:
            out = pa.concat_tables([generated, out.cast(generated.schema)])
        out = out.sort_by("prompt_id")
        write_parquet(out, self.run_dir / f"iter_{iteration}" / "candidates.parquet")
        self._predicted[iteration] = out
        unranked = sum(s == "none" for s in pred.column("prediction_source").to_pylist())
        count = {k: int(pc.sum(out.column(k)).as_py()) for k in ("eligible", "explored")}
        return {"order": [ids[row] for row, _ in order], "candidates": out.num_rows, "unranked": unranked, **count}

    def _usable_ids(self) -> set[str]:
        """Prompts in the collection whose policy samples spread enough to make a pair."""
        if not self._chunks:
            return set()
        stats = self._stats(pa.concat_tables(self._chunks))
        ok = usable(stats, self.primary, self.selection.min_reward_spread)
        return {p for p, u in zip(stats.column("prompt_id").to_pylist(), ok.tolist()) if u}

    def usable_count(self) -> int:
        """How many prompts in the collection can make a pair."""
        return len(self._usable_ids())

    def tied(self, prompt_ids: list[str]) -> list[str]:
        """Those of ``prompt_ids`` whose collected policy samples give no usable pair (in the given order)."""
        good = self._usable_ids()
        return [p for p in prompt_ids if p not in good]

    def _with_predictions(self, iteration: int, prompts: pa.Table) -> tuple[pa.Table, dict]:
        """The generated prompts with their predictions beside them, and how good those were."""
        pred = self._predicted.pop(iteration)
        cols = ["prompt_id", "predicted_difficulty", "predicted_usable", "prediction_source", "explored"]
        prompts = prompts.join(pred.select(cols), "prompt_id", join_type="left outer").sort_by("prompt_id")
        explored = prompts.column("explored").to_pylist()
        prompts = prompts.drop_columns(["explored"])
        prompts = prompts.append_column("selected", pa.array([True] * prompts.num_rows)).append_column(
            "reason", pa.array(["explored" if e else "predicted" for e in explored], pa.string()))  # fmt: skip
        ok = usable(prompts, self.primary, self.selection.min_reward_spread)
        summary = quality(prompts.column("predicted_difficulty").to_pylist(),
                          prompts.column(difficulty_col(self.selector)).to_pylist(),
                          prompts.column("predicted_usable").to_pylist(), ok.tolist())  # fmt: skip
        return prompts, {**summary, "usable_prompts": int(ok.sum()), "candidates": pred.num_rows}

    # ---------------------------------------------------------- iteration
    def take_stale(self, iteration: int, max_staleness: int) -> dict:
        """Take out of the collection every prompt with a sample staler than ``max_staleness`` when
        ``iteration`` trains (see :mod:`spo.pipeline.staleness`); they are kept in
        ``iter_<k>/stale_samples.parquet``, and their keys may arrive again (regenerated)."""
        schema = samples_schema(self.scorers)
        samples = pa.concat_tables(self._chunks) if self._chunks else schema.empty_table()
        fresh, stale = split_stale(samples, iteration, self.policy, max_staleness)
        summary = staleness_summary(sample_staleness(samples, iteration, self.policy), "sample_staleness")
        stale_ids = sorted(set(stale.column("prompt_id").to_pylist()))
        summary.update(stale_samples=stale.num_rows, stale_prompt_ids=stale_ids)
        if stale.num_rows:
            path = self.run_dir / f"iter_{iteration}" / "stale_samples.parquet"
            write_parquet(pa.concat_tables([pq.read_table(path), stale]) if path.exists() else stale, path)
            self._chunks = [fresh]
            self._keys.difference_update(zip(*(stale.column(k).to_pylist() for k in SAMPLE_KEY)))
        return summary

    def select_prompts(self, iteration: int) -> dict:
        """Compute difficulty, select prompts (unless preselected) and build candidate pairs.

        Writes ``samples.parquet`` and ``prompts.parquet``; :meth:`choose_pairs` writes the pairs.
        """
        out_dir = self.run_dir / f"iter_{iteration}"
        samples = self._take_collection(out_dir)
        preselected = iteration in self._decisions or iteration in self._predicted
        predicted = {}
        if iteration in self._predicted:
            prompts, predicted = self._with_predictions(iteration, self._stats(samples))
        elif preselected:
            prompts = self._decisions.pop(iteration)
        else:
            prompts = select_prompts(self._stats(samples), self.selection, self.selector, self._context(iteration))
        schema = prompts_schema(self.scorers)
        prompts = prompts.append_column("iteration", pa.array([iteration] * prompts.num_rows, pa.int64()))
        for f in schema:
            if f.name not in prompts.column_names:
                prompts = prompts.append_column(f.name, pa.nulls(prompts.num_rows, f.type))
        prompts = prompts.select(schema.names).cast(schema)
        kept_ids = prompts.filter(prompts.column("selected")).column("prompt_id")
        kept = samples.filter(pc.is_in(samples.column("prompt_id"), value_set=kept_ids))
        if self.selection.pair_samples is not None:
            kept = self._first(kept, self.selection.pair_samples)
        sel = self.selection
        pairs, n_tied = build_pairs(kept, self.primary, sel.pair_builder, self.policy, sel.strong, sel.weak)
        if sel.min_reward_spread > 0:  # the same rule as a usable prompt's (spo.buffer.history.wide)
            keep = wide(pairs.column("margin_explicit").to_numpy(zero_copy_only=False), sel.min_reward_spread)
            n_tied += int((~keep).sum())
            pairs = pairs.filter(pa.array(keep, pa.bool_()))
        write_parquet(samples, out_dir / "samples.parquet")
        write_parquet(prompts, out_dir / "prompts.parquet")
        self._candidates = {iteration: pairs}
        difficulty = prompts.column(difficulty_col(self.selector))
        return {
            "samples": samples.num_rows,
            "quarantined": self.n_quarantined,
            "quarantined_fraction": self.n_quarantined / max(samples.num_rows + self.n_quarantined, 1),
            "first_score_error": self._first_error,
            "prompts": prompts.num_rows,
            "prompts_kept": len(kept_ids),
            "preselected": preselected,
            "pairs_candidates": pairs.num_rows,
            "pairs_dropped": n_tied,
            "difficulty_mean": pc.mean(difficulty).as_py() if prompts.num_rows else None,
            "difficulty_kept_mean": pc.mean(
                prompts.filter(prompts.column("selected")).column(difficulty_col(self.selector))
            ).as_py()
            if len(kept_ids)
            else None,
            "response_tokens_mean": pc.mean(samples.column("n_tokens")).as_py() if samples.num_rows else None,
            "tokens_generated": pc.sum(samples.column("n_tokens")).as_py() if samples.num_rows else 0,
            **predicted,
        }

    def candidates(self, iteration: int) -> pa.Table:
        """The candidate pairs built for ``iteration``."""
        return self._candidates[iteration]

    def choose_pairs(self, iteration: int, *logprob_pieces: pa.Table) -> dict:
        """Add pair metrics (from the learner's log-probs, if given), select, write ``pairs.parquet``.

        ``selected`` marks exactly the pairs the learner trains on: the count is trimmed to a multiple of the
        learner ranks (see :func:`~spo.buffer.pair_metrics.base.trim_to_multiple`)."""
        sel = self.selection
        pairs = self._candidates.pop(iteration)
        if logprob_pieces:
            pairs = attach_logprobs(pairs, list(logprob_pieces))
            pairs = add_margins(pairs, self.beta, sel.implicit, sel.ap_weight)
        pairs = mark_top_pairs(pairs, sel.pair_metric, sel.pair_fraction, sel.judge_dim, self.seed * 7 + iteration)
        pairs, capped = cap_selected(pairs, sel.max_pairs, self.seed * 11 + iteration)
        pairs, trimmed = trim_to_multiple(pairs, self.ranks)
        pairs = pairs.append_column("staleness", pair_staleness(pairs, iteration, self.policy))
        write_parquet(pairs, self.run_dir / f"iter_{iteration}" / "pairs.parquet")
        chosen = pairs.filter(pairs.column("selected"))
        self._pairs = {iteration: chosen}
        summary = {"pairs": chosen.num_rows, "pairs_capped": capped, "pairs_trimmed_for_ranks": trimmed,
                   "pair_metric": sel.pair_metric,
                   **staleness_summary(chosen.column("staleness").combine_chunks(), "pair_staleness")}  # fmt: skip
        for col in ("margin_explicit", "margin_implicit", "alignment_potential"):
            if col in pairs.column_names and chosen.num_rows:
                summary[f"{col}_selected_mean"] = pc.mean(chosen.column(col)).as_py()
                summary[f"{col}_all_mean"] = pc.mean(pairs.column(col)).as_py()
        return summary

    def pairs(self, iteration: int) -> pa.Table:
        """The selected pairs of ``iteration``, for the learner."""
        return self._pairs[iteration]
