"""The action expert's pixel encoder: it reads where a thing lies in a camera, travels in the checkpoint, and trains."""

import dataclasses
import json

import numpy as np
import pytest
import torch

from chatvla2_lite.data.samples import Sample
from chatvla2_lite.errors import InvalidObservationError
from chatvla2_lite.model.pixel_encoder import PixelEncoder, action_pixels


def _spot_image(rng, size=64):
    """A grey image with a red 8-pixel square at a random place; the image and the square's centre in [-1, 1]."""
    image = np.full((size, size, 3), 120, np.uint8)
    row, col = rng.integers(0, size - 8, 2)
    image[row : row + 8, col : col + 8] = (220, 30, 30)
    return image, (np.array([col, row], np.float32) + 4) / size * 2 - 1


def test_action_pixels_resizes_the_named_cameras_in_order_and_refuses_what_it_cannot_read():
    obs = {
        "observation.images.wrist": np.zeros((224, 224, 3), np.uint8),
        "observation.images.front": np.full((64, 64, 3), 7, np.uint8),
    }
    pixels = action_pixels(obs, ["front", "wrist"], 64)
    assert pixels.shape == (2, 64, 64, 3) and pixels.dtype == np.uint8
    assert pixels[0].max() == 7 and pixels[1].max() == 0
    with pytest.raises(InvalidObservationError, match="'side' camera"):
        action_pixels(obs, ["side"], 64)
    with pytest.raises(InvalidObservationError, match="uint8"):
        action_pixels({"observation.images.wrist": np.zeros((64, 64, 3), np.float32)}, ["wrist"], 64)
    with pytest.raises(InvalidObservationError, match="shape \\(64, 64\\)"):
        action_pixels({"observation.images.wrist": np.zeros((64, 64), np.uint8)}, ["wrist"], 64)


