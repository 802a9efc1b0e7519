"""ChatVLA2Config round-trips through config.json; a Qwen2-VL-2B-sized model is laid out right (meta device)."""

from __future__ import annotations

import pytest
import torch

from chatvla2_lite.model.configuration_chatvla2 import ActionExpertConfig, ChatVLA2Config, MoEConfig, nano_config
from chatvla2_lite.model.modeling_chatvla2 import ChatVLA2ForActionPrediction
from chatvla2_lite.model.moe import DynamicMoE

# Qwen/Qwen2-VL-2B-Instruct's config.json, the fields that set the parameter count.
QWEN2_VL_2B = {
    "model_type": "qwen2_vl",
    "tie_word_embeddings": True,
    "text_config": {
        "vocab_size": 151936,
        "hidden_size": 1536,
        "intermediate_size": 8960,
        "num_hidden_layers": 28,
        "num_attention_heads": 12,
        "num_key_value_heads": 2,
        "rope_parameters": {"rope_type": "default", "rope_theta": 1e6, "mrope_section": [16, 24, 24]},
    },
    "vision_config": {
        "depth": 32,
        "embed_dim": 1280,
        "hidden_size": 1536,
        "num_heads": 16,
        "mlp_ratio": 4,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
    },
}
QWEN2_VL_2B_PARAMS = 2_208_985_600  # the published count of the bare backbone


def test_config_round_trips_through_json(tmp_path):
    config = nano_config(
        moe=MoEConfig(num_experts=4, top_k=1, layers=[1, 3]),
        action_expert=ActionExpertConfig(chunk_size=8, objective="ddim"),
    )
    config.save_pretrained(tmp_path)
    loaded = ChatVLA2Config.from_pretrained(tmp_path)
    assert loaded.moe == config.moe and loaded.action_expert == config.action_expert
    assert loaded.moe_layers == [1, 3]
    assert loaded.vlm_config.text_config.hidden_size == 128
    assert loaded.to_dict()["action_expert"]["objective"] == "ddim"


def test_defaults_follow_the_paper():
    config = ChatVLA2Config(vlm_config=QWEN2_VL_2B)
    assert (config.moe.num_experts, config.moe.top_k, config.action_expert.chunk_size) == (8, 2, 16)
    assert config.moe_layers == list(range(14, 28))  # the upper half


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: ActionExpertConfig(objective="gan"), "objective"),
        (lambda: ActionExpertConfig(hidden_size=100, num_heads=3), "divisible"),
        (lambda: ActionExpertConfig(n_action_steps=17), "1 to 16"),
        (lambda: ActionExpertConfig(n_action_steps=0), "part of a chunk"),
        (lambda: nano_config(moe=MoEConfig(layers=[9])), "do not exist"),
        (lambda: ChatVLA2Config(vlm_config={"model_type": "llama"}), "not supported"),
    ],
)
def test_bad_configs_say_what_is_wrong(make, message):
    with pytest.raises(ValueError, match=message):
        config = make()
        config.moe_layers  # noqa: B018 - layer indices are checked against the backbone here


def test_qwen2_vl_2b_sized_model_on_the_meta_device():
    config = ChatVLA2Config(vlm_config=QWEN2_VL_2B)
    with torch.device("meta"):
        model = ChatVLA2ForActionPrediction(config)
    text = config.text_config
    d, inter, e = text.hidden_size, text.intermediate_size, config.moe.num_experts
    expert_width = inter // e  # 1120
    per_moe_layer = d * e + e * 3 * d * expert_width  # router + SwiGLU experts
    added_moe = 14 * per_moe_layer

    vlm_params = sum(p.numel() for p in model.vlm.parameters())
    assert vlm_params == QWEN2_VL_2B_PARAMS + added_moe
    rest = sum(p.numel() for n, p in model.named_parameters() if not n.startswith("vlm."))
    assert rest == sum(p.numel() for p in model.action_expert.parameters()) + sum(
        p.numel() for p in model.reasoning_following.parameters()
    )
    assert all(p.device.type == "meta" for p in model.parameters())

    layers = model.vlm.model.language_model.layers
    with_moe = [i for i, layer in enumerate(layers) if isinstance(layer.mlp, DynamicMoE)]
    assert with_moe == list(range(14, 28))
    moe = layers[20].mlp
    assert moe.shared.gate_proj.weight.shape == (inter, d)  # the original MLP, full width, kept as the shared path
    assert len(moe.experts) == 8 and moe.top_k == 2
    assert moe.experts[0].up_proj.weight.shape == (expert_width, d)
    assert model.vlm.lm_head.weight is model.vlm.model.language_model.embed_tokens.weight  # tied as in the 2B
