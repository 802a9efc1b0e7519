"""The app's settings, read once from environment variables, with defaults that run on a 2-core CPU box."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

DEFAULT_MODEL = "nano"  # the model box's value that means "the shipped nano model"
CHUNK_STEPS = 16  # control steps one chunk plays: the nano's n_action_steps
# The scripted expert's longest episode, in control steps, of `chatvla2-lite bench sim --split heldout --episodes
# 100` (math_matching 179, toy_placement 181). An episode budget must fit it with room to spare, or a policy that does
# everything right is cut off: 1.5 times it, in chunks. tests/playground/test_expert_ceiling.py holds the app to it.
EXPERT_STEPS_MAX = 181
DEFAULT_MAX_CHUNKS = math.ceil(1.5 * EXPERT_STEPS_MAX / CHUNK_STEPS)  # 17
QUANTIZATIONS = ("none", "8bit", "4bit")


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class AppSettings:
    """Everything an operator may want to change without touching code."""

    model_id: str = DEFAULT_MODEL  # MODEL_ID: "nano", a Hub id or (not on a public Space) a local folder
    quantization: str = "none"  # QUANTIZATION: none | 8bit | 4bit
    device: str = "cpu"  # DEVICE
    public: bool = False  # PLAYGROUND_PUBLIC=1, or set by Hugging Face Spaces (SPACE_ID)
    max_model_gb: float = 6.0  # MAX_MODEL_GB: a public Space refuses repos with more safetensors than this
    max_upload_mb: float = 10.0  # MAX_UPLOAD_MB
    max_upload_megapixels: float = 16.0  # MAX_UPLOAD_MEGAPIXELS: a 40 MP photo is refused before it is decoded
    max_chunks: int = DEFAULT_MAX_CHUNKS  # MAX_CHUNKS: chunks of CHUNK_STEPS per episode
    max_episode_s: float = 15.0  # MAX_EPISODE_S: wall-clock budget of one episode
    max_fps: float = 15.0  # MAX_FPS: sim frames streamed per second at most while acting
    concurrency: int = 2  # CONCURRENCY: episodes that run at once; more only thrash 2 cores
    max_sessions: int = 32  # MAX_SESSIONS: live simulators; the least recently used one is closed beyond this
    torch_threads: int = 1  # TORCH_THREADS: 1 so the model does not fight the simulator for the cores

    @classmethod
    def from_env(cls) -> AppSettings:
        env = os.environ
        d = cls()
        return cls(
            model_id=env.get("MODEL_ID", d.model_id).strip() or d.model_id,
            quantization=env.get("QUANTIZATION", d.quantization).strip().lower() or d.quantization,
            device=env.get("DEVICE", d.device).strip() or d.device,
            public=_flag("PLAYGROUND_PUBLIC") or bool(env.get("SPACE_ID")),
            max_model_gb=float(env.get("MAX_MODEL_GB", d.max_model_gb)),
            max_upload_mb=float(env.get("MAX_UPLOAD_MB", d.max_upload_mb)),
            max_upload_megapixels=float(env.get("MAX_UPLOAD_MEGAPIXELS", d.max_upload_megapixels)),
            max_chunks=int(env.get("MAX_CHUNKS", d.max_chunks)),
            max_episode_s=float(env.get("MAX_EPISODE_S", d.max_episode_s)),
            max_fps=max(1.0, float(env.get("MAX_FPS", d.max_fps))),
            concurrency=max(1, int(env.get("CONCURRENCY", d.concurrency))),
            max_sessions=max(1, int(env.get("MAX_SESSIONS", d.max_sessions))),
            torch_threads=max(1, int(env.get("TORCH_THREADS", d.torch_threads))),
        )

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 2**20)

    @property
    def max_upload_pixels(self) -> int:
        return int(self.max_upload_megapixels * 1e6)
