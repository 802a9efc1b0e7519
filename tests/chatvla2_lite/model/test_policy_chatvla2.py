"""ChatVLA2's inference API on the nano config: reason (streamed), act (edited reasoning), select_action, save/load."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from chatvla2_lite.errors import CheckpointError, InvalidInstructionError, InvalidObservationError
from chatvla2_lite.model.policy_chatvla2 import ChatVLA2, Reasoning
from chatvla2_lite.model.processing_chatvla2 import collate


@pytest.fixture(scope="module")
def reasoning(nano_policy, observation_maker) -> Reasoning:
    return nano_policy.reason(observation_maker(), max_new_tokens=16)


def test_reason_streams_token_by_token(nano_policy, obs, reasoning):
    pieces: list[str] = []
    again = nano_policy.reason(obs, streamer=pieces.append, max_new_tokens=16)
    assert again.text == reasoning.text  # greedy: deterministic
    assert 1 <= len(pieces) <= 16 and "".join(pieces).strip() == again.text
    assert again.instruction == obs["task"]


def test_reason_returns_router_choices_per_token(nano_policy, reasoning):
    layers = nano_policy.config.moe_layers
    assert sorted(reasoning.routing) == layers == [2, 3]
    n = len(reasoning.tokens)
    for choice in reasoning.routing.values():
        assert choice["experts"].shape == (n, 2) and choice["weights"].shape == (n, 2)
        assert ((0 <= choice["experts"]) & (choice["experts"] < 8)).all()
        np.testing.assert_allclose(choice["weights"].sum(-1), 1.0, rtol=1e-5)
    assert reasoning.encoding.hidden.shape == (1, n, 128)


def test_act_returns_a_chunk_and_follows_the_reasoning(nano_policy, obs, reasoning):
    chunk = nano_policy.act(obs, reasoning)
    assert chunk.shape == (16, 6) and chunk.dtype == np.float32 and np.isfinite(chunk).all()
    np.testing.assert_allclose(nano_policy.act(obs, reasoning.text), chunk, atol=1e-5)  # text == object
    np.testing.assert_array_equal(nano_policy.act(obs, reasoning), chunk)  # same seed, same chunk
    edited = nano_policy.act(obs, "3 + 4 = 8. Pick the card 8.")
    assert np.abs(edited - chunk).max() > 1e-3  # editing the reasoning changes the action
    moved = {**obs, "observation.state": obs["observation.state"] + 0.3}
    assert np.abs(nano_policy.act(moved, reasoning) - chunk).max() > 1e-3  # so does the robot state


def test_act_reencodes_when_the_observation_changed(nano_policy, obs, reasoning, observation_maker):
    other = observation_maker(seed=5)
    stale = nano_policy.act(other, reasoning)
    fresh = nano_policy.act(other, reasoning.text, instruction=reasoning.instruction)
    np.testing.assert_allclose(stale, fresh, atol=1e-5)


@pytest.mark.parametrize(("cadence", "reasonings"), [("once", 1), ("every_chunk", 2)])
def test_select_action_plays_the_chunk_then_decides_the_next_reasoning_as_its_cadence_says(
    nano_policy, obs, monkeypatch, cadence, reasonings
):
    calls = []
    reason = nano_policy.reason
    monkeypatch.setattr(nano_policy, "reason", lambda *a, **k: calls.append(1) or reason(*a, **k))
    nano_policy.cadence = cadence
    nano_policy.reset()
    first = nano_policy.select_action(obs)
    assert first.shape == (6,)
    assert len(nano_policy._queue) == nano_policy.config.action_expert.chunk_size - 1
    for _ in range(15):
        nano_policy.select_action(obs)
    assert len(nano_policy._queue) == 0
    nano_policy.select_action(obs)
    assert len(nano_policy._queue) == 15 and len(calls) == reasonings
    nano_policy.cadence = "once"
    nano_policy.reset()


def test_wrapping_keeps_the_backbone_function_intact(nano_policy, obs):
    """A fresh dynamic MoE adds nothing: logits equal the bare Qwen2-VL's with the same weights."""
    from transformers import Qwen2VLForConditionalGeneration

    model = nano_policy.model
    bare = Qwen2VLForConditionalGeneration(model.config.vlm_config).eval()
    state = {
        k.replace("mlp.shared.", "mlp."): v
        for k, v in model.vlm.state_dict().items()
        if ".router." not in k and ".experts." not in k
    }
    bare.load_state_dict(state)
    batch = nano_policy.processor(obs, obs["task"])
    keys = ("input_ids", "attention_mask", "mm_token_type_ids", "pixel_values", "image_grid_thw")
    with torch.no_grad():
        ours = model.vlm(**{k: batch[k] for k in keys}).logits
        theirs = bare(**{k: batch[k] for k in keys}).logits
    torch.testing.assert_close(ours, theirs)


