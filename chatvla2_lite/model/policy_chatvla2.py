"""ChatVLA2: the inference API (reason, act, select_action) around the network, its processor and Hub loading."""

from __future__ import annotations

import collections
import hashlib
import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from chatvla2_lite.errors import CheckpointError, InvalidObservationError, UnsupportedModelError
from chatvla2_lite.model.configuration_chatvla2 import SUPPORTED_VLM_TYPES, ChatVLA2Config, nano_config
from chatvla2_lite.model.geometry import reasoning_anchors
from chatvla2_lite.model.modeling_chatvla2 import (
    MODULES_NOT_TO_QUANTIZE,
    ChatVLA2ForActionPrediction,
    Encoding,
    vlm_class,
)
from chatvla2_lite.model.pixel_encoder import action_pixels
from chatvla2_lite.model.processing_chatvla2 import ChatVLA2Processor
from chatvla2_lite.rollout import DEFAULT_CADENCE, Decision, Look, PolicyActor
from sim.conventions import STATE_KEY

logger = logging.getLogger(__name__)

# Tokens the reasoning must not contain: they would open a new image or turn.
_SUPPRESSED = ("<|im_start|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>")


@dataclass
class Reasoning:
    """What `reason` returns: the text, and the backbone's reading of prompt + reasoning for the action expert."""

    text: str
    instruction: str
    tokens: list[str]  # every token of the encoded sequence, for plots
    routing: dict[int, dict[str, np.ndarray]]  # layer -> {"experts": (T, k) int, "weights": (T, k) float32}
    encoding: Encoding
    fingerprint: str  # of the images and instruction the encoding was computed from


class _CallbackStreamer:
    """A transformers streamer that calls `fn(new_text)` for each generated token (the prompt is skipped)."""

    def __init__(self, processor: ChatVLA2Processor, fn):
        self.processor, self.fn = processor, fn
        self.ids: list[int] = []
        self.text = ""
        self.prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        if not self.prompt_seen:
            self.prompt_seen = True
            return
        self.ids.extend(value.reshape(-1).tolist())
        text = self.processor.decode(self.ids)
        if len(text) > len(self.text):
            self.fn(text[len(self.text) :])
            self.text = text

    def end(self) -> None:
        pass


def _fingerprint(images: list[np.ndarray], instruction: str) -> str:
    digest = hashlib.sha1(instruction.encode())
    for image in images:
        digest.update(str(image.shape).encode())
        digest.update(np.ascontiguousarray(image).tobytes())
    return digest.hexdigest()


