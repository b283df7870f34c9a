"""The replay buffer actor: ingests scored chunks, selects prompts, builds pairs, persists.

The logic lives in the pure modules beside this one; this class only keeps the
current iteration's tables and writes them under ``iter_<k>/``.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from spo.buffer.difficulty import prompt_stats
from spo.buffer.pairs import max_min_pairs
from spo.buffer.quarantine import split_nonfinite
from spo.buffer.selection import PROMPT_POLICIES
from spo.io import write_parquet
from spo.schemas import SAMPLE_KEY, check_schema, difficulty_col, prompts_schema, samples_schema


class DuplicateSampleError(RuntimeError):
    """A sample key (iteration, prompt_id, sample_idx) arrived twice."""


class ReplayBuffer:
    """Holds one iteration's samples; hands out its pairs."""

    def __init__(self, scorers: list[str], primary: str, run_dir: str):
        self.scorers = scorers
        self.primary = primary
        self.run_dir = Path(run_dir)
        self._chunks: list[pa.Table] = []
        self._quarantine: list[pa.Table] = []
        self._keys: set[tuple] = set()
        self._pairs: dict[int, pa.Table] = {}

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
        clean, bad = split_nonfinite(chunk, self.scorers)
        if bad.num_rows:
            self._quarantine.append(bad)
        self._chunks.append(clean)
        return clean.num_rows

    def finalize(self, iteration: int, prompt_policy: str) -> dict:
        """Compute difficulty, select prompts, build pairs and write ``iter_<k>/``; returns a summary."""
        out_dir = self.run_dir / f"iter_{iteration}"
        schema = samples_schema(self.scorers)
        samples = pa.concat_tables(self._chunks) if self._chunks else schema.empty_table()
        samples = samples.sort_by([(k, "ascending") for k in SAMPLE_KEY])
        stats = prompt_stats(samples, self.scorers)
        prompts = PROMPT_POLICIES[prompt_policy](stats)
        prompts = prompts.append_column("iteration", pa.array([iteration] * prompts.num_rows, pa.int64()))
        prompts = prompts.select(prompts_schema(self.scorers).names).cast(prompts_schema(self.scorers))
        kept_ids = prompts.filter(prompts.column("selected")).column("prompt_id")
        kept = samples.filter(pc.is_in(samples.column("prompt_id"), value_set=kept_ids))
        pairs, n_tied = max_min_pairs(kept, self.primary)
        write_parquet(samples, out_dir / "samples.parquet")
        write_parquet(prompts, out_dir / "prompts.parquet")
        write_parquet(pairs, out_dir / "pairs.parquet")
        n_quarantined = sum(t.num_rows for t in self._quarantine)
        if n_quarantined:
            bad = pa.concat_tables(self._quarantine)
            reason = pa.array([f"non-finite reward from one of {self.scorers}"] * bad.num_rows)
            write_parquet(bad.append_column("error", reason), out_dir / "quarantine.parquet")
        self._pairs[iteration] = pairs
        self._chunks, self._quarantine, self._keys = [], [], set()
        difficulty = prompts.column(difficulty_col(self.primary))
        return {
            "samples": samples.num_rows,
            "quarantined": n_quarantined,
            "prompts": prompts.num_rows,
            "prompts_kept": len(kept_ids),
            "pairs": pairs.num_rows,
            "tied_prompts_dropped": n_tied,
            "difficulty_mean": pc.mean(difficulty).as_py() if prompts.num_rows else None,
            "response_tokens_mean": pc.mean(samples.column("n_tokens")).as_py() if samples.num_rows else None,
        }

    def pairs(self, iteration: int) -> pa.Table:
        """The pairs built for ``iteration``."""
        return self._pairs[iteration]
