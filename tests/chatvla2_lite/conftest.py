"""Shared fixtures: a nano policy with random weights, sim-shaped observations, and a local fake Hub."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from chatvla2_lite.evaluation.bench_model import synthetic_observation

sys.path.insert(0, str(Path(__file__).parent))  # hub_server.py sits beside the tests

from hub_server import FakeHub  # noqa: E402

# The CI box's 2 cores are shared with other suites; an OpenMP pool per core then spins against them and a
# 0.2 s call can take a minute. One intra-op thread keeps these tests' time predictable.
torch.set_num_threads(1)


# the benchmark's noise observation: sim-shaped, seeded
make_observation = synthetic_observation


@pytest.fixture
def obs() -> dict:
    return make_observation()


@pytest.fixture(scope="session")
def observation_maker():
    """make_observation itself, for tests that need more than one observation (test files cannot import a
    conftest: every test folder has one, and Python keeps only the first module named `conftest`)."""
    return make_observation


@pytest.fixture(scope="session")
def nano_policy():
    from chatvla2_lite.model.policy_chatvla2 import ChatVLA2

    return ChatVLA2.from_config(seed=0)


@pytest.fixture(scope="session")
def nano_checkpoint(nano_policy, tmp_path_factory) -> Path:
    """The random nano policy saved as a Hub-layout folder (config.json, model.safetensors, tokenizer, card)."""
    return nano_policy.save_pretrained(tmp_path_factory.mktemp("nano") / "chatvla2-nano")


@pytest.fixture
def fake_hub(monkeypatch, tmp_path):
    """A running FakeHub with HF_ENDPOINT pointing at it, an empty Hugging Face cache and Xet uploads off."""
    hub = FakeHub().start()
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    # With hf_xet installed, huggingface_hub 2.4 uploads to a Xet storage server the fake Hub does not have; the
    # client decides this alone (no server fallback), from HF_HUB_DISABLE_XET as read at import. Turn it off both ways.
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_DISABLE_XET", True)
    yield hub
    hub.stop()
