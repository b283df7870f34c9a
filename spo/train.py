"""``python -m spo.train``: the Hydra entry point and Ray job driver."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from spo.config import ConfigError, register, to_config

CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")

register()
log = logging.getLogger("spo")


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="config")
def main(dcfg: DictConfig) -> None:
    """Validate the config, then run the self-play loop."""
    from spo.runner import SelfPlayRunner

    try:
        runner = SelfPlayRunner(to_config(dcfg))
    except ConfigError as exc:
        log.error("invalid configuration: %s", exc)
        sys.exit(2)
    runner.run()


if __name__ == "__main__":
    main()
