"""The notebooks' tiny recipes load, and a recipe's `start` is the model its runs with no init start from."""

import pytest

from chatvla2_lite.training.recipe import load_recipe


def test_the_lesson_recipes_load():
    read = load_recipe("lesson_read", ["steps=3", "probe_questions=2"])
    assert [r.name for r in read.runs] == ["r01/read"] and read.start is None
    assert read.runs[0].stage.probe_questions == 2 and read.runs[0].stage.steps == 3
    erosion = load_recipe("lesson_erosion")
    assert erosion.start == "nano" and erosion.to_dict()["start"] == "nano"
    assert {r.name: r.init for r in erosion.runs} == {
        "r01/cotrain": None,
        "r01/action": "r01/cotrain",
        "r01/naive": None,
    }


def test_a_start_must_name_a_model(tmp_path, monkeypatch):
    import chatvla2_lite.training.recipe as recipe

    (tmp_path / "bad.toml").write_text('start = 3\n[[rounds]]\nname = "r"\nruns = [{ name = "a", stage = "read" }]\n')
    monkeypatch.setattr(recipe, "RECIPES_DIR", tmp_path)
    with pytest.raises(ValueError, match="start names a model"):
        recipe.load_recipe("bad")


def test_a_run_with_no_init_starts_from_the_shipped_nano(tmp_path):
    from chatvla2_lite.hub import NANO_CHECKPOINT
    from chatvla2_lite.model.policy_chatvla2 import ChatVLA2
    from chatvla2_lite.training.run import build_policy

    recipe = load_recipe("lesson_erosion")
    started = build_policy(recipe, recipe.run("r01/naive"), tmp_path)
    shipped = ChatVLA2.from_pretrained(NANO_CHECKPOINT)
    a, b = (dict(p.model.named_parameters())["action_expert.action_in.weight"] for p in (started, shipped))
    assert (a == b).all()
