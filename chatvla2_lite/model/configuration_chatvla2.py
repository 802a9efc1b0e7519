"""ChatVLA2Config: the backbone's config plus one dataclass per added component, round-tripping via config.json."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from transformers import AutoConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec

from sim.conventions import CAMERA_NAMES, JOINT_NAMES

SUPPORTED_VLM_TYPES = ("qwen2_vl", "qwen2_5_vl")


@dataclass
class MoEConfig:
    """Dynamic mixture-of-experts added beside the original MLP in some decoder layers (paper: 2 of 8)."""

    num_experts: int = 8
    top_k: int = 2
    layers: list[int] | None = None  # None: the upper half of the language model's decoder layers
    expert_intermediate_size: int | None = None  # None: the backbone's intermediate_size // num_experts
    aux_loss_weight: float = 0.01  # load-balancing loss weight in the training loss

    def resolved_layers(self, num_hidden_layers: int) -> list[int]:
        layers = list(range(num_hidden_layers // 2, num_hidden_layers)) if self.layers is None else list(self.layers)
        bad = [i for i in layers if not 0 <= i < num_hidden_layers]
        if bad:
            raise ValueError(f"MoE layers {bad} do not exist; the backbone has layers 0..{num_hidden_layers - 1}")
        return sorted(set(layers))


@dataclass
class ReasoningFollowingConfig:
    """Projection of the reasoning tokens' hidden states into the action expert's deeper layers."""

    hidden_size: int | None = None  # width between the two linear layers; None: the action expert's hidden size


OBJECTIVES = ("flow_matching", "ddim", "regression")


def check_action_steps(steps: int, chunk_size: int, name: str = "n_action_steps") -> None:
    """Raise ValueError unless `steps` actions, played of each chunk, are 1 to `chunk_size`."""
    if not 1 <= steps <= chunk_size:
        raise ValueError(f"{name} plays part of a chunk: 1 to {chunk_size}, got {steps}")


@dataclass
class ActionExpertConfig:
    """The small transformer that turns observation, state and reasoning into an action chunk."""

    hidden_size: int = 128
    num_layers: int = 4
    num_heads: int = 4
    mlp_ratio: int = 4
    chunk_size: int = 16  # H: future steps per chunk
    action_dim: int = 6
    state_dim: int = 6
    objective: str = "flow_matching"  # "flow_matching", "ddim" or "regression" (one pass, L1 loss, as ACT)
    num_inference_steps: int = 10
    num_train_timesteps: int = 100  # DDIM's discrete training schedule length
    reasoning_from_layer: int | None = None  # first layer that sees the reasoning; None: num_layers // 2
    n_action_steps: int | None = None  # actions select_action plays per chunk; None: the whole chunk
    # cameras whose raw pixels the expert also reads through its own conv net (pixel_encoder.py); [] reads none
    pixel_cameras: list[str] = field(default_factory=list)
    pixel_size: int = 64  # those images' side in pixels, a multiple of 16
    # the geometric channel (geometry.py): the front camera's calibration and the arm's base, with which the expert
    # reads the reasoning's points as table places and predicts its chunk in tool space; None: joint space, no points
    geometry: dict | None = None

    def __post_init__(self):
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not divisible by num_heads {self.num_heads}")
        if self.n_action_steps is not None:
            check_action_steps(self.n_action_steps, self.chunk_size)
        if self.pixel_size <= 0 or self.pixel_size % 16:
            raise ValueError(f"pixel_size must be a positive multiple of 16, got {self.pixel_size}")
        if self.geometry is not None:
            from chatvla2_lite.model.geometry import check_geometry

            check_geometry(self.geometry)
            if self.objective != "regression":
                raise ValueError("the tool-space chunk is regressed in one pass: a geometry needs objective regression")

    @property
    def pixels(self) -> tuple[list[str], int] | None:
        """(cameras, size) of the pixel encoder's images, or None without one."""
        return (list(self.pixel_cameras), self.pixel_size) if self.pixel_cameras else None

    @property
    def first_reasoning_layer(self) -> int:
        return self.num_layers // 2 if self.reasoning_from_layer is None else self.reasoning_from_layer


