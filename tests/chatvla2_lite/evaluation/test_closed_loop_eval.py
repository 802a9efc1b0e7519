"""Closed-loop evaluation: the scorers, the counterfactual plumbing (with an oracle), and a real nano run."""

from types import SimpleNamespace

import numpy as np
import pytest

from chatvla2_lite.data.reasoning_targets import math_reasoning, parse_math_reasoning, toy_reasoning
from chatvla2_lite.evaluation import closed_loop
from chatvla2_lite.evaluation.closed_loop import evaluate, score_math, score_toy
from sim.world import World


def test_scorers_accept_the_ground_truth_reasoning_and_reject_others():
    truth = {"equation": "3 + 4 = ?", "solution": "3 + 4 = 7", "answer": 7, "candidates": [1, 7, 9]}
    right = {"ocr": True, "math": True, "solve": True, "arithmetic": True, "consistent": True}
    assert score_math(math_reasoning(truth), truth) == right
    misread = score_math("The board says 3 + 1 = ?. 3 + 1 = 4. I pick the card 4.", truth)  # misread, then sound
    assert misread == {"ocr": False, "math": False, "solve": False, "arithmetic": True, "consistent": True}
    # read right, added wrong, and picked the right card all the same
    slip = score_math("The board says 3 + 4 = ?. 3 + 4 = 8. I pick the card 7.", truth)
    assert slip == {"ocr": True, "math": True, "solve": False, "arithmetic": False, "consistent": False}
    assert not any(score_math("gibberish", truth).values())
    toy = {"object": "red cube", "relation": "left", "target": "blue duck", "positions": {"toy_0": [0.2, 0.1, 0.0]}}
    assert score_toy(toy_reasoning(toy), toy) == {"recognition": True, "location": True, "spatial": True}
    assert score_toy(toy_reasoning(dict(toy, relation="right")), toy) == {
        "recognition": True,
        "location": True,
        "spatial": False,
    }
    moved = dict(toy, positions={"toy_0": [0.3, 0.1, 0.0]})  # the reasoning says front left; it stood at the back
    assert score_toy(toy_reasoning(moved), toy)["location"] is False


def test_row_world_math_scores_the_list_and_the_place():
    positions = {"card_1": [0.26, -0.1, 0.01], "card_7": [0.26, 0.1, 0.01], "card_9": [0.26, 0.0, 0.01]}
    truth = {
        "equation": "3 + 4 = ?",
        "solution": "3 + 4 = 7",
        "answer": 7,
        "candidates": [1, 7, 9],
        "card_layout": "row",
        "positions": positions,
    }
    assert score_math(math_reasoning(truth), truth) == {
        "ocr": True,
        "math": True,
        "solve": True,
        "arithmetic": True,
        "consistent": True,
        "card_list": True,
        "place": True,
    }
    wrong = "The board says 3 + 4 = ?. 3 + 4 = 7. The cards are 7, 1 and 9. I pick the card 7, the third from the left."
    scores = score_math(wrong, truth)  # the right card, in a list out of order, said to stand where it does not
    assert scores["math"] and not scores["card_list"] and not scores["place"]


class OraclePolicy:
    """Plays the scripted expert toward whichever card the reasoning names: a policy that follows perfectly."""

    def __init__(self, world=None):
        self.config = SimpleNamespace(action_expert=SimpleNamespace(n_action_steps=None))
        self.processor = SimpleNamespace(camera_names=(), world=world or World())
        self.env = None
        self.expert = None

    def reset(self):
        self.expert = None

    def reason(self, obs):
        from sim.tasks.base import serialize_positions

        # the cards' places too: in the row world the reasoning says where the pick stands among them
        truth = dict(self.env.episode.ground_truth, positions=serialize_positions(self.env.scene))
        return SimpleNamespace(text=math_reasoning(truth))

    def act(self, obs, text, seed=0):
        if self.expert is None:
            _, card = parse_math_reasoning(text)
            self.env.episode.pick = f"card_{card}"
            self.expert = self.env.expert()
        return np.stack([self.expert.act() for _ in range(16)])


@pytest.fixture
def oracle(monkeypatch):
    import sim

    policy = OraclePolicy()
    real_make_env = sim.make_env

    def make_env(*args, **kwargs):
        policy.env = real_make_env(*args, **kwargs)
        return policy.env

    monkeypatch.setattr(sim, "make_env", make_env)
    return policy


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["scattered", "row"])
def test_oracle_scores_full_marks(oracle, layout):
    oracle.processor.world = World(card_layout=layout)  # the eval builds its scenes in the model's world
    result = evaluate(oracle, "math_matching", "heldout", episodes=2, progress=False)
    assert result["world"] == {"camera_size": 224, "card_layout": layout, "points": False, "fonts": "matplotlib"}
    assert oracle.env.episode.ground_truth["card_layout"] == layout
    assert result["ocr_acc"] == result["math_acc"] == result["success_rate"] == 1.0
    assert result["solved_seeds"] == [10_000, 10_001]  # which episodes, to look at them again
    assert result["lift_rate"] == 1.0 and result["closest_approach_m"] < 0.01  # it held the answer card
    assert result["other_lift_rate"] == 0.0  # and no other
    assert result["place_miss_m"] < 0.01  # and set it down where the expert puts it: in the tray
    parts = ["solve_acc", "arithmetic_acc", "consistent_acc", "named_lift_rate"]
    parts += ["card_list_acc", "place_acc"] if layout == "row" else []
    assert {key: result[key] for key in parts} == dict.fromkeys(parts, 1.0)
    assert layout == "row" or "card_list_acc" not in result  # scattered cards stand in no order to list


