"""push_to_hub through the real upload code (HfApi.create_repo + upload_folder) to the local Hub, and back."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from chatvla2_lite.errors import CheckpointError
from chatvla2_lite.hub import PICKLE_SUFFIXES
from chatvla2_lite.model.policy_chatvla2 import ChatVLA2

REPO = "someone/nano-test"
EXPECTED_FILES = {
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "preprocessor_config.json",
    "processor_config.json",
    "README.md",
}


@pytest.mark.slow
def test_push_then_load_gives_the_same_model(fake_hub, nano_policy, obs, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", fake_hub.write_token)
    url = nano_policy.push_to_hub(REPO)

    repo = fake_hub.repos[REPO]
    sha = repo["refs"]["main"]
    assert url.endswith(f"/{REPO}/commit/{sha}")
    assert len(repo["commits"]) == 2 and repo["messages"][sha] == "Upload ChatVLA2"  # after create_repo's first
    files = fake_hub.files(REPO)
    assert EXPECTED_FILES <= set(files)
    assert not [p for p in files if p.endswith(PICKLE_SUFFIXES)]
    assert files["README.md"].startswith(b"---\n")  # a model card with its YAML metadata
    assert fake_hub.count("PUT", "/lfs-upload/") == 1  # the weights went through LFS, the small files inline

    loaded = ChatVLA2.from_pretrained(REPO)  # the fixture's cache is empty: everything comes from the server
    assert fake_hub.count("GET", f"/{REPO}/resolve/{sha}/model.safetensors") == 1
    expected, got = nano_policy.model.state_dict(), loaded.model.state_dict()
    assert expected.keys() == got.keys()
    assert all(torch.equal(expected[k], got[k]) for k in expected)

    reasoning = nano_policy.reason(obs, max_new_tokens=8)
    again = loaded.reason(obs, max_new_tokens=8)
    assert again.text == reasoning.text
    # equal weights, equal chunks up to float rounding: two model instances may sum in a different order
    np.testing.assert_allclose(loaded.act(obs, again), nano_policy.act(obs, reasoning), rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_pushing_the_same_model_again_makes_no_commit(fake_hub, nano_policy, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", fake_hub.write_token)
    first = nano_policy.push_to_hub(REPO)
    assert nano_policy.push_to_hub(REPO) == first  # the repo exists and every file's oid matches
    assert len(fake_hub.repos[REPO]["commits"]) == 2
    assert fake_hub.count("PUT", "/lfs-upload/") == 1


def test_push_needs_a_write_token(fake_hub, nano_policy, monkeypatch):
    from chatvla2_lite.errors import CheckpointError

    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(CheckpointError, match="HF_TOKEN") as refused:
        nano_policy.push_to_hub(REPO)
    assert "401" in str(refused.value)
    assert REPO not in fake_hub.repos


def test_pushing_a_quantized_model_is_refused_before_any_upload(fake_hub, nano_checkpoint, monkeypatch):
    four_bit = ChatVLA2.from_pretrained(nano_checkpoint, quantization="4bit")
    monkeypatch.setenv("HF_TOKEN", fake_hub.write_token)
    with pytest.raises(CheckpointError, match="quantization=None"):
        four_bit.push_to_hub(REPO)
    assert REPO not in fake_hub.repos and sum(fake_hub.requests.values()) == 0