def test_the_pixel_encoder_learns_where_a_spot_lies():
    # The reason it exists: a place in the image must survive into its tokens, read as the expert reads them, by
    # attention, which sees a set of tokens, not their order. Chance is an rms error of ~0.55.
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    encoder = PixelEncoder(cameras=1, size=64, dim=32)
    query = torch.nn.Parameter(torch.randn(1, 1, 32) * 0.02)
    attention = torch.nn.MultiheadAttention(32, 4, batch_first=True)
    out = torch.nn.Linear(32, 2)

    def head(tokens):
        return out(attention(query.expand(len(tokens), -1, -1), tokens, tokens, need_weights=False)[0][:, 0])

    params = [*encoder.parameters(), query, *attention.parameters(), *out.parameters()]
    optimizer = torch.optim.AdamW(params, lr=2e-3)

    def batch(n):
        images, places = zip(*(_spot_image(rng) for _ in range(n)))
        return torch.as_tensor(np.stack(images))[:, None], torch.as_tensor(np.stack(places))

    for _ in range(300):
        images, places = batch(32)
        loss = ((head(encoder(images)) - places) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    images, places = batch(200)
    with torch.no_grad():
        rms = ((head(encoder(images)) - places) ** 2).mean().sqrt().item()
    assert rms < 0.2, rms


def test_the_pixel_size_must_tile_into_tokens():
    from chatvla2_lite.model.configuration_chatvla2 import ActionExpertConfig

    with pytest.raises(ValueError, match="multiple of 16"):
        ActionExpertConfig(pixel_cameras=["wrist"], pixel_size=50)


def test_a_refused_pixel_size_leaves_the_expert_as_it_was(policy_with_pixels):
    expert = policy_with_pixels.model.action_expert
    before = (list(expert.config.pixel_cameras), expert.config.pixel_size, expert.pixel_encoder)
    with pytest.raises(ValueError, match="multiple of 16"):
        expert.add_pixel_encoder(["front", "wrist"], 50)
    assert (list(expert.config.pixel_cameras), expert.config.pixel_size, expert.pixel_encoder) == before


@pytest.fixture
def policy_with_pixels():
    from chatvla2_lite.model.policy_chatvla2 import ChatVLA2

    torch.manual_seed(0)
    policy = ChatVLA2.from_config()
    policy.model.action_expert.add_pixel_encoder(["wrist"], 64)
    return policy


def _observation(wrist):
    return {
        "observation.images.front": np.full((112, 112, 3), 90, np.uint8),
        "observation.images.wrist": wrist,
        "observation.state": np.zeros(6, np.float32),
        "task": "Pick up the duck",
    }


def test_a_policy_with_pixels_acts_on_them_and_keeps_them_through_save_and_load(policy_with_pixels, tmp_path):
    from chatvla2_lite.model.policy_chatvla2 import ChatVLA2

    rng = np.random.default_rng(1)
    first, second = (_spot_image(rng, 112)[0] for _ in range(2))
    chunk = policy_with_pixels.act(_observation(first), "I pick the duck.")
    # The same wrist image through the VLM but other pixels to the expert: only the pixel path can tell them apart.
    expert = policy_with_pixels.model.action_expert
    with torch.no_grad():
        expert.pixel_encoder.place.add_(1.0)
    assert not np.allclose(policy_with_pixels.act(_observation(first), "I pick the duck."), chunk)
    with torch.no_grad():
        expert.pixel_encoder.place.sub_(1.0)
    assert not np.allclose(policy_with_pixels.act(_observation(second), "I pick the duck."), chunk)

    policy_with_pixels.save_pretrained(tmp_path / "model")
    loaded = ChatVLA2.from_pretrained(tmp_path / "model")
    assert loaded.config.action_expert.pixels == (["wrist"], 64)
    np.testing.assert_allclose(loaded.act(_observation(first), "I pick the duck."), chunk, atol=1e-5)


def test_cached_features_carry_the_pixels_and_give_the_full_forwards_loss(policy_with_pixels):
    from chatvla2_lite.training.samples import encode_batch
    from chatvla2_lite.training.streams import feature_samples
    from chatvla2_lite.training.trainer import fit_action_normalizers

    rng = np.random.default_rng(2)
    samples = []
    for _ in range(3):
        wrist, place = _spot_image(rng, 112)
        obs = _observation(wrist)
        samples.append(Sample(obs, obs["task"], "I pick the duck.", np.tile(place[None, [0, 1, 0, 1, 0, 1]], (16, 1))))
    fit_action_normalizers(policy_with_pixels, samples)
    model = policy_with_pixels.model.eval()
    pixels = policy_with_pixels.config.action_expert.pixels
    full = model(
        encode_batch(policy_with_pixels.processor, samples, pixels=pixels), generator=torch.Generator().manual_seed(0)
    )
    cached = feature_samples(model, policy_with_pixels.processor, samples)
    assert cached[0].features["pixels"].shape == (1, 64, 64, 3)
    from_features = model(
        encode_batch(policy_with_pixels.processor, cached, pixels=pixels), generator=torch.Generator().manual_seed(0)
    )
    torch.testing.assert_close(from_features.action_loss, full.action_loss, rtol=2e-3, atol=2e-3)  # float16 storage
    with pytest.raises(ValueError, match="pixels of \\['wrist'\\]"):  # an expert with eyes refuses a batch without
        model(encode_batch(policy_with_pixels.processor, samples))


def test_train_gives_pixels_only_to_a_stage_that_trains_the_expert_and_only_from_known_cameras(tmp_path):
    from chatvla2_lite.training.recipe import load_recipe
    from chatvla2_lite.training.run import build_policy

    with pytest.raises(ValueError, match="does not train the action expert"):
        load_recipe("chatvla2", ['r01/vlm.pixel_cameras=["wrist"]'])
    recipe = load_recipe("chatvla2", ['r01/action.pixel_cameras=["side"]'])
    with pytest.raises(ValueError, match="no camera \\['side'\\]"):
        build_policy(recipe, dataclasses.replace(recipe.run("r01/action"), init=None), tmp_path)


@pytest.mark.slow
def test_the_action_stage_trains_the_pixel_encoder_and_leaves_the_backbone(policy_with_pixels, tmp_path):
    from chatvla2_lite.training.stage import stage_config
    from chatvla2_lite.training.streams import _served_every_epoch, feature_samples
    from chatvla2_lite.training.trainer import fit_action_normalizers, train_stage

    rng = np.random.default_rng(3)
    samples = []
    for _ in range(48):  # the action is where the spot lies in the wrist camera
        wrist, place = _spot_image(rng, 112)
        obs = _observation(wrist)
        samples.append(Sample(obs, obs["task"], "I pick the duck.", np.tile(place[None, [0, 1, 0, 1, 0, 1]], (16, 1))))
    fit_action_normalizers(policy_with_pixels, samples)
    items = feature_samples(policy_with_pixels.model.eval(), policy_with_pixels.processor, samples)
    encoder = {
        n: p.detach().clone() for n, p in policy_with_pixels.model.action_expert.pixel_encoder.named_parameters()
    }
    vlm = {n: p.detach().clone() for n, p in policy_with_pixels.model.vlm.named_parameters()}
    stage = stage_config("action", steps=40, batch_size=16, warmup_steps=2, log_every=5)
    train_stage(policy_with_pixels, stage, _served_every_epoch(items, lambda s: s, 0), tmp_path, progress=False)
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["action_loss"] < rows[0]["action_loss"]
    model = policy_with_pixels.model
    assert all(not torch.equal(encoder[n], p) for n, p in model.action_expert.pixel_encoder.named_parameters())
    assert all(torch.equal(vlm[n], p) for n, p in model.vlm.named_parameters())
