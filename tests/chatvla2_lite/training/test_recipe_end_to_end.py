"""`make nano RECIPE=NAME` end to end at a tiny budget: demos recorded, every run trained in order, the card model
scored and shipped with its lineage; a second `train` finds everything done."""

import json

import pytest

from chatvla2_lite.training.export import score, ship
from chatvla2_lite.training.recipe import load_recipe
from chatvla2_lite.training.run import train_recipe

TINY = [
    "steps=1",
    "batch_size=2",
    "r01/read.cache=0",
    "r01/vlm.cache=0",
    "r01/cotrain.cache=0",
    "probe_every=0",
    "demos.demos200=1",
    "r01/action.rollouts=1",
    "r01/action.near_misses=1",
    "card.eval_episodes=2",
    "card.probe_questions=1",
]


@pytest.mark.slow
def test_a_recipe_trains_end_to_end_and_ships_its_card_model(tmp_path):
    from chatvla2_lite.model.policy_chatvla2 import ChatVLA2

    recipe = load_recipe("chatvla2", TINY)
    out = tmp_path / "chatvla2"
    result = train_recipe(recipe, out, progress=False)
    assert list(result["runs"]) == ["r01/read", "r01/vlm", "r01/cotrain", "r01/action", "r01/naive"]
    assert all(r["step"] == 1 for r in result["runs"].values())
    for task in ("math_matching", "toy_placement"):
        info = json.loads((out / "demos" / "demos200" / task / "meta" / "info.json").read_text())
        assert info["total_episodes"] == 1
    action = ChatVLA2.from_pretrained(out / "r01" / "action" / "model")
    assert action.config.action_expert.objective == "regression"  # switched at co-training, kept
    assert action.config.action_expert.pixel_cameras == ["wrist"]  # added at the action run
    assert train_recipe(recipe, out, progress=False)["runs"] == dict.fromkeys(result["runs"], "done")
    rows = score(recipe, out, progress=False)
    assert [r.get("model") for r in rows[:3]] == ["shipped", "VLM stage", "naive fine-tuning"]
    assert {r["episodes"] for r in rows[3:]} == {2, 1}  # the counterfactual runs half the episodes
    assert sorted(p.name for p in (out / "scores").iterdir())[0] == "counterfactual_math_matching.json"
    shipped = ship(recipe, out, tmp_path / "chatvla2-nano", rows, commit="abc1234")
    assert shipped["runs"] == list(result["runs"])
    card = (tmp_path / "chatvla2-nano" / "README.md").read_text()
    assert "| r01/action | action | r01/cotrain | 1 | 2 |" in card and "`make nano RECIPE=chatvla2`" in card