class ChatVLA2:
    """A ChatVLA-2 policy: `reason` writes the reasoning, `act` turns it into an (H, 6) action chunk."""

    def __init__(self, model: ChatVLA2ForActionPrediction, processor: ChatVLA2Processor, quantization=None):
        self.model = model.eval()
        self.processor = processor
        self.quantization = quantization
        self.cadence = DEFAULT_CADENCE  # when select_action reasons (rollout.CADENCES)
        self._queue: collections.deque[np.ndarray] = collections.deque()
        self.reset()

    # ---- construction ----------------------------------------------------------------------------------------
    @classmethod
    def from_config(cls, config: ChatVLA2Config | None = None, processor=None, seed: int = 0) -> ChatVLA2:
        """Random weights from a config (default: nano), e.g. before a checkpoint exists."""
        config = config or nano_config()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = ChatVLA2ForActionPrediction(config)
        max_length = config.text_config.max_position_embeddings
        return cls(model, processor or ChatVLA2Processor.nano(max_length=max_length))

    @classmethod
    def from_pretrained(
        cls,
        id_or_path: str | Path | None = None,
        revision: str | None = None,
        quantization: str | None = None,
        device: str = "cpu",
    ) -> ChatVLA2:
        """Load a ChatVLA2 checkpoint, or wrap a Qwen2-VL-family backbone with fresh MoE and action expert.

        `id_or_path`: a Hub id (downloaded into the cache, safetensors only) or a local folder; None: the project's
        nano checkpoint in checkpoints/chatvla2-nano, read from disk with no network.
        `quantization`: "4bit" (nf4, double quantization), "8bit" or None, applied to the backbone's linear layers.
        """
        from chatvla2_lite import hub
        from chatvla2_lite.quantization import bitsandbytes_config, normalize_quantization

        if id_or_path is None:
            if not (hub.NANO_CHECKPOINT / "config.json").is_file():
                raise CheckpointError(
                    f"the nano checkpoint is not at {hub.NANO_CHECKPOINT} yet; `make nano` trains and ships "
                    "it, or name a model (a Hub id or a folder)"
                )
            id_or_path = hub.NANO_CHECKPOINT
        quantization = normalize_quantization(quantization)
        bnb = bitsandbytes_config(quantization, device, MODULES_NOT_TO_QUANTIZE)  # fails fast, before downloading
        folder = hub.resolve_checkpoint(id_or_path, revision)
        model_type = json.loads((folder / "config.json").read_text()).get("model_type")
        kwargs = {"quantization_config": bnb, "device_map": {"": device}} if bnb else {}
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*MatMul8bitLt.*")
            if model_type == ChatVLA2Config.model_type:
                model = ChatVLA2ForActionPrediction.from_pretrained(folder, use_safetensors=True, **kwargs)
            elif model_type in SUPPORTED_VLM_TYPES:
                vlm = vlm_class(model_type).from_pretrained(folder, use_safetensors=True, **kwargs)
                model = ChatVLA2ForActionPrediction(ChatVLA2Config(vlm_config=vlm.config), vlm=vlm)
            else:
                raise UnsupportedModelError(
                    f"{id_or_path} is a {model_type!r} model; load a ChatVLA2 checkpoint or a Qwen2-VL / Qwen2.5-VL one"
                )
        _move_unquantized(model, device, quantized=bnb is not None)
        if not (folder / "tokenizer.json").is_file():
            raise CheckpointError(f"{id_or_path} has no tokenizer.json; the processor cannot be built without it")
        processor = ChatVLA2Processor.from_pretrained(folder)
        if not (folder / "processor_config.json").is_file():  # a bare backbone: use its context length
            processor.max_length = model.config.text_config.max_position_embeddings
        return cls(model, processor, quantization=quantization)

    # ---- inference -------------------------------------------------------------------------------------------
    @property
    def config(self) -> ChatVLA2Config:
        return self.model.config

    @property
    def device(self) -> torch.device:
        return self.model.action_expert.action_in.weight.device

    def _inputs(self, observation: dict, instruction: str, reasoning: str | None = None, reserve: int = 0) -> dict:
        batch = self.processor(observation, instruction, reasoning=reasoning, reserve_tokens=reserve)
        return {k: v.to(self.device) for k, v in batch.items()}

    @torch.no_grad()
    def encode(self, observation: dict, instruction: str, reasoning_text: str) -> Reasoning:
        """The backbone's reading of the prompt plus a given reasoning text (what `act` needs)."""
        instruction = self.processor.clean_instruction(instruction)
        batch = self._inputs(observation, instruction, reasoning_text)
        encoding = self.model.encode(batch)
        routing = {
            layer: {"experts": r.experts[0].cpu().numpy(), "weights": r.weights[0].float().cpu().numpy()}
            for layer, r in encoding.routing.items()
        }
        tokens = self.processor.tokenizer.convert_ids_to_tokens(batch["input_ids"][0].tolist())
        images = self.processor.images_from(observation)
        return Reasoning(
            reasoning_text.strip(), instruction, tokens, routing, encoding, _fingerprint(images, instruction)
        )

    @torch.no_grad()
    def reason(
        self, observation: dict, instruction: str | None = None, streamer=None, max_new_tokens=None
    ) -> Reasoning:
        """Generate the reasoning (greedy), streaming it token by token to `streamer` (a callable or a HF streamer)."""
        instruction = observation.get("task") if instruction is None and isinstance(observation, dict) else instruction
        max_new_tokens = max_new_tokens or self.config.max_reasoning_tokens
        batch = self._inputs(observation, instruction, reserve=max_new_tokens)
        vocab = self.processor.tokenizer.get_vocab()
        if streamer is not None and not hasattr(streamer, "put"):
            streamer = _CallbackStreamer(self.processor, streamer)
        im_end = vocab["<|im_end|>"]
        generated = self.model.vlm.generate(
            **{
                k: batch[k]
                for k in ("input_ids", "attention_mask", "mm_token_type_ids", "pixel_values", "image_grid_thw")
            },
            max_new_tokens=max_new_tokens,
            do_sample=False,
            eos_token_id=[im_end, self.processor.pad_token_id],
            pad_token_id=self.processor.pad_token_id,
            suppress_tokens=[vocab[t] for t in _SUPPRESSED if t in vocab],
            streamer=streamer,
        )
        text = self.processor.decode(generated[0, batch["input_ids"].shape[1] :])
        return self.encode(observation, instruction, text)

    @torch.no_grad()
    def act(self, observation: dict, reasoning: Reasoning | str, instruction: str | None = None, seed: int = 0):
        """An action chunk (H, 6) float32 of joint targets in radians, following `reasoning` (edited text works).

        The same observation, reasoning and seed give the same chunk; the seed drives the denoising noise.
        """
        state = self._state(observation)
        if isinstance(reasoning, Reasoning):
            instruction = instruction or reasoning.instruction
            text = reasoning.text
        else:
            instruction = instruction or observation.get("task")
            text = str(reasoning)
        images = self.processor.images_from(observation)
        fresh = isinstance(reasoning, Reasoning) and reasoning.fingerprint == _fingerprint(
            images, self.processor.clean_instruction(instruction)
        )
        encoding = reasoning.encoding if fresh else self.encode(observation, instruction, text).encoding
        pixels = self.config.action_expert.pixels
        if pixels is not None:
            pixels = torch.as_tensor(action_pixels(observation, *pixels), device=self.device)[None]
        anchors = None
        if (geometry := self.config.action_expert.geometry) is not None:  # where the text points: the arm goes there
            anchors = [torch.as_tensor(a, device=self.device)[None] for a in reasoning_anchors(text, geometry)]
        cond = self.model.condition(encoding, torch.as_tensor(state, device=self.device)[None], pixels, *anchors or ())
        generator = torch.Generator(device=self.device).manual_seed(seed)
        return self.model.sample_actions(cond, generator)[0].float().cpu().numpy().astype(np.float32)

    def select_action(self, observation: dict) -> np.ndarray:
        """The next (6,) joint target for a control loop, as LeRobot policies do. When its queue is empty it decides a
        new chunk as every closed loop of the project does (rollout.PolicyActor): it reasons when `self.cadence`
        says (by default once an episode), then acts on that reasoning."""
        if not self._queue:
            look = Look(self._steps, observation)
            decision = next(d for d in self._actor.decide(look) if isinstance(d, Decision))
            self._queue.extend(decision.actions)
        self._steps += 1
        return self._queue.popleft()

    def reset(self) -> None:
        """Forget queued actions and the reasoning (call at the start of an episode)."""
        self._queue.clear()
        self._actor, self._steps = PolicyActor(self, self.cadence), 0

    def _state(self, observation: dict, key: str = STATE_KEY) -> np.ndarray:
        if not isinstance(observation, dict) or key not in observation:
            raise InvalidObservationError(f"the observation needs {key!r}: the 6 joint positions in radians")
        dim = self.config.action_expert.state_dim
        try:
            state = np.asarray(observation[key], dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise InvalidObservationError(f"{key} is not numeric ({exc}); pass {dim} floats") from exc
        if state.shape != (dim,) or not np.isfinite(state).all():
            raise InvalidObservationError(f"{key} must be {dim} finite floats (radians), got shape {state.shape}")
        return state

    # ---- saving ----------------------------------------------------------------------------------------------
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def get_memory_footprint(self) -> int:
        """Bytes of parameters and buffers (transformers' count, so 4-bit weights count as packed)."""
        return self.model.get_memory_footprint()

    def save_pretrained(self, directory: str | Path, repo_id: str | None = None) -> Path:
        """Write config.json, model.safetensors, tokenizer/processor files and README.md (the model card, whose usage
        snippet loads `repo_id`)."""
        from chatvla2_lite.model_card import render_model_card

        if self.quantization is not None:
            raise CheckpointError(
                "this model was loaded in "
                f"{self.quantization}; save from full precision (load with quantization=None), quantize at load time"
            )
        directory = Path(directory)
        self.model.save_pretrained(directory)
        self.processor.save_pretrained(directory)
        (directory / "README.md").write_text(render_model_card(self, repo_id=repo_id))
        return directory

    def push_to_hub(self, repo_id: str, private: bool | None = None, commit_message: str = "Upload ChatVLA2") -> str:
        """Create `repo_id` if needed and upload what `save_pretrained` writes; returns the commit URL."""
        import tempfile

        from huggingface_hub import HfApi
        from huggingface_hub.errors import HfHubHTTPError

        from chatvla2_lite.hub import HubSettings

        settings = HubSettings.from_env()
        api = HfApi(endpoint=settings.endpoint, token=settings.token)
        with tempfile.TemporaryDirectory() as tmp:
            self.save_pretrained(tmp, repo_id=repo_id)
            try:
                api.create_repo(repo_id, private=private, exist_ok=True)
                info = api.upload_folder(repo_id=repo_id, folder_path=tmp, commit_message=commit_message)
            except HfHubHTTPError as exc:
                status = getattr(exc.response, "status_code", None)
                if status in (401, 403):
                    raise CheckpointError(
                        f"the Hub refused to let you write to {repo_id!r} ({status}); set HF_TOKEN to a token with "
                        "write access (https://huggingface.co/settings/tokens) or log in with `hf auth login`"
                    ) from exc
                raise CheckpointError(f"pushing {repo_id!r} failed: the Hub answered {exc}; retry later") from exc
        return str(info)


def _move_unquantized(model: ChatVLA2ForActionPrediction, device: str, quantized: bool) -> None:
    """Put the model on `device`; with a quantized backbone only the parts added around it move."""
    if not quantized:
        model.to(device)
        return
    parts = [model.reasoning_following, model.action_expert, model.state_normalizer, model.action_normalizer]
    for moe in model.moe_layers.values():
        parts += [moe.router, moe.experts]
    for part in parts:
        part.to(device)


def load_policy(model: str | None = None, quantization: str | None = None, revision: str | None = None) -> ChatVLA2:
    """A ChatVLA2 for `model` (Hub id or folder); None: the nano checkpoint, or random nano weights with a warning."""
    from chatvla2_lite import hub

    if model is None and not (hub.NANO_CHECKPOINT / "config.json").is_file():
        logger.warning(
            "no nano checkpoint at %s yet: using the nano architecture with random weights", hub.NANO_CHECKPOINT
        )
        return ChatVLA2.from_config()
    return ChatVLA2.from_pretrained(model, revision=revision, quantization=quantization)
