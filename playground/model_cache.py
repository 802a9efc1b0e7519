"""One model for the whole app, loaded lazily, shared by every session, swapped under a lock.

A CPU Space has room and cores for one model: loading another replaces it for everybody.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from chatvla2_lite.hub import NANO_CHECKPOINT
from playground.settings import DEFAULT_MODEL, QUANTIZATIONS, AppSettings

logger = logging.getLogger(__name__)


@dataclass
class LoadedModel:
    """The shared policy and what the UI says about it."""

    policy: object  # chatvla2_lite.model.policy_chatvla2.ChatVLA2
    key: tuple[str, str, str]  # (model id, quantization, device) it was loaded with
    label: str
    load_s: float
    note: str = ""  # what it can and cannot do yet, from its card's measured scores (nano_note)

    def describe(self) -> str:
        p = self.policy
        line = (
            f"**Model:** {self.label} · quantization {self.key[1]} · {p.num_parameters() / 1e6:.1f} M parameters · "
            f"{p.get_memory_footprint() / 2**20:.1f} MB · loaded in {self.load_s:.1f} s"
        )
        return with_note(line, self.note)


def with_note(banner: str, note: str) -> str:
    """The banner's line with the model's note under it, when it has one."""
    return f"{banner}  \n{note}" if note else banner


def nano_note(checkpoint: Path = NANO_CHECKPOINT) -> str:
    """What the shipped nano reads and solves, in its card's own measured figures (training/lineage.json), so a
    visitor expects what it does; "" when the checkpoint has none."""
    try:
        scores = json.loads((checkpoint / "training" / "lineage.json").read_text())["scores"]
        probe = next(s for s in scores if s.get("model") == "shipped")
        own = {s["task"]: s for s in scores if "task" in s and "reasoning" not in s and "follow_rate" not in s}
        math, toy = own["math_matching"]["success_rate"], own["toy_placement"]["success_rate"]
    except (OSError, ValueError, KeyError, StopIteration):
        return ""
    # a card scored on the photo and grounding suites says how well; the shipped card predates them (0.005 and 0.00)
    photos = f"phone photos of handwriting {probe['photo']:.0%}" if "photo" in probe else "no phone photos yet"
    pointing = (
        f"it points at the right card {probe['grounding_card']:.0%} of the time"
        if "grounding_card" in probe
        else "it was never taught where the cards are"
    )
    return (
        f"_What it can do yet (heldout scenes, its card): it reads the sim's drawn boards in fonts it never saw "
        f"{probe['ocr']:.0%} of the time and gets {probe['math']:.0%} of the answers right; it reads {photos}; "
        f"{pointing}; it solves {math:.0%} of whiteboard episodes and {toy:.0%} of toy ones. The Scripted expert tab "
        "shows the tasks done right._"
    )


def default_model_label() -> str:
    """What the default model is, honestly: the trained nano checkpoint once it exists, else random weights."""
    if (NANO_CHECKPOINT / "config.json").is_file():
        return f"nano ({NANO_CHECKPOINT.name})"
    return "nano (untrained, random weights)"


class ModelCache:
    """Holds at most one ChatVLA2; `get` loads it on first use or when the settings change."""

    def __init__(self, settings: AppSettings):
        self.settings = settings
        self._lock = threading.Lock()  # one load at a time; readers of a loaded model do not wait
        self.run_lock = threading.Lock()  # one forward at a time: two on 2 cores only slow both down
        self._loaded: LoadedModel | None = None

    @property
    def loaded(self) -> LoadedModel | None:
        return self._loaded

    def key(self, model_id: str | None = None, quantization: str | None = None) -> tuple[str, str, str]:
        """(model id, quantization, device) the settings ask for, the app's defaults where None."""
        model_id = (model_id or "").strip() or self.settings.model_id
        return model_id, (quantization or self.settings.quantization).lower(), self.settings.device

    def get(self, model_id: str | None = None, quantization: str | None = None) -> LoadedModel:
        """The shared model for these settings (the app's defaults when None), loading it if needed."""
        key = self.key(model_id, quantization)
        current = self._loaded
        if current is not None and current.key == key:
            return current
        with self._lock:
            if self._loaded is None or self._loaded.key != key:
                self._loaded = None  # drop the old model before the new one needs the memory
                self._loaded = self._load(key)
            return self._loaded

    def _load(self, key: tuple[str, str, str]) -> LoadedModel:
        import torch

        from chatvla2_lite.errors import CheckpointError
        from chatvla2_lite.model.policy_chatvla2 import ChatVLA2

        model_id, quantization, device = key
        if quantization not in QUANTIZATIONS:
            raise CheckpointError(f"unknown quantization {quantization!r}; pick one of {', '.join(QUANTIZATIONS)}")
        torch.set_num_threads(self.settings.torch_threads)
        quant = None if quantization == "none" else quantization
        start = time.perf_counter()
        if model_id == DEFAULT_MODEL:
            label = default_model_label()
            if (NANO_CHECKPOINT / "config.json").is_file():
                policy = ChatVLA2.from_pretrained(NANO_CHECKPOINT, quantization=quant, device=device)
            elif quant is None:
                policy = ChatVLA2.from_config(seed=0)
            else:
                policy = self._quantized_random_nano(quant, device)
        else:
            from playground.hub_policy import check_hub_id, check_public_model

            if self.settings.public:
                check_public_model(model_id, int(self.settings.max_model_gb * 2**30))
            elif not Path(model_id).expanduser().is_dir():
                try:
                    check_hub_id(model_id)
                except CheckpointError as exc:
                    raise CheckpointError(
                        f"there is no folder {model_id!r} and it is not a Hub id either; give an "
                        "existing local folder or a Hub id like 'owner/model-name'"
                    ) from exc
            label = model_id
            policy = ChatVLA2.from_pretrained(model_id, quantization=quant, device=device)
        note = nano_note() if model_id == DEFAULT_MODEL and (NANO_CHECKPOINT / "config.json").is_file() else ""
        loaded = LoadedModel(policy, key, label, time.perf_counter() - start, note)
        logger.info("loaded %s (%s) in %.1f s", label, quantization, loaded.load_s)
        return loaded

    @staticmethod
    def _quantized_random_nano(quant: str, device: str):
        # quantization happens at load time, so the random nano goes through a folder like a checkpoint does
        import tempfile

        from chatvla2_lite.model.policy_chatvla2 import ChatVLA2

        with tempfile.TemporaryDirectory() as tmp:
            ChatVLA2.from_config(seed=0).save_pretrained(tmp)
            return ChatVLA2.from_pretrained(tmp, quantization=quant, device=device)
