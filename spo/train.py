"""``python -m spo.train``: the Hydra entry point and Ray job driver."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from spo.config import Config, ConfigError, register

CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")

register()
log = logging.getLogger("spo")


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="config")
def main(dcfg: DictConfig) -> None:
    """Validate the config, then run the self-play loop."""
    from spo.runner import SelfPlayRunner

    cfg: Config = OmegaConf.to_object(dcfg)
    try:
        runner = SelfPlayRunner(cfg)
    except ConfigError as exc:
        log.error("invalid configuration: %s", exc)
        sys.exit(2)
    runner.run()


if __name__ == "__main__":
    main()