def test_training_forward_gives_all_losses_and_gradients(nano_policy, obs):
    p = nano_policy.processor
    batch = collate([p(obs, "pick the 7", reasoning="3 + 4 = 7"), p(obs, "pick 8", reasoning="8")], p.pad_token_id)
    batch["observation.state"] = torch.zeros(2, 6)
    batch["action"] = torch.randn(2, 16, 6, generator=torch.Generator().manual_seed(0))
    model = nano_policy.model
    out = model(batch, generator=torch.Generator().manual_seed(0))
    assert all(torch.isfinite(t) and t > 0 for t in (out.loss, out.lm_loss, out.action_loss, out.aux_loss))
    out.loss.backward()
    assert model.reasoning_following.fc1.weight.grad.abs().sum() > 0
    assert model.vlm.model.language_model.layers[3].mlp.router.weight.grad.abs().sum() > 0
    model.zero_grad(set_to_none=True)


def test_save_and_load_round_trip(nano_policy, nano_checkpoint, obs, reasoning):
    names = {p.name for p in nano_checkpoint.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "preprocessor_config.json", "README.md"} <= names
    assert json.loads((nano_checkpoint / "config.json").read_text())["model_type"] == "chatvla2"
    card = (nano_checkpoint / "README.md").read_text()
    assert card.startswith("---\n") and "pipeline_tag: robotics" in card and "$" not in card.split("```")[0]
    loaded = ChatVLA2.from_pretrained(nano_checkpoint)
    np.testing.assert_allclose(loaded.act(obs, reasoning.text), nano_policy.act(obs, reasoning.text), atol=1e-5)


def test_a_checkpoint_saved_before_the_place_embeddings_loads_and_acts_as_it_did(tmp_path, obs):
    from safetensors.torch import load_file, save_file

    policy = ChatVLA2.from_config(seed=2)
    folder = policy.save_pretrained(tmp_path / "m")
    weights = load_file(folder / "model.safetensors")
    old = {k: v for k, v in weights.items() if ".obs_view." not in k and ".obs_row." not in k and ".obs_col." not in k}
    assert len(old) == len(weights) - 3
    save_file(old, folder / "model.safetensors", metadata={"format": "pt"})
    loaded = ChatVLA2.from_pretrained(folder)
    expert = loaded.model.action_expert
    assert all(torch.count_nonzero(t.weight) == 0 for t in (expert.obs_view, expert.obs_row, expert.obs_col))
    np.testing.assert_allclose(loaded.act(obs, "go"), policy.act(obs, "go"), atol=1e-5)


def test_normalization_stats_travel_in_the_checkpoint(tmp_path, obs):
    policy = ChatVLA2.from_config(seed=1)
    policy.model.action_normalizer.set_stats(torch.full((6,), 1.5), torch.full((6,), 0.01))
    folder = policy.save_pretrained(tmp_path / "m")
    chunk = ChatVLA2.from_pretrained(folder).act(obs, "go")
    assert np.abs(chunk - 1.5).max() < 0.2  # tiny std around a 1.5 rad mean


@pytest.mark.parametrize(
    "change, error, message",
    [
        ({"observation.state": np.zeros(5)}, InvalidObservationError, "6 finite floats"),
        ({"observation.state": np.array([np.nan] * 6)}, InvalidObservationError, "finite"),
        ({"observation.images.front": np.zeros((224, 224, 3), np.float64)}, InvalidObservationError, "uint8"),
        ({"task": ""}, InvalidInstructionError, "empty"),
        ({"task": "x" * 5000}, InvalidInstructionError, "shorten"),
    ],
)
def test_bad_input_is_a_clear_error(nano_policy, obs, change, error, message):
    nano_policy.reset()  # an episode's first look, where the policy reasons on the instruction
    with pytest.raises(error, match=message):
        nano_policy.select_action({**obs, **change})


