"""The sim world: the cameras' frame size and the math task's card layout, set per env and checked."""

import numpy as np
import pytest

import sim
from sim.bench import run_expert_episode
from sim.font_corpus import corpus_families
from sim.splits import get_split
from sim.tasks.math_matching import ROW_X, ROW_YAW, card_name
from sim.world import World


def test_a_world_refuses_an_unknown_layout_or_an_odd_size_and_reads_back_its_dict():
    with pytest.raises(ValueError, match="card layout 'stacked'.*scattered, row"):
        World(card_layout="stacked")
    for size in (64, 4096, 224.0):
        with pytest.raises(ValueError, match="camera size must be a whole number of pixels"):
            World(camera_size=size)
    with pytest.raises(ValueError, match="unknown world settings \\['fov'\\]"):
        World.from_dict({"fov": 60})
    world = World(448, "row")
    assert World.from_dict(world.to_dict()) == world
    assert world.overridden(card_layout="scattered") == World(448) and world.overridden() == world
    assert World.from_dict(None) == World.from_dict({}) == World(224, "scattered")  # a model saved before worlds


def _cards(env):
    """{digit: (x, y, yaw)} of the episode's cards."""
    scene = env.scene
    return {
        d: (*scene.pose(scene.bodies[card_name(d)])[0][:2], scene.yaw(scene.bodies[card_name(d)]))
        for d in env.episode.ground_truth["candidates"]
    }


def test_the_row_layout_stands_the_same_cards_upright_in_one_row_and_keeps_the_seeds_board_and_tray():
    scattered = sim.make_env("math_matching", "heldout", cameras=())
    row = sim.make_env("math_matching", "heldout", cameras=(), world=World(card_layout="row"))
    try:
        for seed in range(4):
            _, a = scattered.reset(seed=seed)
            _, b = row.reset(seed=seed)
            assert (a["equation"], a["candidates"], a["instruction"]) == (
                b["equation"],
                b["candidates"],
                b["instruction"],
            )
            assert np.allclose(a["positions"]["tray"], b["positions"]["tray"], atol=1e-3)
            assert (a["card_layout"], b["card_layout"]) == ("scattered", "row")
            cards = _cards(row)
            xs, ys = np.array([c[0] for c in cards.values()]), np.sort([c[1] for c in cards.values()])
            assert np.allclose(xs, ROW_X, atol=2e-3)  # one row, settled where it was put
            assert np.allclose(np.diff(ys), np.diff(ys)[0], atol=2e-3) and np.diff(ys).min() > 0.04  # evenly apart
            turned = np.array([c[2] for c in cards.values()]) - ROW_YAW
            assert np.allclose(np.angle(np.exp(1j * turned)), 0, atol=0.02)  # upright to the front camera
            assert not np.allclose([c[1] for c in _cards(scattered).values()], [c[1] for c in cards.values()])
    finally:
        scattered.close()
        row.close()


@pytest.mark.slow
def test_the_scripted_expert_solves_row_episodes():
    env = sim.make_env("math_matching", "heldout", cameras=(), world=World(card_layout="row"))
    try:
        assert all(run_expert_episode(env, seed)[0] for seed in range(3))  # a real grasp of a card in the row
    finally:
        env.close()


def test_the_worlds_camera_size_sets_both_frames_and_an_explicit_camera_config_wins():
    from sim.cameras import CameraConfig

    env = sim.make_env("toy_placement", "train", world=World(camera_size=448))
    try:
        obs, _ = env.reset(seed=0)
        assert obs["observation.images.front"].shape == obs["observation.images.wrist"].shape == (448, 448, 3)
        assert env.observation_space["observation.images.front"].shape == (448, 448, 3)
    finally:
        env.close()
    env = sim.make_env(
        "math_matching",
        "train",
        cameras=("front",),
        world=World(camera_size=448),
        camera_config=CameraConfig(width=160, height=120),
    )
    try:
        assert env.reset(seed=0)[0]["observation.images.front"].shape == (120, 160, 3)
    finally:
        env.close()


def test_a_corpus_world_writes_its_boards_in_the_corpus_faces_of_the_split_and_the_default_keeps_matplotlibs():
    for split in ("train", "heldout"):
        families = corpus_families(split)
        faces = {face: family for family, names in families.items() for face in names}
        corpus = sim.make_env("math_matching", split, cameras=("front",), world=World(fonts="corpus"))
        plain = sim.make_env("math_matching", split, cameras=("front",))
        try:
            drawn = {corpus.reset(seed=s)[1]["font"] for s in range(40)}
            assert drawn <= set(faces) and len({faces[f] for f in drawn}) > 10  # family first: many families
            assert {plain.reset(seed=s)[1]["font"] for s in range(10)} <= set(get_split(split).fonts)
        finally:
            corpus.close()
            plain.close()
    assert not set(corpus_families("train")) & set(corpus_families("heldout"))  # split by family


def test_an_unknown_font_source_is_refused():
    with pytest.raises(ValueError, match="unknown fonts 'web'"):
        World(fonts="web")
