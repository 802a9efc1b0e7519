"""`eval --aim` tells a policy that steers over the object it hovers beside from one that comes straight down."""

import json
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from experiments.aim import aim_scores
from sim.scripted import expert_label, hover_beside
from sim.world import World


class RestartingPolicy:
    """Rebuilds the episode in its own sim, puts the arm where the observation says, and plays a restarted scripted
    expert's chunk (an oracle that steers); or holds the arm where it is (comes straight down, at best)."""

    def __init__(self, task: str, steers: bool):
        import sim

        self.env = sim.make_env(task, "heldout", cameras=("front",))
        self.steers = steers
        self.processor = SimpleNamespace(camera_names=["front"], world=World())

    def reset(self):
        pass

    def act(self, observation, reasoning, seed=0):
        state = observation["observation.state"]
        if not self.steers:
            return np.tile(state, (16, 1))
        self.env.reset(seed=seed)
        self.env.scene.arm.reset(state)
        return expert_label(self.env, 16)


@pytest.mark.parametrize("steers", [True, False])
def test_aim_scores_a_restarted_expert_near_one_and_a_still_arm_zero(steers):
    policy = RestartingPolicy("toy_placement", steers)
    scores = aim_scores(policy, "toy_placement", episodes=6, progress=False)
    assert min(scores["expert_aim_slope"]) > 0.9 and max(scores["expert_left_m"]) < 0.005
    assert min(scores["offset_rms_m"]) > 0.01  # the arm really hovers beside the object
    if steers:
        assert min(scores["aim_slope"]) > 0.9 and max(scores["left_m"]) < 0.005
    else:
        assert max(abs(s) for s in scores["aim_slope"]) < 1e-6
        assert scores["left_m"] == scores["offset_rms_m"]


def test_hover_beside_puts_the_tool_at_the_offset_from_the_object():
    import sim

    env = sim.make_env("math_matching", "heldout", cameras=("front",))
    try:
        obs, info = hover_beside(env, 10_000, (0.02, -0.01))
        tool = env.scene.arm.fk_world(obs["observation.state"])
        card = env.scene.pose(env.scene.bodies[env.episode.pick])[0]
        np.testing.assert_allclose(card[:2] - tool[:2], (-0.02, 0.01), atol=0.003)
        assert tool[2] > card[2] + 0.03 and info["instruction"]  # above it, not on it
    finally:
        env.close()


def test_aim_needs_three_scenes_to_fit_a_slope():
    with pytest.raises(ValueError, match="at least 3"):
        aim_scores(RestartingPolicy("toy_placement", False), "toy_placement", episodes=2, progress=False)


def experiment(name: str, *args: str, check: bool = False) -> subprocess.CompletedProcess:
    """`python -m experiments.NAME ARGS` in a subprocess, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", f"experiments.{name}", *args], capture_output=True, text=True, timeout=300, check=check
    )


def last_json(run: subprocess.CompletedProcess) -> dict:
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_the_aim_experiment_prints_one_json_line():
    result = last_json(experiment("aim", "--task", "toy_placement", "--episodes", "3", "--json", check=True))
    assert result["episodes"] == 3 and len(result["aim_slope"]) == 2 and min(result["expert_aim_slope"]) > 0.9
    bad = experiment("aim", "--task", "toy_placement", "--episodes", "2")
    assert bad.returncode == 2 and "at least 3" in bad.stderr and "Traceback" not in bad.stderr


def test_the_wrong_card_experiment_prints_one_json_line_where_the_expert_goes_to_the_answer_card():
    result = last_json(experiment("wrong_card", "--episodes", "2", "--json", check=True))
    assert result["task"] == "math_matching" and result["episodes"] == 2
    assert -2 < result["mean_gain"] < 2 and result["expert_mean_gain"] > 0.8


def test_the_place_experiment_prints_one_json_line_where_the_expert_goes_on_down():
    result = last_json(experiment("place_probe", "--episodes", "2", "--json", check=True))
    assert result["task"] == "toy_placement" and result["offsets_m"] == [0.0, 0.02] and min(result["looks"]) >= 1
    assert result["expert_rise_rate"] == [0.0, 0.0] and all(0 <= r <= 1 for r in result["rise_rate"])
