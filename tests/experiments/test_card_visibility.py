"""The cards the arm hides from the front camera, counted in its body mask (`bench cards`)."""

import json
import subprocess
import sys

import numpy as np

import sim
from experiments.card_visibility import card_pixels, run_card_visibility
from sim.world import World


def test_the_arm_at_home_hides_the_card_behind_the_gripper_and_is_put_back():
    # heldout seed 20,001: the gripper stands in front of card 5 (seen in its front frame), the others lie clear
    env = sim.make_env("math_matching", "heldout", cameras=("front",))
    try:
        _, info = env.reset(seed=20_001)
        before = env.scene.arm.joint_positions(), env.scene.arm.tcp_world()
        pixels = card_pixels(env, info["candidates"])
        np.testing.assert_allclose(env.scene.arm.joint_positions(), before[0], atol=1e-9)
        np.testing.assert_allclose(env.scene.arm.tcp_world(), before[1], atol=1e-9)
        assert env.cameras.body_mask("front").shape == (224, 224)
    finally:
        env.close()
    assert sorted(pixels) == info["candidates"]
    hidden = [d for d, (now, free) in pixels.items() if now < free / 2]
    assert hidden == [5]
    assert all(now == free for d, (now, free) in pixels.items() if d != 5)


def test_a_card_spans_twice_the_pixels_at_twice_the_side():
    small = run_card_visibility(scenes=2, seed=20_000, world=World(224), progress=False)
    large = run_card_visibility(scenes=2, seed=20_000, world=World(448), progress=False)
    assert small["cards"] == large["cards"] > 0
    assert 1.8 < large["card_side_px_median"] / small["card_side_px_median"] < 2.2
    assert small["cards_hidden_by_arm"] == large["cards_hidden_by_arm"]
    assert large["world"] == {"camera_size": 448, "card_layout": "scattered", "points": False, "fonts": "matplotlib"}


def test_the_row_layout_shows_the_same_cards_and_the_arm_hides_none():
    # the row stands at the back of the band, behind the arm's home pose: it hides none of seed 20,001's cards,
    # where the scattered layout puts card 5 behind the gripper
    scattered = run_card_visibility(scenes=1, seed=20_001, progress=False)
    row = run_card_visibility(scenes=1, seed=20_001, world=World(224, "row"), progress=False)
    assert row["cards"] == scattered["cards"] == 5 and row["world"]["card_layout"] == "row"
    assert scattered["cards_hidden_by_arm"] == 1 and row["cards_hidden_by_arm"] == 0


def test_card_visibility_prints_one_json_line():
    out = subprocess.run(
        [sys.executable, "-m", "experiments.card_visibility", "--scenes", "2", "--seed", "20001", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["scenes"] == 2 and result["world"] == {
        "camera_size": 224,
        "card_layout": "scattered",
        "points": False,
        "fonts": "matplotlib",
    }
    assert result["cards_hidden_by_arm"] >= 1 and result["scenes_with_a_hidden_card"] >= 1  # seed 20,001's card 5


def test_card_visibility_refuses_no_scenes_and_a_camera_too_small_with_a_message():
    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "experiments.card_visibility", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )

    out = cli("--scenes", "0")
    assert out.returncode == 2
    assert "--scenes must be at least 1" in out.stderr and "Traceback" not in out.stderr
    out = cli("--camera-size", "56")
    assert out.returncode == 2
    assert "camera size must be a whole number of pixels from 112" in out.stderr and "Traceback" not in out.stderr
