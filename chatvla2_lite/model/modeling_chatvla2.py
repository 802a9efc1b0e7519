"""The ChatVLA-2 network: a transformers Qwen2-VL-family VLM with dynamic MoE, reasoning-following, action expert.

`ChatVLA2ForActionPrediction` is a `PreTrainedModel`, so save/load, 4-bit loading and the memory footprint come from
transformers. The user-facing inference API (reason / act / select_action, Hub loading) is `chatvla2_lite.ChatVLA2`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from transformers import PreTrainedModel

from chatvla2_lite.model.action_expert import ActionExpert, Condition, Normalizer
from chatvla2_lite.model.configuration_chatvla2 import ChatVLA2Config, register
from chatvla2_lite.model.geometry import joint_chunk, tool_chunk
from chatvla2_lite.model.moe import Routing, add_dynamic_moe, load_balancing_loss, moe_modules
from chatvla2_lite.model.pixel_encoder import PixelEncoder
from chatvla2_lite.model.reasoning_following import ReasoningFollowing
from sim.conventions import STATE_KEY

register()

VLM_INPUT_KEYS = ("input_ids", "attention_mask", "mm_token_type_ids", "pixel_values", "image_grid_thw")
# Small or precision-critical modules that stay in full precision when the backbone loads in 4-bit or 8-bit.
MODULES_NOT_TO_QUANTIZE = [
    "router",
    "reasoning_following",
    "action_expert",
    "state_normalizer",
    "action_normalizer",
    "lm_head",
]


def vlm_class(model_type: str) -> type[PreTrainedModel]:
    """The transformers class of a supported backbone type."""
    if model_type == "qwen2_vl":
        from transformers import Qwen2VLForConditionalGeneration

        return Qwen2VLForConditionalGeneration
    if model_type == "qwen2_5_vl":
        from transformers import Qwen2_5_VLForConditionalGeneration

        return Qwen2_5_VLForConditionalGeneration
    raise ValueError(f"unsupported backbone type {model_type!r}; use qwen2_vl or qwen2_5_vl")


@dataclass
class Encoding:
    """The backbone's reading of one batch: what the action expert conditions on, plus losses and routing."""

    hidden: torch.Tensor  # (B, T, D) hidden states at `config.condition_layer`
    prompt_mask: torch.Tensor  # (B, T) bool
    reasoning_mask: torch.Tensor  # (B, T) bool
    routing: dict[int, Routing]  # decoder layer -> router decisions for the T tokens
    lm_loss: torch.Tensor | None
    aux_loss: torch.Tensor
    obs_grid: torch.Tensor | None = None  # (B, T, 3) (view, row, col) of image tokens, see image_token_grid


def image_token_grid(
    input_ids: torch.Tensor, image_grid_thw: torch.Tensor | None, image_token_id: int, merge: int
) -> torch.Tensor:
    """(B, T, 3) long: for each image token its view (the n-th image of its sample), row and column in the merged
    token grid, all 1-based; zeros on text tokens. Images are in `image_grid_thw` in the order of their tokens."""
    grid = torch.zeros(*input_ids.shape, 3, dtype=torch.long, device=input_ids.device)
    if image_grid_thw is None:
        return grid
    # One pass for the whole batch, no loop over samples and views (it ran in every forward): the image tokens,
    # read in order, are the images' merged cells one image after another.
    at = torch.nonzero((input_ids == image_token_id).flatten()).flatten()
    thw = image_grid_thw.to(input_ids.device)
    cols = thw[:, 2] // merge
    cells = thw[:, 1] // merge * cols
    sizes = thw[:, 0] * cells
    if int(sizes.sum()) != len(at):
        raise ValueError(f"{len(at)} image tokens for images of {sizes.tolist()} merged cells")
    image = torch.repeat_interleave(torch.arange(len(thw), device=at.device), sizes)
    first = torch.cumsum(sizes, 0) - sizes  # each image's first token, counted over the batch's image tokens
    cell = (torch.arange(len(at), device=at.device) - first[image]) % cells[image]
    sample = at[first] // input_ids.shape[1]  # non-decreasing: images come in the order of their samples
    view = torch.arange(len(thw), device=at.device) - torch.searchsorted(sample, sample) + 1
    flat = grid.view(-1, 3)
    flat[at, 0] = view[image]
    flat[at, 1] = cell // cols[image] + 1
    flat[at, 2] = cell % cols[image] + 1
    return grid


