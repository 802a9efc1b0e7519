"""Near misses on purpose: the decoy comes down beside the object and carries it toward the wrong place, and the
labels steer back to the object and to the place point."""

import numpy as np
import pytest

from chatvla2_lite.data.expert_near_misses import MISS_M, PLACE_MISS_M, near_miss_rollout, near_miss_samples
from chatvla2_lite.training.stage import stage_config
from sim.expert import ScriptedExpert, grasp_turn


def _turn_off(arm, q, grasp_yaws) -> float:
    """How far (rad) the closing direction at joints `q` is turned from the nearest grasp yaw."""
    return grasp_turn(arm.closing_yaw_world(q), grasp_yaws)


@pytest.mark.parametrize("task", ["toy_placement", "math_matching"])
def test_the_labels_of_a_near_miss_steer_the_tool_back_over_the_object(task):
    import sim

    env = sim.make_env(task, "train", cameras=("front",))
    try:
        steered = 0
        for seed in range(3):
            rng = np.random.default_rng(seed)
            episode = near_miss_rollout(env, 3_000_000 + seed, rng)
            assert MISS_M[0] <= episode["miss_m"] <= MISS_M[1]
            assert episode["looks"], "the decoy's first look, from home, is always labelled"
            # replay the decoy's scene to read the tool and the object at each look
            env.reset(seed=3_000_000 + seed)
            arm = env.scene.arm
            target = np.asarray(env.scene.pose(env.scene.bodies[env.episode.pick])[0][:2])
            plan = env.task.expert_plan(env.scene, env.episode)
            for obs, label in episode["looks"]:
                tool = arm.fk_world(obs["observation.state"])
                ahead = arm.fk_world(label[-1])
                offset = target - tool[:2]
                mode = ScriptedExpert(arm, plan, env.scene.config.control_hz, obs["observation.state"]).restart_here()
                if mode == "descend" and np.hypot(*offset) > 0.005:  # down beside it: most of the way back
                    assert np.dot(ahead[:2] - tool[:2], offset) / np.dot(offset, offset) > 0.5
                    steered += 1
        assert steered, "no look caught the decoy low beside the object"
    finally:
        env.close()


def test_the_carry_labels_of_a_near_miss_head_for_the_place_point():
    import sim

    env = sim.make_env("toy_placement", "train", cameras=())
    try:
        episode = near_miss_rollout(env, 3_000_000, np.random.default_rng(0))  # a scene whose decoy grasps the toy
        assert PLACE_MISS_M[0] <= episode["place_miss_m"] <= PLACE_MISS_M[1]
        env.reset(seed=3_000_000)
        arm, place = env.scene.arm, np.asarray(env.task.expert_plan(env.scene, env.episode).place_xy)
        carries = [(obs, label) for obs, label in episode["looks"] if (label[:, 5] < 0).all()]  # fingers kept shut
        assert carries, "the decoy held the toy up for no look"
        closer = []
        for obs, label in carries:
            start, ahead = arm.fk_world(obs["observation.state"]), arm.fk_world(label[-1])
            closer.append(np.hypot(*(start[:2] - place)) - np.hypot(*(ahead[:2] - place)))
        assert min(closer) > -1e-3 and max(closer) > 0.03  # never away from the place point, once well toward it
    finally:
        env.close()


@pytest.mark.parametrize("task", ["toy_placement", "math_matching"])
def test_a_turn_miss_hovers_turned_off_the_grasp_and_its_labels_square_up(task):
    import sim

    env = sim.make_env(task, "train", cameras=())
    try:
        episode = near_miss_rollout(env, 3_000_000, np.random.default_rng(0), turn=0.6)
        assert episode["turn_rad"] == 0.6
        env.reset(seed=3_000_000)
        arm, plan = env.scene.arm, env.task.expert_plan(env.scene, env.episode)
        turned = [  # the fingers open, the wrist off the grasp: before the decoy closes them or carries
            (obs["observation.state"], label)
            for obs, label in episode["looks"]
            if obs["observation.state"][5] > 0.8 and _turn_off(arm, obs["observation.state"], plan.grasp_yaws) > 0.4
        ]
        assert turned, "the decoy's wrist was never turned at a look"
        squared = 0
        for state, label in turned:  # each label turns the wrist back, or first lifts the tool clear to turn above
            back = _turn_off(arm, label[-1], plan.grasp_yaws) < _turn_off(arm, state, plan.grasp_yaws) - 0.2
            rises = arm.fk_world(label[-1])[2] > arm.fk_world(state)[2] + 0.01
            assert back or rises
            squared += back
        assert squared, "no label turned the wrist back"
    finally:
        env.close()


