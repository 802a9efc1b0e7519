"""The robot stream: random chunk starts on every stride-th frame, each with that frame's image, state and actions."""

from itertools import islice

import numpy as np

from chatvla2_lite.data.lerobot_dataset import LeRobotV3Writer
from chatvla2_lite.training.streams import robot_stream


def _numbered_demo(root, n: int) -> None:
    """One demo of n frames whose frame t has state t, action t + 0.5 and an image of value 10 t."""
    writer = LeRobotV3Writer(root, {"front": (32, 32)}, use_videos=False)
    frame_ids = np.arange(n, dtype=np.float32)
    clip = np.repeat((frame_ids * 10).astype(np.uint8)[:, None, None, None], 32 * 32 * 3).reshape(n, 32, 32, 3)
    state = np.tile(frame_ids[:, None], (1, 6))
    writer.add_episode(
        state, state + 0.5, {"front": clip}, task="pick", extra={"instruction": "pick", "reasoning": "r"}
    )
    writer.finish()


def test_each_sample_pairs_a_frame_with_its_own_image_state_and_next_actions(tmp_path):
    n = 20
    _numbered_demo(tmp_path / "demos", n)
    starts = set()
    for sample in islice(robot_stream([tmp_path / "demos"], chunk=4, seed=0, stride=3), 40):
        t = int(sample.observation["observation.state"][0])
        starts.add(t)
        assert t % 3 == 0
        assert (sample.observation["observation.images.front"] == t * 10).all()
        assert np.array_equal(sample.action[:, 0], np.minimum(np.arange(t, t + 4), n - 1) + 0.5)
    assert starts == set(range(0, n, 3))


def test_renamed_samples_change_the_toys_name_in_instruction_and_reasoning_alike(tmp_path):
    from chatvla2_lite.data.reasoning_targets import parse_toy_reasoning
    from sim.tasks.phrasing import parse_instruction

    writer = LeRobotV3Writer(tmp_path / "demos", {"front": (32, 32)}, use_videos=False)
    instruction = "Pick the red cube and place it to the left of the blue duck"
    reasoning = "The red cube is at the front left. I place it to the left of the blue duck."
    state = np.zeros((6, 6), np.float32)
    writer.add_episode(
        state,
        state,
        {"front": np.zeros((6, 32, 32, 3), np.uint8)},
        task=instruction,
        extra={"instruction": instruction, "reasoning": reasoning},
    )
    writer.finish()
    samples = list(islice(robot_stream([tmp_path / "demos"], chunk=4, seed=0, rename=0.5), 200))
    renamed = [s for s in samples if s.target != reasoning]
    assert 60 < len(renamed) < 140
    for s in renamed:
        obj, _, target = parse_toy_reasoning(s.target)
        slots = parse_instruction(s.instruction)
        assert (slots["object"], slots["target"]) == (obj, target) and obj != "red cube"


def test_a_cached_stream_with_nothing_to_read_says_so_and_leaves_the_model_as_it_was():
    import pytest
    import torch

    from chatvla2_lite.training.streams import _read_once

    model = torch.nn.Linear(2, 2).train()
    stream = _read_once(model, None, iter([]), 0, "features", 4, 0, False, "the policy left no look to correct")
    with pytest.raises(ValueError, match="no look to correct"):
        next(stream)
    assert model.training  # put back in training mode before the error


def test_the_frames_read_once_for_the_frozen_backbone_are_every_stride_th_frame_with_its_own_image(tmp_path):
    from chatvla2_lite.training.streams import robot_frame_samples

    _numbered_demo(tmp_path / "demos", 10)
    samples = list(robot_frame_samples([tmp_path / "demos"], chunk=4, stride=3))
    assert [int(s.observation["observation.state"][0]) for s in samples] == [0, 3, 6, 9]
    for s in samples:  # kept packed while loaded, handed out as pixels
        image = s.observation["observation.images.front"]
        assert image.dtype == np.uint8 and (image == 10 * int(s.observation["observation.state"][0])).all()
