"""The real download code (huggingface_hub.snapshot_download) against a local Hub on 127.0.0.1."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from chatvla2_lite.errors import CheckpointError, CorruptCheckpointError, UnsafeWeightsError
from chatvla2_lite.hub import resolve_checkpoint
from chatvla2_lite.model.policy_chatvla2 import ChatVLA2

REPO = "chatvla2-lite/nano-test"


def folder_files(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


@pytest.mark.slow
def test_first_download_then_cache_hit(fake_hub, nano_checkpoint, obs, nano_policy):
    fake_hub.add_folder(REPO, nano_checkpoint)
    policy = ChatVLA2.from_pretrained(REPO)
    assert fake_hub.count("GET", "/model.safetensors") == 1
    expected = nano_policy.act(obs, "3 + 4 = 7. Pick the card 7.")
    np.testing.assert_allclose(policy.act(obs, "3 + 4 = 7. Pick the card 7."), expected, atol=1e-5)

    fake_hub.requests.clear()
    ChatVLA2.from_pretrained(REPO)  # second load: the branch is resolved, nothing is downloaded again
    assert fake_hub.count("GET", "/revision/main") == 1
    assert fake_hub.count("GET", "/resolve/") == 0


def test_revision_pin_loads_the_old_weights(fake_hub, nano_checkpoint, tmp_path):
    old = fake_hub.add_folder(REPO, nano_checkpoint)
    files = folder_files(nano_checkpoint)
    tensors = load_file(nano_checkpoint / "model.safetensors")
    tensors["action_normalizer.mean"] = torch.full((6,), 0.25)
    save_file(tensors, tmp_path / "new.safetensors", metadata={"format": "pt"})
    new = fake_hub.add_commit(REPO, {**files, "model.safetensors": (tmp_path / "new.safetensors").read_bytes()})
    assert old != new

    latest = ChatVLA2.from_pretrained(REPO)
    pinned = ChatVLA2.from_pretrained(REPO, revision=old)
    assert torch.allclose(latest.model.action_normalizer.mean, torch.full((6,), 0.25))
    assert torch.equal(pinned.model.action_normalizer.mean, torch.zeros(6))
    with pytest.raises(CheckpointError, match="revision"):
        resolve_checkpoint(REPO, revision="no-such-branch")


def test_offline_mode_uses_the_cache_and_never_the_network(fake_hub, nano_checkpoint, monkeypatch):
    fake_hub.add_folder(REPO, nano_checkpoint)
    online = resolve_checkpoint(REPO)
    fake_hub.requests.clear()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert resolve_checkpoint(REPO) == online
    assert sum(fake_hub.requests.values()) == 0
    with pytest.raises(CheckpointError, match="HF_HUB_OFFLINE"):
        resolve_checkpoint("chatvla2-lite/never-downloaded")


def test_missing_files_are_clear_errors(fake_hub, nano_checkpoint):
    files = folder_files(nano_checkpoint)
    fake_hub.add_commit("someone/no-config", {k: v for k, v in files.items() if k != "config.json"})
    with pytest.raises(CheckpointError, match="config.json"):
        resolve_checkpoint("someone/no-config")

    fake_hub.add_commit("someone/flaky", files)
    fake_hub.missing_on_server.add(("someone/flaky", "model.safetensors"))
    with pytest.raises(CheckpointError, match="missing on the server"):
        resolve_checkpoint("someone/flaky")

    with pytest.raises(CheckpointError, match="no such model repository"):
        resolve_checkpoint("someone/does-not-exist")


def test_corrupt_safetensors_is_refused_and_evicted(fake_hub, nano_checkpoint):
    files = folder_files(nano_checkpoint)
    good = files["model.safetensors"]
    fake_hub.add_commit(REPO, {**files, "model.safetensors": good[: len(good) // 2]})  # truncated upload
    with pytest.raises(CorruptCheckpointError, match="removed from the cache"):
        ChatVLA2.from_pretrained(REPO)
    cached = list((fake_hub_cache := _cache_root()).rglob("model.safetensors"))
    assert cached == [], f"damaged file left in {fake_hub_cache}"

    fake_hub.add_commit(REPO, files)  # the repo is fixed: the same call now works
    assert ChatVLA2.from_pretrained(REPO).num_parameters() > 0


def test_damaged_download_fails_the_sha256_check(fake_hub, nano_checkpoint, monkeypatch):
    """Bytes that differ from the Hub's sha256 (here: flipped in transit) are caught even if the header parses."""
    files = folder_files(nano_checkpoint)
    sha = fake_hub.add_commit(REPO, files)
    good = files["model.safetensors"]
    flipped = good[:-1] + bytes([good[-1] ^ 0xFF])
    original_send = fake_hub._send

    def send(req, status, body, headers, head):
        if body == good:
            body = flipped  # same length and ETag, different bytes
        original_send(req, status, body, headers, head)

    monkeypatch.setattr(fake_hub, "_send", send)
    with pytest.raises(CorruptCheckpointError, match="sha256"):
        resolve_checkpoint(REPO, revision=sha)
    assert list(_cache_root().rglob("model.safetensors")) == []


def test_pickle_only_repo_is_refused(fake_hub, nano_checkpoint):
    files = folder_files(nano_checkpoint)
    files.pop("model.safetensors")
    files["pytorch_model.bin"] = b"\x80\x04pickled-bytes-that-must-never-be-loaded"
    fake_hub.add_commit("someone/pickles", files)
    with pytest.raises(UnsafeWeightsError, match="pickled weights.*pytorch_model.bin"):
        ChatVLA2.from_pretrained("someone/pickles")
    assert fake_hub.count("GET", "pytorch_model.bin") == 0  # never even downloaded


def test_local_pickle_only_folder_is_refused(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x04")
    with pytest.raises(UnsafeWeightsError):
        resolve_checkpoint(tmp_path)


def _cache_root():
    import os
    from pathlib import Path

    return Path(os.environ["HF_HUB_CACHE"])


@pytest.mark.parametrize("quantization", [None, "4bit"])
def test_bare_qwen2_vl_repo_becomes_a_chatvla2(fake_hub, tmp_path, obs, quantization):
    """A backbone-only repo (as Qwen2-VL-2B-Instruct on the Hub) gets fresh MoE and action expert around it."""
    from transformers import Qwen2VLForConditionalGeneration

    from chatvla2_lite.model.configuration_chatvla2 import nano_config
    from chatvla2_lite.model.processing_chatvla2 import ChatVLA2Processor

    torch.manual_seed(0)
    backbone = Qwen2VLForConditionalGeneration(nano_config().vlm_config)
    backbone.save_pretrained(tmp_path / "qwen")
    processor = ChatVLA2Processor.nano()
    processor.tokenizer.save_pretrained(tmp_path / "qwen")
    processor.image_processor.save_pretrained(tmp_path / "qwen")
    fake_hub.add_folder("someone/tiny-qwen2-vl", tmp_path / "qwen")

    policy = ChatVLA2.from_pretrained("someone/tiny-qwen2-vl", quantization=quantization)
    assert policy.config.moe_layers == [2, 3]
    embed = policy.model.vlm.model.language_model.embed_tokens.weight
    assert torch.equal(embed, backbone.model.language_model.embed_tokens.weight)
    if quantization is None:
        shared = policy.model.vlm.model.language_model.layers[3].mlp.shared.up_proj.weight
        assert torch.equal(shared, backbone.model.language_model.layers[3].mlp.up_proj.weight)
    assert policy.act(obs, "3 + 4 = 7").shape == (16, 6)
