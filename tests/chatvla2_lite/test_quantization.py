"""Real bitsandbytes 4-bit (nf4, double quantization) and 8-bit on the CPU, and clear errors when it cannot run."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from chatvla2_lite.errors import CheckpointError, QuantizationUnavailableError
from chatvla2_lite.model.policy_chatvla2 import ChatVLA2
from chatvla2_lite.quantization import normalize_quantization


@pytest.fixture(scope="module")
def four_bit(nano_checkpoint) -> ChatVLA2:
    return ChatVLA2.from_pretrained(nano_checkpoint, quantization="4bit")


def test_4bit_quantizes_the_backbone_linears_only(four_bit, nano_policy):
    import bitsandbytes as bnb

    model = four_bit.model
    layer = model.vlm.model.language_model.layers[3]
    assert isinstance(layer.self_attn.q_proj, bnb.nn.Linear4bit)
    assert isinstance(layer.mlp.shared.up_proj, bnb.nn.Linear4bit)
    assert isinstance(model.vlm.model.visual.blocks[0].mlp.fc1, bnb.nn.Linear4bit)
    state = layer.self_attn.q_proj.weight.quant_state
    assert state.quant_type == "nf4" and state.nested  # double quantization
    assert not isinstance(layer.mlp.router, bnb.nn.Linear4bit)
    assert not any(isinstance(m, bnb.nn.Linear4bit) for m in model.action_expert.modules())
    assert model.action_expert.action_in.weight.dtype == torch.float32
    assert four_bit.get_memory_footprint() < 0.6 * nano_policy.get_memory_footprint()


def test_4bit_model_reasons_and_acts(four_bit, obs):
    reasoning = four_bit.reason(obs, max_new_tokens=8)
    chunk = four_bit.act(obs, reasoning)
    assert chunk.shape == (16, 6) and np.isfinite(chunk).all()
    assert np.abs(four_bit.act(obs, "3 + 4 = 8") - four_bit.act(obs, "3 + 4 = 7")).max() > 1e-3


def test_4bit_logits_stay_close_to_full_precision(four_bit, nano_policy, obs):
    batch = nano_policy.processor(obs, obs["task"])
    keys = ("input_ids", "attention_mask", "mm_token_type_ids", "pixel_values", "image_grid_thw")
    with torch.no_grad():
        full = nano_policy.model.vlm(**{k: batch[k] for k in keys}).logits
        quant = four_bit.model.vlm(**{k: batch[k] for k in keys}).logits
    assert not torch.equal(full, quant)  # really quantized
    cos = torch.nn.functional.cosine_similarity(full.flatten(), quant.flatten(), dim=0)
    assert cos > 0.9


def test_saving_a_quantized_model_is_refused(four_bit, tmp_path):
    with pytest.raises(CheckpointError, match="quantization=None"):
        four_bit.save_pretrained(tmp_path)


@pytest.mark.slow
def test_8bit_loads_and_acts(nano_checkpoint, obs):
    import bitsandbytes as bnb

    policy = ChatVLA2.from_pretrained(nano_checkpoint, quantization="8bit")
    assert isinstance(policy.model.vlm.model.language_model.layers[0].mlp.up_proj, bnb.nn.Linear8bitLt)
    assert policy.act(obs, "3 + 4 = 7").shape == (16, 6)


def test_missing_bitsandbytes_is_a_clear_error(nano_checkpoint, monkeypatch):
    monkeypatch.setitem(sys.modules, "bitsandbytes", None)  # `import bitsandbytes` now raises ImportError
    with pytest.raises(QuantizationUnavailableError, match="pip install bitsandbytes.*quantization=None"):
        ChatVLA2.from_pretrained(nano_checkpoint, quantization="4bit")


def test_missing_bitsandbytes_fails_before_downloading(fake_hub, nano_checkpoint, monkeypatch):
    fake_hub.add_folder("someone/nano-test", nano_checkpoint)
    monkeypatch.setitem(sys.modules, "bitsandbytes", None)
    with pytest.raises(QuantizationUnavailableError, match="pip install bitsandbytes"):
        ChatVLA2.from_pretrained("someone/nano-test", quantization="8bit")
    assert sum(fake_hub.requests.values()) == 0


def test_bitsandbytes_without_cpu_kernels_is_a_clear_error(monkeypatch):
    import importlib.metadata

    from chatvla2_lite.quantization import check_bitsandbytes

    monkeypatch.setattr(importlib.metadata, "version", lambda name: "0.45.5")  # older than MIN_BITSANDBYTES_CPU
    with pytest.raises(QuantizationUnavailableError, match=r"pip install 'bitsandbytes>=0.48'.*quantization=None"):
        check_bitsandbytes("4bit", "cpu")
    check_bitsandbytes("4bit", "cuda")  # CUDA kernels exist in old releases too


def test_quantization_names(nano_checkpoint):
    assert normalize_quantization("nf4") == "4bit" and normalize_quantization("none") is None
    assert normalize_quantization("INT8") == "8bit"
    with pytest.raises(QuantizationUnavailableError, match="'4bit' .*'8bit' .*or none"):
        normalize_quantization("3bit")
    with pytest.raises(QuantizationUnavailableError, match="unknown quantization 'fp4'"):
        ChatVLA2.from_pretrained(nano_checkpoint, quantization="fp4")
