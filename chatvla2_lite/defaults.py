"""Which model runs when none is named: the shipped nano checkpoint, or the untrained nano until it exists."""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)

# The project's own nano checkpoint, laid out as a Hub repository inside the repo.
NANO_CHECKPOINT = Path(__file__).resolve().parent.parent / "checkpoints" / "chatvla2-nano"


def load_policy(model: str | None = None, quantization: str | None = None, revision: str | None = None):
    """A ChatVLA2 for `model` (Hub id or folder); None: the nano checkpoint, or random nano weights with a warning."""
    from chatvla2_lite.policy_chatvla2 import ChatVLA2

    if model is None and (NANO_CHECKPOINT / "config.json").is_file():
        model = str(NANO_CHECKPOINT)
    if model is None:
        log.warning("no nano checkpoint at %s yet: using the nano architecture with random weights", NANO_CHECKPOINT)
        return ChatVLA2.from_config()
    return ChatVLA2.from_pretrained(model, revision=revision, quantization=quantization)
