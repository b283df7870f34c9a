"""Run metrics: ``metrics.jsonl`` lines and the per-iteration summary table."""

from __future__ import annotations

import logging
from pathlib import Path

from spo.io import append_jsonl

log = logging.getLogger(__name__)

TABLE_COLUMNS = [
    ("iter", "iteration", "{:d}"),
    ("heldout", "heldout_reward", "{:.3f}"),
    ("len", "heldout_tokens_mean", "{:.1f}"),
    ("win", "win_rate", "{:.3f}"),
    ("lc_win", "lc_win_rate", "{:.3f}"),
    ("difficulty", "difficulty_mean", "{:.3f}"),
    ("kept", "prompts_kept", "{:d}"),
    ("pairs", "pairs_trained", "{:d}"),
    ("loss", "loss", "{:.4f}"),
    ("acc", "reward_accuracy", "{:.3f}"),
    ("gen_s", "generate_s", "{:.1f}"),
    ("score_s", "score_s", "{:.1f}"),
    ("rollout_s", "rollout_s", "{:.1f}"),
    ("train_s", "train_s", "{:.1f}"),
    ("sync_s", "sync_s", "{:.1f}"),
    ("eval_s", "eval_s", "{:.1f}"),
    ("ckpt_s", "checkpoint_s", "{:.1f}"),
    ("total_s", "iteration_s", "{:.1f}"),
]


class MetricsLog:
    """Appends one JSON line per (iteration, stage) to ``metrics.jsonl`` and mirrors it to trackers."""

    def __init__(self, run_dir: str | Path, trackers: list | None = None):
        self.path = Path(run_dir) / "metrics.jsonl"
        self.trackers = trackers or []

    def write(self, iteration: int, stage: str, values: dict) -> None:
        append_jsonl({"iteration": iteration, "stage": stage, **values}, self.path)
        for tracker in self.trackers:
            tracker.log(iteration, stage, values)

    def close(self) -> None:
        for tracker in self.trackers:
            tracker.close()


def _cell(fmt: str, value) -> str:
    if value is None:
        return "-"
    return fmt.format(value)


def format_table(rows: list[dict]) -> str:
    """A fixed-width table, one row per iteration summary."""
    header = [name for name, _, _ in TABLE_COLUMNS]
    body = [[_cell(fmt, r.get(key)) for _, key, fmt in TABLE_COLUMNS] for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(b, widths)) for b in body]
    return "\n".join(lines)


def saved_compute(prompts_total: int, n_samples: int, row: dict) -> dict:
    """Generation and training avoided by selecting prompts before generating them.

    Estimated from this iteration's own per-sample and per-prompt costs.
    """
    generated = row["prompts_generated"]
    saved = prompts_total - generated
    samples = generated * n_samples
    return {
        "saved_prompts": saved,
        "saved_tokens_est": saved * n_samples * (row.get("response_tokens_mean") or 0.0),
        "saved_generate_s_est": saved * n_samples * row["generate_s"] / samples if samples else 0.0,
        "saved_train_s_est": saved * row["train_s"] / generated if generated else 0.0,
    }


def iteration_line(row: dict) -> str:
    """One log line summarising an iteration's row."""
    nan = float("nan")
    return (
        f"iteration {row['iteration']}: held-out {row['heldout_reward']:.4f}, difficulty "
        f"{row['difficulty_mean'] or nan:.3f}, pairs {row.get('pairs_trained')}, loss {row.get('loss', nan):.4f}, "
        f"acc {row.get('reward_accuracy', nan):.3f}, {row['iteration_s']:.1f}s"
    )


def progress_line(iteration: int, total: int, seconds_per_iteration: float) -> str:
    """Where a run is after ``iteration`` (0-based) of ``total``, and the time left at the pace so far."""
    left = (total - iteration - 1) * seconds_per_iteration
    eta = "done" if left <= 0 else f"about {left / 60:.1f} min left" if left >= 90 else f"about {left:.0f} s left"
    return f"iteration {iteration + 1}/{total} complete; {eta} ({seconds_per_iteration:.0f} s per iteration so far)"