def test_a_wrong_pick_heads_for_another_card_and_every_label_for_the_answer():
    import sim

    env = sim.make_env("math_matching", "train", cameras=())
    try:
        for seed in range(2):
            episode = near_miss_rollout(env, 3_000_000 + seed, np.random.default_rng(seed), wrong_pick=True)
            assert episode["wrong_pick"] and episode["miss_m"] > 0.06  # another card: a card gap or more away
            env.reset(seed=3_000_000 + seed)
            arm, scene = env.scene.arm, env.scene
            answer = np.asarray(scene.pose(scene.bodies[env.episode.pick])[0][:2])
            tools = [arm.fk_world(obs["observation.state"])[:2] for obs, _ in episode["looks"]]
            ends = [arm.fk_world(label[-1])[:2] for _, label in episode["looks"]]
            # the decoy ends beside another card, and the label from there reaches the answer card's hover
            assert np.hypot(*(tools[-1] - answer)) > 0.06 and np.hypot(*(ends[-1] - answer)) < 0.02
            assert all(np.hypot(*(e - answer)) < np.hypot(*(t - answer)) for t, e in zip(tools, ends))
    finally:
        env.close()
    toy = sim.make_env("toy_placement", "train", cameras=())
    try:  # no other toy to head for: a heldout toy's name could never be tied to its look
        assert not near_miss_rollout(toy, 3_000_000, np.random.default_rng(0), wrong_pick=True)["wrong_pick"]
    finally:
        toy.close()


def test_a_recovered_wrong_pick_goes_on_to_place_the_answer_card_or_adds_nothing():
    import sim

    env = sim.make_env("math_matching", "train", cameras=())
    try:
        recovered = 0
        for seed in range(4):
            plain = near_miss_rollout(env, 3_000_000 + seed, np.random.default_rng(seed), wrong_pick=True)
            episode = near_miss_rollout(
                env, 3_000_000 + seed, np.random.default_rng(seed), wrong_pick=True, recover=True
            )
            assert not plain["recovered"]
            scene, n = env.scene, len(plain["looks"])
            for (a, la), (b, lb) in zip(
                plain["looks"], episode["looks"][:n]
            ):  # the decoy's looks come first, as before
                assert np.array_equal(a["observation.state"], b["observation.state"]) and np.array_equal(la, lb)
            place = np.asarray(env.task.expert_plan(scene, env.episode).place_xy)
            placed = np.hypot(*(scene.pose(scene.bodies[env.episode.pick])[0][:2] - place)) < 0.02  # the scene's end
            assert episode["recovered"] == placed
            if placed:  # from over the other card on: the way to the answer card, its grasp and its carry
                assert len(episode["looks"]) > n + 2
                assert any((label[:, 5] < 0).all() for _, label in episode["looks"][n:]), (
                    "no carry look after the grasp"
                )
                recovered += 1
            else:
                assert len(episode["looks"]) == n
        assert recovered, "the true expert placed the answer card in none of the 4 scenes"
    finally:
        env.close()


@pytest.mark.slow
def test_near_miss_samples_split_the_scenes_between_workers():
    whole = list(near_miss_samples(4, tasks=("toy_placement",)))
    halves = [list(near_miss_samples(4, tasks=("toy_placement",), shard=(i, 2))) for i in range(2)]
    assert {s.instruction for s in whole} == {s.instruction for half in halves for s in half}
    assert all(s.action.shape == (16, 6) and "observation.images.wrist" in s.observation for s in whole)


def test_near_misses_go_only_to_the_action_stage_and_drop_out_of_its_mix_at_zero():
    assert stage_config("action", near_misses=5).mix == {"robot": 0.5, "near_misses": 0.5}
    assert "near_misses" not in stage_config("action").mix
    with pytest.raises(ValueError, match="near_misses are read once"):
        stage_config("cotrain", near_misses=5)
    assert stage_config("action", near_misses=5, wrong_picks=0.5).wrong_picks == 0.5
    with pytest.raises(ValueError, match="set near_misses too"):
        stage_config("action", wrong_picks=0.5)
    with pytest.raises(ValueError, match="wrong_picks is a share of the near misses' math scenes, between 0 and 1"):
        stage_config("action", near_misses=5, wrong_picks=1.5)
    assert stage_config("action", near_misses=5, wrong_picks=0.5, recover_picks=True).recover_picks
    with pytest.raises(ValueError, match="set wrong_picks too"):
        stage_config("action", near_misses=5, recover_picks=True)
    assert stage_config("action", near_misses=5, turn_misses=0.5).turn_misses == 0.5
    with pytest.raises(ValueError, match="turn_misses is a share of the near-miss scenes: set near_misses too"):
        stage_config("action", turn_misses=0.5)


@pytest.mark.slow
def test_the_near_miss_feature_stream_reads_what_both_workers_make_once():
    import itertools

    from chatvla2_lite.model.policy_chatvla2 import ChatVLA2
    from chatvla2_lite.training.streams import cached_near_miss_feature_stream

    made = [s for i in range(2) for s in near_miss_samples(4, shard=(i, 2))]  # the two workers' shares
    policy = ChatVLA2.from_config()
    stream = cached_near_miss_feature_stream(policy.model, policy.processor, 4, chunk=16, progress=False)
    served = list(itertools.islice(stream, len(made)))  # one epoch
    assert sorted(s.action.tobytes() for s in served) == sorted(s.action.tobytes() for s in made)
    assert all(s.features is not None and "observation.images.wrist" not in s.observation for s in served)
