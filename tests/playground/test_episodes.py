"""Scenes built from a typed equation, a photo or a typed instruction keep an honest ground truth."""

import numpy as np
import pytest
from PIL import Image

from chatvla2_lite.errors import InvalidInstructionError
from playground import episodes
from playground.backends import make_backend


@pytest.fixture(scope="module")
def backend():
    b = make_backend()
    yield b
    b.close()


def test_seed_with_answer_predicts_the_built_episode(backend):
    for answer in (0, 7, 9):
        scenario, _ = backend.new_scene(
            "math_matching",
            lambda env, answer=answer: (
                episodes.typed_math(env, 5, "3 + 4 = ?", 7)
                if answer == 7
                else episodes.random_math(env, episodes.seed_with_answer(answer, 5))
            ),
        )
        assert scenario.truth["answer"] == answer
        assert answer in scenario.truth["candidates"], "the answer card must be on the table"


def test_typed_equation_is_on_the_board_and_judged(backend):
    scenario, obs = backend.new_scene("math_matching", lambda env: episodes.typed_math(env, 0, "8 ÷ 2 - 1 = ?", 3))
    assert scenario.truth["equation"] == "8 ÷ 2 - 1 = ?" and scenario.truth["answer"] == 3
    assert backend.env.episode.ground_truth["equation"] == "8 ÷ 2 - 1 = ?"
    assert backend.verdict().success is False
    # the board the camera sees is the one we drew, not the episode's own problem
    random_scene, random_obs = backend.new_scene("math_matching", lambda env: episodes.random_math(env, scenario.seed))
    assert random_scene.truth["equation"] != scenario.truth["equation"]
    assert not np.array_equal(obs["observation.images.front"], random_obs["observation.images.front"])


def test_photo_without_expected_answer_has_no_ground_truth(backend):
    photo = Image.new("RGB", (640, 480), (240, 240, 240))
    scenario, _ = backend.new_scene("math_matching", lambda env: episodes.photo_math(env, 3, photo, None))
    assert not scenario.has_truth
    verdict = backend.verdict()
    assert verdict.success is None and "No ground truth" in verdict.text
    scenario, _ = backend.new_scene("math_matching", lambda env: episodes.photo_math(env, 3, photo, 4))
    assert scenario.truth["answer"] == 4 and 4 in scenario.truth["candidates"]


def test_typed_instruction_builds_a_matching_scene_the_expert_can_solve(backend):
    text = "Put the duck to the left of the bowl"
    scenario, obs = backend.new_scene("toy_placement", lambda env: episodes.typed_spatial(env, 3, text))
    assert obs["task"] == text
    assert scenario.truth["object"].endswith("duck") and scenario.truth["relation"] == "left"
    assert scenario.truth["target"] == "bowl"
    expert = backend.env.expert()
    for _ in range(300):
        _, info, _ = backend.step(expert.act())
        if info["is_success"]:
            break
    assert backend.verdict().success is True


@pytest.mark.parametrize(
    "text, words",
    [
        ("Put the giraffe to the left of the bowl", "cannot read|no toy"),
        ("Put the duck inside the red cube", "container"),
        ("Put the red duck to the left of the red duck", "same toy"),
    ],
)
def test_instructions_the_scene_cannot_fit(backend, text, words):
    with pytest.raises(InvalidInstructionError, match=words):
        backend.new_scene("toy_placement", lambda env: episodes.typed_spatial(env, 0, text))
