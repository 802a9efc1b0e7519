"""Pointing questions: their answers are the sim's points of the truth, scored on the table, and agree with the
pixels of the view the backbone reads."""

import numpy as np
import pytest

import sim
from chatvla2_lite.data import image_text
from chatvla2_lite.data.grounding_questions import (
    POINT_TOLERANCE_M,
    card_point_questions,
    place_point_questions,
    point_error_m,
    toy_point_questions,
)
from chatvla2_lite.data.reasoning_targets import placement_xyz
from chatvla2_lite.model.processing_chatvla2 import NANO_VIEWS, crop_view
from chatvla2_lite.model.reasoning_points import RELATION_PHRASES, parse_point
from sim.points import POINT_SCALE, on_plane, to_point
from sim.world import World


def test_every_answer_is_the_point_of_its_truth_and_scores_right():
    for task, makers in [
        ("math_matching", [card_point_questions]),
        ("toy_placement", [toy_point_questions, place_point_questions]),
    ]:
        env = sim.make_env(task, "heldout", cameras=("front",))
        try:
            for seed in range(5):
                _, info = env.reset(seed=seed)
                for make in makers:
                    for question, answer, truth in make(info):
                        assert question.startswith("Point to ") and parse_point(answer) == to_point(truth)
                        assert point_error_m(answer, truth) < 0.003
        finally:
            env.close()


def test_a_point_off_by_more_than_the_tolerance_is_wrong_and_no_point_is_none():
    truth = [0.2, 0.05, 0.01]
    x, y = to_point(truth)
    beside = to_point([0.2, 0.05 + POINT_TOLERANCE_M["point_card"] + 0.005, 0.01])
    assert point_error_m(f"({x}, {y})", truth) < 0.002
    assert point_error_m(f"({beside[0]}, {beside[1]})", truth) > POINT_TOLERANCE_M["point_card"]
    assert point_error_m("the front left", truth) is None


def test_the_episodes_own_placement_is_always_asked():
    env = sim.make_env("toy_placement", "train", cameras=("front",))
    try:
        for seed in range(20):
            _, info = env.reset(seed=seed)
            asked = {q: truth for q, _, truth in place_point_questions(info)}
            own = f"Point to where the {info['object']} goes {RELATION_PHRASES[info['relation']]} the {info['target']}."
            assert own in asked and np.allclose(asked[own], placement_xyz(info))
    finally:
        env.close()


@pytest.mark.parametrize("size", [224, 448])
def test_a_cards_point_lands_on_the_card_in_the_table_view(size):
    # the camera image, the view cut from it and the point agree: where the card's pixels are in the view the
    # backbone reads is where its point, mapped through the view's box, says
    view = next(v for v in NANO_VIEWS if v["name"] == "table")
    (x0, y0, x1, y1), (vw, vh) = view["box"], view["size"]
    env = sim.make_env("math_matching", "heldout", cameras=("front",), world=World(camera_size=size))
    try:
        _, info = env.reset(seed=2)
        env.scene.place(env.scene.arm.body, (0.0, 0.4, 0.0))  # the arm out of the frame
        mask = env.cameras.body_mask("front")
        for question, answer, _ in card_point_questions(info)[:-1]:
            body = env.scene.bodies[f"card_{question.split()[-1].rstrip('.')}"]
            seen = crop_view(
                np.repeat(((mask == body) * 255).astype(np.uint8)[..., None], 3, -1), view["box"], view["size"]
            )
            rows, cols = np.nonzero(seen[..., 0] > 127)
            px, py = parse_point(answer)
            at = np.array([(px / POINT_SCALE - x0) / (x1 - x0) * vw, (py / POINT_SCALE - y0) / (y1 - y0) * vh])
            assert np.abs(at - [cols.mean() + 0.5, rows.mean() + 0.5]).max() < 1.5, question
    finally:
        env.close()


def test_pointing_kinds_stream_with_their_truth_and_leave_the_default_mix_alone():
    assert not set(image_text.DEFAULT_KINDS) & {"point_card", "point_toy", "point_place"}
    config = image_text.ImageTextConfig(kinds=("point_card", "point_toy", "point_place"))
    samples = image_text.make_image_text(12, "heldout", 3, config)
    assert {s["kind"] for s in samples} == {"point_card", "point_toy", "point_place"}
    for s in samples:
        assert point_error_m(s["answer"], s["target"]) < 0.003 and s["images"]["front"].shape == (224, 224, 3)
    assert np.allclose(
        on_plane(parse_point(samples[0]["answer"]), samples[0]["target"][2]), samples[0]["target"][:2], atol=0.003
    )
