"""`bench digits`: crops about each card in view, read through the frozen vision tower by a fitted linear head."""

import json
import subprocess
import sys

import numpy as np

from experiments.tower_digits import CROP, card_crops, linear_read
from sim.textures import CARD_RGB


def test_a_crop_is_centred_on_each_card_in_view_and_the_hidden_card_is_left_out():
    # heldout seed 20,001 (tests/sim/test_card_visibility.py): the gripper hides card 5 of 0, 4, 5, 7 and 8
    crops, digits = card_crops("heldout", 20_001, 1, progress=False)
    assert crops.shape == (4, CROP, CROP, 3) and crops.dtype == np.uint8
    assert sorted(digits) == [0, 4, 7, 8]
    middle = (
        crops[:, CROP // 2 - 2 : CROP // 2 + 2, CROP // 2 - 2 : CROP // 2 + 2].reshape(4, -1, 3).astype(int).sum(-1)
    )
    corner = crops[:, :3, :3].reshape(4, -1, 3).astype(int).sum(-1)
    # the middle shows the card's lit face and its ink; a card is 13 px, so a corner of the crop is mostly table
    assert (middle.max(1) > 0.8 * sum(CARD_RGB)).all() and (middle.min(1) < 3 * 60).all()
    assert (np.median(corner, axis=1) < 0.8 * sum(CARD_RGB)).sum() >= 3


def test_the_linear_read_finds_a_digit_written_in_the_features_and_not_one_that_is_not():
    import torch

    rng = np.random.default_rng(0)
    digits = rng.integers(0, 10, 400)
    noise = torch.as_tensor(rng.normal(size=(400, 32)), dtype=torch.float32)
    written = noise.clone()
    written[:, :10] += 5 * torch.nn.functional.one_hot(torch.as_tensor(digits), 10)
    _, read = linear_read(written[:300], digits[:300], written[300:])
    assert (read == digits[300:]).mean() > 0.9
    _, guessed = linear_read(noise[:300], digits[:300], noise[300:])
    assert (guessed == digits[300:]).mean() < 0.3


def test_the_cli_prints_one_json_line_and_refuses_no_scenes():
    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "experiments.tower_digits", *args, "--threads", "1", "--json"],
            capture_output=True,
            text=True,
            timeout=600,
        )

    out = cli("--scenes", "3", "--heldout-scenes", "2")
    assert out.returncode == 0, out.stderr[-2000:]
    scores = json.loads(out.stdout.strip().splitlines()[-1])
    assert scores["cards"] >= 3 and scores["heldout_cards"] >= 2 and scores["world"]["camera_size"] == 224
    assert 0.0 <= scores["heldout_acc"] <= 1.0 and 0.0 <= scores["commonest_digit_acc"] <= 1.0
    refused = cli("--scenes", "0")
    assert refused.returncode != 0 and "--scenes" in refused.stderr and "Traceback" not in refused.stderr
