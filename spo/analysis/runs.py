"""Reading finished run directories: their config and their held-out results."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import yaml
from safetensors import safe_open


@dataclass
class RunSummary:
    """What the cross-run analyses need from one run directory."""

    path: Path
    config: dict
    final_reward: float
    initial_reward: float
    n_params: int | None

    @property
    def seed(self) -> int:
        return self.config.get("seed", 0)

    @property
    def selection(self) -> dict:
        return self.config.get("selection", {})

    @property
    def fraction_pruned(self) -> float:
        """Share of prompts removed by the selection policy (hardest first)."""
        sel = self.selection
        if sel.get("prompts") == "drop_hardest":
            return float(sel["fraction"])
        if sel.get("prompts") == "keep_easiest":
            return round(1.0 - float(sel["fraction"]), 6)
        return 0.0

    @property
    def policy_label(self) -> str:
        sel = self.selection
        name = sel.get("prompts", "all")
        if name == "drop_hardest" and float(sel["fraction"]) == 0.0:
            return "all"
        if name == "bin":
            return f"bin {sel['bin']}/{sel['n_bins']}"
        if name in ("drop_hardest", "keep_easiest", "curriculum", "informative"):
            return f"{name} {sel['fraction']}"
        return name

    @property
    def model_label(self) -> str:
        m = self.config.get("model", {})
        if m.get("name") == "tiny" and not m.get("path"):
            return f"tiny-h{m['tiny_hidden_size']}-l{m['tiny_num_layers']}"
        return m.get("name") or str(m.get("path"))


# Deprecated config keys and their new names: runs written before a rename read as if written after it.
RENAMED_KEYS = {"selection.pairs": "selection.pair_metric"}


def upgrade_config(config: dict) -> None:
    """Move the values of deprecated keys (:data:`RENAMED_KEYS`) of a saved run config to their new names."""
    for old, new in RENAMED_KEYS.items():
        (section, old_key), (_, new_key) = old.split("."), new.split(".")
        values = config.get(section) or {}
        if values.get(old_key) is not None:
            values[new_key] = values[old_key]
        values.pop(old_key, None)


def runs_root() -> Path:
    """Where runs live (``SPO_RUNS_ROOT``, else ``./runs``), as for ``python -m spo.train``."""
    return Path(os.environ.get("SPO_RUNS_ROOT", "runs")).expanduser()


def resolve_run(path: str | Path) -> Path:
    """``path`` as given if it exists, else the run of that name under :func:`runs_root` if that exists."""
    path = Path(path)
    if path.exists() or path.is_absolute():
        return path
    under_root = runs_root() / path
    return under_root if under_root.exists() else path


def expand_runs(paths: list[str]) -> list[Path]:
    """Run directories named directly (or by name under ``runs_root``), or found one level below (Hydra
    multirun folders)."""
    out = []
    for p in map(resolve_run, paths):
        if (p / "metrics.jsonl").exists():
            out.append(p)
            continue
        found = sorted(d for d in p.iterdir() if (d / "metrics.jsonl").exists()) if p.is_dir() else []
        if not found:
            raise ValueError(f"{p}: not a run directory (no metrics.jsonl here or one level below)")
        out.extend(found)
    return out


def _param_count(run: Path) -> int | None:
    ckpts = sorted(run.glob("checkpoints/iter_*/model.safetensors"))
    if not ckpts:
        return None
    total = 0
    with safe_open(str(ckpts[0]), "pt") as f:
        for name in f.keys():
            n = 1
            for d in f.get_slice(name).get_shape():
                n *= d
            total += n
    return total


def load_run(path: Path) -> RunSummary:
    """Summarise one run directory; raises ``ValueError`` naming what is missing."""
    cfg_path = path / "config.yaml"
    if not cfg_path.exists():
        raise ValueError(f"{path}: no config.yaml")
    config = yaml.safe_load(cfg_path.read_text())
    upgrade_config(config)
    evals = [
        json.loads(line)
        for line in (path / "metrics.jsonl").read_text().splitlines()
        if line.strip() and json.loads(line).get("stage") == "eval"
    ]
    if len(evals) < 2:
        raise ValueError(f"{path}: metrics.jsonl has no held-out evaluation after training")
    return RunSummary(path, config, evals[-1]["heldout_reward"], evals[0]["heldout_reward"], _param_count(path))
