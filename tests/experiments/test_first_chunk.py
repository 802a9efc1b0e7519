"""`eval --first-chunk` tells a policy that reads the scene from one that plays the same chunk everywhere."""

from types import SimpleNamespace

import numpy as np
import pytest

from experiments.first_chunk import first_chunk_scores
from sim.world import World

JOINTS = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]


class ScriptedPolicy:
    """Plays the scripted expert's first 16 actions of the episode it is shown (an oracle), or the home pose."""

    def __init__(self, task: str, oracle: bool):
        import sim

        self.env = sim.make_env(task, "train", cameras=("front",))
        self.oracle = oracle
        self.processor = SimpleNamespace(camera_names=["front"], world=World())
        self.config = SimpleNamespace(joint_names=JOINTS)

    def reset(self):
        pass

    def act(self, observation, reasoning, seed=0):
        if not self.oracle:
            return np.tile(observation["observation.state"], (16, 1))
        self.env.reset(seed=seed)  # the evaluation acts with the episode's seed
        expert = self.env.expert()
        return np.stack([expert.act() for _ in range(16)]).astype(np.float32)


@pytest.mark.parametrize("oracle", [True, False])
def test_first_chunk_scores_an_oracle_zero_and_a_blind_policy_no_better_than_the_mean(oracle):
    policy = ScriptedPolicy("math_matching", oracle)
    scores = first_chunk_scores(policy, "math_matching", split="train", episodes=3, seed=0, progress=False)
    assert scores["joint_names"] == JOINTS and len(scores["first_chunk_mae"]) == 6
    assert max(scores["expert_spread"]) > 0.05  # the scenes ask for different first chunks
    if oracle:
        assert max(scores["first_chunk_mae"]) < 1e-6 and scores["blind_ratio"] == 0.0
    else:
        assert scores["blind_ratio"] > 1.0 and max(scores["policy_spread"]) < 1e-6


def test_first_chunk_needs_two_scenes_to_compare():
    with pytest.raises(ValueError, match="at least 2"):
        first_chunk_scores(ScriptedPolicy("math_matching", True), "math_matching", episodes=1, progress=False)