@pytest.mark.slow
def test_other_lift_rate_counts_an_arm_that_lifts_another_card(oracle, monkeypatch):
    def wrong_card(obs):  # a reasoning that names another card on the table, acted on by a perfect arm
        text, _ = closed_loop.counterfactual_reasoning(oracle.env.episode.ground_truth, np.random.default_rng(0))
        return SimpleNamespace(text=text)

    monkeypatch.setattr(oracle, "reason", wrong_card)
    result = evaluate(oracle, "math_matching", "heldout", episodes=2, progress=False)
    assert result["other_lift_rate"] == 1.0 and result["lift_rate"] == 0.0 and result["success_rate"] == 0.0
    assert result["math_acc"] == 0.0 and result["named_lift_rate"] == 1.0  # a wrong pick, followed all the same


@pytest.mark.slow
def test_a_loop_plays_the_policys_n_action_steps_before_it_looks_again(oracle, monkeypatch):
    seen = []  # the state of every act call; the looks come at steps 0, 8, 16, ...
    act = oracle.act
    monkeypatch.setattr(
        oracle, "act", lambda obs, text, seed=0: seen.append(obs["observation.state"]) or act(obs, text, seed)
    )
    oracle.config.action_expert.n_action_steps = 8
    result = evaluate(oracle, "math_matching", "heldout", episodes=1, max_steps=48, progress=False)
    assert len(seen) == 6 and result["action_steps"] == 8


@pytest.mark.slow
def test_counterfactual_follow_rate_counts_the_named_card(oracle):
    result = evaluate(oracle, "math_matching", "heldout", episodes=2, counterfactual=True, progress=False)
    assert result["follow_rate"] == 1.0 and result["followed_seeds"] == [10_000, 10_001]
    assert result["named_lift_rate"] == 1.0


@pytest.mark.slow
def test_true_reasoning_scores_the_arm_alone(oracle, monkeypatch):
    def must_not_reason(obs):
        raise AssertionError("with --true-reasoning the policy's own reasoning is never asked for")

    monkeypatch.setattr(oracle, "reason", must_not_reason)
    right = []  # per act call: was the reasoning it got the episode's own ground-truth one?
    act = oracle.act
    monkeypatch.setattr(
        oracle,
        "act",
        lambda obs, text, seed=0: (
            right.append(text == math_reasoning(oracle.env.episode.ground_truth)) or act(obs, text, seed)
        ),
    )
    result = evaluate(oracle, "math_matching", "heldout", episodes=2, true_reasoning=True, progress=False)
    assert result["success_rate"] == 1.0 and result["reasoning"] == "true" and "ocr_acc" not in result
    assert "named_lift_rate" not in result  # the card named is the answer: lift_rate already says it
    assert right and all(right)
    with pytest.raises(ValueError, match="pick one"):
        evaluate(oracle, "math_matching", episodes=1, true_reasoning=True, counterfactual=True, progress=False)


def test_counterfactual_names_another_card_on_the_table():
    truth = {"equation": "3 + 4 = ?", "answer": 7, "candidates": [1, 7, 9]}
    text, card = closed_loop.counterfactual_reasoning(truth, np.random.default_rng(0))
    assert card in (1, 9) and parse_math_reasoning(text) == ("3 + 4 = ?", card)
    positions = {"card_1": [0.26, -0.1, 0.01], "card_7": [0.26, 0.1, 0.01], "card_9": [0.26, 0.0, 0.01]}
    row = dict(truth, card_layout="row", positions=positions)  # in a row the false reasoning places its card too
    text, card = closed_loop.counterfactual_reasoning(row, np.random.default_rng(0))
    place = {1: "third", 9: "second"}[card]
    assert text.endswith(f"The cards are 7, 9 and 1. I pick the card {card}, the {place} from the left.")


@pytest.mark.slow
def test_untrained_nano_runs_closed_loop():
    from chatvla2_lite.model.policy_chatvla2 import ChatVLA2

    policy = ChatVLA2.from_config()
    result = evaluate(policy, "toy_placement", "heldout", episodes=1, max_steps=32, progress=False)
    assert set(result) >= {"recognition_acc", "location_acc", "spatial_acc", "success_rate"}
    assert result["success_rate"] == 0.0 and result["solved_seeds"] == []  # random weights do not solve the task
    assert result["lift_rate"] == 0.0 and 0.02 < result["closest_approach_m"] < 1.0  # nor pick the toy up
    assert result["place_miss_m"] is None  # nothing carried, nothing to measure


@pytest.mark.slow
def test_eval_cli_prints_one_json_line():
    import json
    import subprocess
    import sys

    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "chatvla2_lite.cli",
            "eval",
            "--task",
            "math_matching",
            "--episodes",
            "2",
            "--max-steps",
            "20",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"ocr_acc", "math_acc", "success_rate", "lift_rate", "closest_approach_m"} <= set(result)
    assert result["episodes"] == 2 and result["action_steps"] == 16
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "chatvla2_lite.cli",
            "eval",
            "--task",
            "toy_placement",
            "--episodes",
            "1",
            "--counterfactual",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode == 2 and "use --task math_matching" in bad.stderr and "Traceback" not in bad.stderr