@dataclass
class ChatVLA2Output:
    loss: torch.Tensor
    lm_loss: torch.Tensor | None
    action_loss: torch.Tensor | None
    aux_loss: torch.Tensor


class ChatVLA2ForActionPrediction(PreTrainedModel):
    """Backbone VLM (+ dynamic MoE) -> reasoning-following -> action expert; normalization stats as buffers."""

    config_class = ChatVLA2Config
    base_model_prefix = "chatvla2"
    main_input_name = "input_ids"
    input_modalities = ("image", "text")
    _no_split_modules = ["Qwen2VLDecoderLayer", "Qwen2VLVisionBlock", "Qwen2_5_VLDecoderLayer", "Qwen2_5_VLVisionBlock"]
    _supports_sdpa = True

    def __init__(self, config: ChatVLA2Config, vlm: PreTrainedModel | None = None):
        """`vlm`: an already loaded (maybe quantized) backbone to wrap; None builds one from `config.vlm_config`."""
        super().__init__(config)
        self.vlm = vlm if vlm is not None else vlm_class(config.vlm_config.model_type)._from_config(config.vlm_config)
        add_dynamic_moe(self.vlm, config.moe)
        width, expert = config.text_config.hidden_size, config.action_expert
        self.reasoning_following = ReasoningFollowing(width, expert.hidden_size, config.reasoning_following.hidden_size)
        self.action_expert = ActionExpert(expert, obs_dim=width)
        self.state_normalizer = Normalizer(expert.state_dim)
        self.action_normalizer = Normalizer(expert.action_dim)
        self.post_init()
        for moe in moe_modules(self.vlm).values():  # post_init used the backbone's init on the new experts
            moe.reset_expert_parameters()

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        # Only reached for this class's own modules (the backbone subtree uses its own _init_weights).
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm) and module.weight is not None:
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.MultiheadAttention):
            module._reset_parameters()
        elif isinstance(module, nn.Embedding):  # the action expert's place tables: zero, so a checkpoint saved
            nn.init.zeros_(module.weight)  # before they existed loads and acts as it did
        elif isinstance(module, ActionExpert):
            nn.init.normal_(module.chunk_pos, std=0.02)
        elif isinstance(module, nn.Conv2d):
            module.reset_parameters()
        elif isinstance(module, PixelEncoder):
            nn.init.normal_(module.place, std=0.02)
        elif isinstance(module, Normalizer):
            module.set_stats(torch.zeros_like(module.mean), torch.ones_like(module.std))

    @property
    def moe_layers(self) -> dict[int, nn.Module]:
        return moe_modules(self.vlm)

    def encode(self, batch: dict[str, torch.Tensor], with_lm_loss: bool = False) -> Encoding:
        """Run the backbone over prompt (+ reasoning) tokens from `ChatVLA2Processor`."""
        inputs = {k: batch[k] for k in VLM_INPUT_KEYS if batch.get(k) is not None}
        labels = batch.get("labels") if with_lm_loss else None
        out = self.vlm(**inputs, labels=labels, output_hidden_states=True, use_cache=False)
        routing = {i: moe.last_routing for i, moe in self.moe_layers.items()}
        mask = batch["attention_mask"]
        vlm_config = self.config.vlm_config
        aux = [load_balancing_loss(r, self.config.moe.num_experts, mask) for r in routing.values()]
        return Encoding(
            hidden=out.hidden_states[self.config.condition_layer],
            prompt_mask=batch["prompt_mask"].bool(),
            reasoning_mask=batch["reasoning_mask"].bool(),
            routing=routing,
            lm_loss=out.loss,
            aux_loss=torch.stack(aux).mean() if aux else out.logits.new_zeros(()),
            obs_grid=image_token_grid(
                batch["input_ids"],
                batch.get("image_grid_thw"),
                vlm_config.image_token_id,
                vlm_config.vision_config.spatial_merge_size,
            ),
        )

    def condition(
        self,
        encoding: Encoding,
        state: torch.Tensor,
        pixels: torch.Tensor | None = None,
        anchors: torch.Tensor | None = None,
        anchor_mask: torch.Tensor | None = None,
    ) -> Condition:
        """The action expert's condition; state (B, state_dim) in radians, normalized here; pixels (B, V, S, S, 3)
        uint8 for an expert with a pixel encoder (pixel_encoder.action_pixels); for one with a geometry, the table
        (x, y) of the object and place the reasoning points at, anchors (B, 2, 2) and anchor_mask (B, 2)
        (geometry.reasoning_anchors), the tool's own place joining them here."""
        hidden = encoding.hidden.to(self.reasoning_following.fc1.weight.dtype)
        tool = None
        if (geometry := self.config.action_expert.geometry) is not None:
            if anchors is None or anchor_mask is None:
                raise ValueError("this action expert acts on the reasoning's points: pass anchors and anchor_mask")
            tool = torch.from_numpy(tool_chunk(state.detach().cpu().numpy(), geometry)[:, :3]).to(state.device)
            anchors = torch.cat([tool[:, None, :2], anchors.to(tool)], dim=1)
            anchor_mask = torch.cat([torch.ones_like(anchor_mask[:, :1]), anchor_mask], dim=1).bool()
        state = self.state_normalizer.normalize(state.to(hidden.dtype))
        return Condition(
            state=state,
            obs=hidden,
            obs_mask=encoding.prompt_mask,
            reasoning=self.reasoning_following(hidden),
            reasoning_mask=encoding.reasoning_mask,
            obs_grid=encoding.obs_grid,
            pixels=pixels,
            anchors=anchors,
            anchor_mask=anchor_mask,
            tool=tool,
        )

    def forward(self, batch: dict[str, torch.Tensor], generator: torch.Generator | None = None) -> ChatVLA2Output:
        """Training loss: reasoning LM loss (if `labels`) + action loss (if `action` (B, H, A)) + MoE balancing.

        A batch that carries `hidden` (B, T, D) skips the backbone: with the backbone frozen (the action stage) its
        hidden states are computed once per sample and reused (see training.streams.cached_robot_feature_stream)."""
        encoding = (
            self.encode(batch, with_lm_loss="labels" in batch)
            if "hidden" not in batch
            else Encoding(
                hidden=batch["hidden"],
                prompt_mask=batch["prompt_mask"].bool(),
                reasoning_mask=batch["reasoning_mask"].bool(),
                routing={},
                lm_loss=None,
                aux_loss=batch["hidden"].new_zeros((), dtype=torch.float32),
                obs_grid=batch.get("obs_grid"),
            )
        )
        action_loss = None
        if batch.get("action") is not None:
            cond = self.condition(
                encoding, batch[STATE_KEY], batch.get("pixels"), batch.get("anchors"), batch.get("anchor_mask")
            )
            if (geometry := self.config.action_expert.geometry) is not None:  # the demo's joints, in tool space
                target = torch.from_numpy(tool_chunk(batch["action"].detach().cpu().numpy(), geometry))
                action_loss = self.action_expert.tool_loss(target.to(cond.state.device), cond)
            else:
                target = self.action_normalizer.normalize(batch["action"].to(cond.state.dtype))
                action_loss = self.action_expert.loss(target, cond, generator=generator)
        loss = self.config.moe.aux_loss_weight * encoding.aux_loss
        for term in (encoding.lm_loss, action_loss):
            if term is not None:
                loss = loss + term
        return ChatVLA2Output(loss=loss, lm_loss=encoding.lm_loss, action_loss=action_loss, aux_loss=encoding.aux_loss)

    @torch.no_grad()
    def sample_actions(self, cond: Condition, generator: torch.Generator | None = None) -> torch.Tensor:
        """An action chunk (B, H, A) of joint targets in radians; one in tool space is solved to them by inverse
        kinematics from the present joints (geometry.joint_chunk)."""
        if (geometry := self.config.action_expert.geometry) is None:
            return self.action_normalizer.unnormalize(self.action_expert.sample(cond, generator=generator))
        tool = self.action_expert.tool_chunk(cond).cpu().numpy()
        joints = self.state_normalizer.unnormalize(cond.state).float().cpu().numpy()
        chunks = [joint_chunk(steps, q, geometry) for steps, q in zip(tool, joints)]
        return torch.from_numpy(np.stack(chunks)).to(cond.state.device)