_COMPONENTS = {"moe": MoEConfig, "reasoning_following": ReasoningFollowingConfig, "action_expert": ActionExpertConfig}


class ChatVLA2Config(PreTrainedConfig):
    """The whole model's config; `vlm_config` is the backbone's own (Qwen2-VL or Qwen2.5-VL) config."""

    model_type = "chatvla2"
    sub_configs_defaults = {"vlm_config": SubConfigSpec(AutoConfig, model_type="qwen2_vl")}

    vlm_config: dict | PreTrainedConfig | None = None
    moe: dict | MoEConfig | None = None
    reasoning_following: dict | ReasoningFollowingConfig | None = None
    action_expert: dict | ActionExpertConfig | None = None
    condition_layer: int = -1  # which VLM hidden-state layer feeds the action expert (-1: the last)
    max_reasoning_tokens: int = 128  # a toy reasoning is some 90 characters, a token each in the nano vocabulary
    camera_names: list[str] = field(default_factory=lambda: list(CAMERA_NAMES))
    joint_names: list[str] = field(default_factory=lambda: list(JOINT_NAMES))

    def __post_init__(self, **kwargs):
        for name, cls in _COMPONENTS.items():
            value = getattr(self, name)
            if not isinstance(value, cls):
                setattr(self, name, cls(**(value or {})))
        super().__post_init__(**kwargs)
        if self.vlm_config.model_type not in SUPPORTED_VLM_TYPES:
            raise ValueError(
                f"backbone type {self.vlm_config.model_type!r} is not supported; use one of {SUPPORTED_VLM_TYPES}"
            )

    @property
    def text_config(self) -> PreTrainedConfig:
        return self.vlm_config.text_config

    @property
    def moe_layers(self) -> list[int]:
        return self.moe.resolved_layers(self.text_config.num_hidden_layers)

    def to_dict(self) -> dict:
        out = super().to_dict()
        for name in _COMPONENTS:
            out[name] = asdict(getattr(self, name))
        return out


def register() -> None:
    """Make AutoConfig know "chatvla2" (no remote code: the class is this module's)."""
    try:
        AutoConfig.register(ChatVLA2Config.model_type, ChatVLA2Config)
    except ValueError:  # already registered
        pass


def nano_vlm_config(vocab_size: int, special_ids: dict[str, int], max_position_embeddings: int = 1024) -> dict:
    """A ~2M-parameter Qwen2-VL config that runs on a laptop CPU: 112x112 images become 16 tokens each."""
    return {
        "model_type": "qwen2_vl",
        "text_config": {
            "vocab_size": vocab_size,
            "hidden_size": 128,
            "intermediate_size": 384,
            "num_hidden_layers": 4,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "max_position_embeddings": max_position_embeddings,
            # head_dim 32 -> 16 rotary frequencies split over (time, height, width)
            "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [4, 6, 6]},
            "bos_token_id": special_ids["<|endoftext|>"],
            "eos_token_id": special_ids["<|im_end|>"],
            "pad_token_id": special_ids["<|endoftext|>"],
        },
        "vision_config": {
            "depth": 4,
            "embed_dim": 128,
            "hidden_size": 128,
            "num_heads": 4,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
        },
        "image_token_id": special_ids["<|image_pad|>"],
        "video_token_id": special_ids["<|video_pad|>"],
        "vision_start_token_id": special_ids["<|vision_start|>"],
        "vision_end_token_id": special_ids["<|vision_end|>"],
    }


def nano_config(**overrides) -> ChatVLA2Config:
    """The nano ChatVLA2 config (random weights until the trained nano checkpoint exists)."""
    from chatvla2_lite.model.tokenizer_nano import NANO_SPECIAL_TOKENS, nano_vocab

    vocab = nano_vocab()
    special_ids = {tok: vocab[tok] for tok in NANO_SPECIAL_TOKENS}
    kwargs = dict(
        vlm_config=nano_vlm_config(len(vocab), special_ids),
        moe=MoEConfig(num_experts=8, top_k=2, layers=None, expert_intermediate_size=64),
        action_expert=ActionExpertConfig(hidden_size=128, num_layers=4, num_heads=4, chunk_size=16),
        max_reasoning_tokens=128,
    )
    kwargs.update(overrides)
    return ChatVLA2Config(**kwargs)
