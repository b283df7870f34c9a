"""The README's self-play examples compose against the schema and can be run one after another."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from conftest import CONF_DIR
from hydra import compose, initialize_config_dir

from spo.config import register, to_config

README = Path(__file__).resolve().parents[2] / "README.md"
register()


def readme_commands() -> list[list[str]]:
    """Every ``python -m spo.train`` command in the README's code blocks, as Hydra overrides."""
    blocks = re.findall(r"```\n(.*?)```", README.read_text(), flags=re.S)
    text = "\n".join(blocks).replace("\\\n", " ")
    commands = []
    for line in text.splitlines():
        if "python -m spo.train" in line and "resume=" not in line:
            words = shlex.split(line.split("python -m spo.train", 1)[1], comments=True)
            commands.append([w for w in words if w != "-m"])
    return commands


def test_every_readme_example_composes_and_has_its_own_run_directory(tmp_path):
    commands = readme_commands()
    assert len(commands) >= 10
    names = {}
    for overrides in commands:
        singles = [o if "," not in o.split("=", 1)[1] or o.startswith("+") else o.split(",")[0] for o in overrides]
        with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
            cfg = to_config(compose("config", overrides=[f"run_dir={tmp_path}", *singles]))
        names.setdefault(cfg.run_name, []).append(" ".join(overrides))
    shared = {name: cmds for name, cmds in names.items() if len(cmds) > 1}
    assert shared == {}, f"README examples share a run_name, so the second is refused: {shared}"