def test_missing_state_and_unsupported_checkpoints(nano_policy, obs, tmp_path):
    with pytest.raises(InvalidObservationError, match="observation.state"):
        nano_policy.act({k: v for k, v in obs.items() if k != "observation.state"}, "go")
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(1)}, tmp_path / "model.safetensors")
    with pytest.raises(CheckpointError, match="llama"):
        ChatVLA2.from_pretrained(tmp_path)


def test_qwen2_5_vl_backbone_reasons_acts_and_round_trips(tmp_path, observation_maker):
    """The same wrapper serves the Qwen2.5-VL family: a tiny one from a config, saved and loaded back."""
    from chatvla2_lite.model.configuration_chatvla2 import nano_config, nano_vlm_config
    from chatvla2_lite.model.policy_chatvla2 import ChatVLA2
    from chatvla2_lite.model.tokenizer_nano import NANO_SPECIAL_TOKENS, nano_vocab

    vocab = nano_vocab()
    vlm = nano_vlm_config(len(vocab), {t: vocab[t] for t in NANO_SPECIAL_TOKENS})
    vlm["model_type"] = "qwen2_5_vl"
    vlm["vision_config"] = {
        "depth": 2,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_heads": 4,
        "out_hidden_size": 128,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "window_size": 56,
        "fullatt_block_indexes": [1],
    }
    policy = ChatVLA2.from_config(nano_config(vlm_config=vlm))
    assert type(policy.model.vlm).__name__ == "Qwen2_5_VLForConditionalGeneration"
    observation = observation_maker(seed=3)
    reasoning = policy.reason(observation, max_new_tokens=6)
    chunk = policy.act(observation, reasoning)
    assert chunk.shape == (16, 6) and np.isfinite(chunk).all()
    policy.save_pretrained(tmp_path)
    again = ChatVLA2.from_pretrained(tmp_path)
    assert type(again.model.vlm).__name__ == "Qwen2_5_VLForConditionalGeneration"
    assert again.reason(observation, max_new_tokens=6).text == reasoning.text
    # same weights, to the last bit; the CPU kernels may still round one place differently between two instances
    np.testing.assert_allclose(
        again.act(observation, reasoning.text), policy.act(observation, reasoning.text), atol=1e-6
    )


def test_from_pretrained_without_a_name_loads_the_nano_checkpoint(
    nano_policy, nano_checkpoint, obs, reasoning, monkeypatch, tmp_path
):
    from chatvla2_lite import hub

    monkeypatch.setattr(hub, "NANO_CHECKPOINT", tmp_path / "not-shipped")
    with pytest.raises(CheckpointError, match="make nano"):
        ChatVLA2.from_pretrained()
    monkeypatch.setattr(hub, "NANO_CHECKPOINT", nano_checkpoint)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # read from disk: no network
    loaded = ChatVLA2.from_pretrained()
    np.testing.assert_allclose(loaded.act(obs, reasoning.text), nano_policy.act(obs, reasoning.text), atol=1e-5)


def test_a_policy_with_the_geometric_channel_acts_where_its_text_points_and_round_trips(tmp_path, obs):
    from chatvla2_lite.training.run import sim_geometry
    from sim.kinematics import joint_limits
    from sim.world import World

    policy = ChatVLA2.from_config(seed=3)
    policy.model.action_expert.add_geometry(sim_geometry(World(points=True)))
    with torch.no_grad():  # a head that leans on the object anchor, as a trained one does
        policy.model.action_expert.geometry.head.bias[1] = 4.0
    text = (
        "The board says 3 + 4 = ?. 3 + 4 = 7. I pick the card 7 at (412, 655). I place it in the tray, at (391, 842)."
    )
    chunk = policy.act(obs, text)
    lower, upper = joint_limits()
    assert chunk.shape == (16, 6) and np.isfinite(chunk).all()
    assert (chunk >= lower - 1e-6).all() and (chunk <= upper + 1e-6).all()
    edited = policy.act(obs, text.replace("(412, 655)", "(600, 600)"))
    assert np.abs(edited[:, 0] - chunk[:, 0]).max() > 0.05  # the pan turns to the edited point
    folder = policy.save_pretrained(tmp_path / "m")
    assert json.loads((folder / "config.json").read_text())["action_expert"]["geometry"]["place_z"] == 0.0
    np.testing.assert_allclose(ChatVLA2.from_pretrained(folder).act(obs, text), chunk, atol=1e-4)
    quantized = ChatVLA2.from_pretrained(folder, quantization="4bit")
    assert quantized.act(obs, text).shape == (16, 6)
