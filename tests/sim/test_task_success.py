"""Each task's success check on hand-placed states, true and false."""

import numpy as np
import pytest

from sim.catalog import NUMBER_CARD, object_kind
from sim.tasks.math_matching import card_name
from sim.tasks.toy_placement import DIRECTIONS, PLACE_DISTANCE, relation_holds


def _drop_into_tray(env, digit, offset=(0.0, 0.0)):
    scene = env.scene
    tray_pos, _ = scene.pose(scene.bodies["tray"])
    scene.place(
        scene.bodies[card_name(digit)],
        (tray_pos[0] + offset[0], tray_pos[1] + offset[1], 0.005 + NUMBER_CARD.size[2] / 2 + 0.002),
    )
    scene.settle(0.5)


def test_math_untouched_scene_is_not_a_success(math_env):
    math_env.reset(seed=11)
    assert not math_env.task.is_success(math_env.scene, math_env.episode)


def test_math_answer_card_in_tray_is_a_success(math_env):
    math_env.reset(seed=12)
    _drop_into_tray(math_env, math_env.episode.ground_truth["answer"])
    assert math_env.task.is_success(math_env.scene, math_env.episode)


def test_math_wrong_card_in_tray_is_not_a_success(math_env):
    math_env.reset(seed=13)
    gt = math_env.episode.ground_truth
    wrong = next(d for d in gt["candidates"] if d != gt["answer"])
    _drop_into_tray(math_env, wrong)
    assert not math_env.task.is_success(math_env.scene, math_env.episode)


def test_math_answer_plus_another_card_in_tray_is_not_a_success(math_env):
    math_env.reset(seed=14)
    gt = math_env.episode.ground_truth
    wrong = next(d for d in gt["candidates"] if d != gt["answer"])
    _drop_into_tray(math_env, gt["answer"], (-0.025, 0.0))
    _drop_into_tray(math_env, wrong, (0.025, 0.0))
    assert not math_env.task.is_success(math_env.scene, math_env.episode)


def test_math_card_held_above_the_tray_is_not_a_success(math_env):
    math_env.reset(seed=15)
    scene = math_env.scene
    tray_pos, _ = scene.pose(scene.bodies["tray"])
    card = scene.bodies[card_name(math_env.episode.ground_truth["answer"])]
    scene.place(card, (tray_pos[0], tray_pos[1], 0.08))
    scene.step_physics(2)  # still falling
    assert not math_env.task.is_success(scene, math_env.episode)


@pytest.mark.parametrize("relation", sorted(DIRECTIONS))
def test_relation_geometry(relation):
    d = np.array(DIRECTIONS[relation])
    side = np.array([-d[1], d[0]])
    assert relation_holds(d * 0.07, (0, 0), relation)
    assert relation_holds(d * 0.07 + side * 0.03, (0, 0), relation)
    assert not relation_holds(-d * 0.07, (0, 0), relation), "the opposite side"
    assert not relation_holds(d * 0.02, (0, 0), relation), "touching the target"
    assert not relation_holds(d * 0.07 + side * 0.08, (0, 0), relation), "too far off the line"


def _toy_episode(env, relation_wanted):
    for seed in range(200):
        env.reset(seed=seed)
        if env.episode.ground_truth["relation"] == relation_wanted:
            return env
    raise AssertionError(f"no episode with relation {relation_wanted} in 200 seeds")


def test_toy_object_placed_by_the_relation_is_a_success(toy_env):
    env = _toy_episode(toy_env, "left")
    scene, gt = env.scene, env.episode.ground_truth
    assert not env.task.is_success(scene, env.episode)
    target, _ = scene.pose(scene.bodies[gt["target_body"]])
    height = object_kind(gt["object_kind"]).size[2]
    scene.place(scene.bodies["toy_0"], (target[0], target[1] + PLACE_DISTANCE, height / 2 + 0.002))
    scene.settle(0.5)
    assert env.task.is_success(scene, env.episode)
    scene.place(scene.bodies["toy_0"], (target[0], target[1] - PLACE_DISTANCE, height / 2 + 0.002))
    scene.settle(0.5)
    assert not env.task.is_success(scene, env.episode), "right of the target is not left of it"


def test_toy_object_in_container_is_a_success(toy_env):
    env = _toy_episode(toy_env, "in")
    scene, gt = env.scene, env.episode.ground_truth
    assert not env.task.is_success(scene, env.episode)
    box, _ = scene.pose(scene.bodies[gt["target_body"]])
    height = object_kind(gt["object_kind"]).size[2]
    scene.place(scene.bodies["toy_0"], (box[0], box[1], 0.005 + height / 2 + 0.002))
    scene.settle(0.5)
    assert env.task.is_success(scene, env.episode)
    scene.place(scene.bodies["toy_0"], (box[0] + 0.12, box[1], height / 2 + 0.002))
    scene.settle(0.5)
    assert not env.task.is_success(scene, env.episode)


@pytest.mark.parametrize("task_module", ["math_matching", "toy_placement"])
def test_a_crowded_layout_draws_again_instead_of_failing(monkeypatch, task_module):
    """A layout that cannot fit every object is drawn afresh: the episode still builds."""
    import importlib

    import sim
    from sim.tasks.base import LayoutError, sample_positions

    module = importlib.import_module(f"sim.tasks.{task_module}")
    failures = []

    def crowded_once(*args, **kwargs):
        if not failures:
            failures.append(1)
            raise LayoutError("no room")
        return sample_positions(*args, **kwargs)

    monkeypatch.setattr(module, "sample_positions", crowded_once)
    env = sim.make_env(task_module, "train", cameras=())
    try:
        env.reset(seed=3)
        assert failures == [1] and env.episode.pick in env.scene.bodies
    finally:
        env.close()


def test_sample_positions_says_when_nothing_fits():
    from sim.tasks.base import LayoutError, sample_positions

    with pytest.raises(LayoutError, match="could not place 50 objects"):
        sample_positions(np.random.default_rng(0), 50, 0.1, tries=200)
