"""``python -m spo.train`` (or ``spo-selfplay``): the self-play Hydra entry point and Ray job driver."""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from spo.config import Config, register, to_config
from spo.errors import ConfigError

CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")

register()
OmegaConf.register_new_resolver(
    "spo_run_dir", lambda resume, root, name: resume or str(Path(root).expanduser() / name), replace=True
)
log = logging.getLogger("spo")


def _drop_if_empty(path: str) -> None:
    """Remove the directory Hydra made for a run that was refused, if nothing is in it."""
    with contextlib.suppress(OSError):
        Path(path).rmdir()


def resume_config(run_dir: str, overrides: list[str]) -> Config:
    """The config saved in ``run_dir``, with this command's ``key=value`` overrides (bar ``resume``) on top."""
    saved = Path(run_dir).expanduser() / "config.yaml"
    if not saved.is_file():
        raise ConfigError(f"resume: {saved} does not exist; is {run_dir} a spo run directory?")
    extra = [o for o in overrides if not o.startswith(("resume=", "experiment=", "run_name=", "hydra."))]
    merged = OmegaConf.merge(OmegaConf.load(saved), OmegaConf.from_dotlist(extra))
    merged.run_dir = str(Path(run_dir).expanduser())
    merged.resume = str(run_dir)
    return to_config(merged)


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="config")
def main(dcfg: DictConfig) -> None:
    """Validate the config, then run the self-play loop."""
    from spo.run_lock import RunLockedError
    from spo.runner import RunInterrupted, SelfPlayRunner

    overrides = list(HydraConfig.get().overrides.task)
    try:
        cfg = resume_config(dcfg.resume, overrides) if dcfg.get("resume") else to_config(dcfg)
        runner = SelfPlayRunner(cfg, overrides=overrides)
    except ConfigError as exc:
        log.error("invalid configuration: %s", exc)
        _drop_if_empty(HydraConfig.get().runtime.output_dir)
        sys.exit(2)
    try:
        runner.run()
    except RunLockedError as exc:
        log.error("%s", exc)
        sys.exit(2)
    except RunInterrupted as exc:
        log.warning("%s", exc)
        sys.exit(130)


def deprecated_main() -> None:
    """The ``spo-train`` script: the old name of ``spo-selfplay``."""
    print("spo-train is deprecated and will be removed; use spo-selfplay (or python -m spo.train)", file=sys.stderr)
    main()


if __name__ == "__main__":
    main()
