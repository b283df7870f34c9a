"""Replay-buffer scale: ingest, then select prompts and build pairs, at growing sample counts.

Each size runs in a fresh process, so its peak resident memory is its own. The cost per sample
should stay flat as the buffer grows (linear scaling).
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import tempfile
import time

import numpy as np
import pyarrow as pa

from benchmarks.common import parse_args, write_result
from spo.buffer.config import SelectionConfig
from spo.buffer.replay_buffer import ReplayBuffer
from spo.config import Config, ModelConfig
from spo.reward.config import RewardConfig, ScorerConfig
from spo.schemas import samples_schema

N_SAMPLES = 4
CHUNK = 10_000


def make_chunk(start_prompt: int, n_prompts: int, rng: np.random.Generator) -> pa.Table:
    """Scored samples for ``n_prompts`` prompts, ``N_SAMPLES`` each, with random rewards."""
    pids = np.repeat(np.arange(start_prompt, start_prompt + n_prompts), N_SAMPLES)
    idx = np.tile(np.arange(N_SAMPLES, dtype=np.int32), n_prompts)
    n = len(pids)
    ids = pa.array([f"p{p:08d}" for p in pids])
    cols = {
        "prompt_id": ids,
        "prompt": pa.array([f"Sort: {p % 997}" for p in pids]),
        "context": pa.nulls(n, pa.string()),
        "response": pa.array([f"r{i}" for i in range(n)]),
        "sample_idx": pa.array(idx),
        "generator": pa.array(["policy"] * n),
        "policy_version": pa.array(np.zeros(n, dtype=np.int64)),
        "iteration": pa.array(np.zeros(n, dtype=np.int64)),
        "n_tokens": pa.array(rng.integers(1, 64, n, dtype=np.int32)),
        "logprob_sum": pa.array(-rng.random(n) * 10),
        "finish_reason": pa.array(["stop"] * n),
        "score_error": pa.nulls(n, pa.string()),
        "reward/rm": pa.array(rng.random(n)),
    }
    return pa.Table.from_pydict(cols, schema=samples_schema(["rm"]))


def measure(n_samples: int, queue: mp.Queue) -> None:
    rng = np.random.default_rng(0)
    n_prompts = n_samples // N_SAMPLES
    per_chunk = CHUNK // N_SAMPLES
    chunks = [make_chunk(s, min(per_chunk, n_prompts - s), rng) for s in range(0, n_prompts, per_chunk)]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with tempfile.TemporaryDirectory() as run_dir:
        cfg = Config(run_dir=run_dir, model=ModelConfig(name="policy"),
                     reward=RewardConfig(scorers={"rm": ScorerConfig(fn="m:f")}, primary="rm"),
                     selection=SelectionConfig(prompts="drop_hardest", fraction=0.3))  # fmt: skip
        buf = ReplayBuffer(cfg)
        start = time.perf_counter()
        for c in chunks:
            buf.add(c)
        ingest = time.perf_counter() - start
        start = time.perf_counter()
        summary = buf.select_prompts(0)
        pairs = buf.choose_pairs(0)
        select = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put({"samples": n_samples, "ingest_s": ingest, "select_s": select, "pairs": pairs["pairs"],
               "prompts_kept": summary["prompts_kept"], "peak_rss_mb": peak / 1024,
               "rss_growth_mb": (peak - rss_before) / 1024})  # fmt: skip


def _result(queue, proc, n: int) -> dict:
    """The measuring process's row; a clear error, not a hang, if it died without one."""
    while True:
        try:
            row = queue.get(timeout=5)
            proc.join()
            return row
        except Exception as exc:  # queue.Empty
            if not proc.is_alive():
                raise RuntimeError(f"the {n:,}-sample measurement died (exit code {proc.exitcode})") from exc


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    sizes = [1_000, 10_000] if args.quick else [10_000, 100_000, 1_000_000]
    ctx = mp.get_context("spawn")
    rows = []
    for n in sizes:
        queue = ctx.Queue()
        proc = ctx.Process(target=measure, args=(n, queue))
        proc.start()
        row = _result(queue, proc, n)
        row["us_per_sample"] = 1e6 * (row["ingest_s"] + row["select_s"]) / n
        rows.append(row)
        print(f"{n:>9,} samples: ingest {row['ingest_s']:.2f}s, select+pairs {row['select_s']:.2f}s, "
              f"{row['us_per_sample']:.1f} us/sample, peak RSS {row['peak_rss_mb']:.0f} MB", flush=True)  # fmt: skip
    growth = rows[-1]["us_per_sample"] / rows[0]["us_per_sample"]
    print(f"cost per sample, largest vs smallest: {growth:.2f}x (1.0 = linear)")
    write_result("buffer", {"sizes": rows, "per_sample_cost_growth": growth}, args.out, args.quick)


if __name__ == "__main__":
    main()
