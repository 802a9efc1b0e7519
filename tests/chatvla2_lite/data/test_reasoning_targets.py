"""Reasoning targets from ground truth, and the parsers that read them back (round trips, messy spacing)."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from chatvla2_lite.data.reasoning_targets import (
    ORDINALS,
    canonical_equation,
    cards_left_to_right,
    math_reasoning,
    parse_math_parts,
    parse_math_reasoning,
    parse_toy_location,
    parse_toy_reasoning,
    placement_xyz,
    reasoning_target,
    table_location,
    toy_reasoning,
)
from chatvla2_lite.model.reasoning_points import RELATION_PHRASES, parse_point, reasoning_points
from chatvla2_lite.model.tokenizer_nano import NANO_ALPHABET
from sim.points import on_plane, to_point
from sim.tasks.math_problems import equation_with_answer, sample_problem
from sim.world import World


def math_info(problem) -> dict:
    return {
        "task": "math_matching",
        "equation": problem.text,
        "solution": equation_with_answer(problem),
        "answer": problem.answer,
    }


def toy_info(obj="red cube", relation="right", target="blue duck", xy=(0.18, 0.05)) -> dict:
    return {
        "task": "toy_placement",
        "object": obj,
        "relation": relation,
        "target": target,
        "positions": {"toy_0": [xy[0], xy[1], 0.015]},
    }


def test_math_reasoning_matches_the_issue_wording():
    info = {"task": "math_matching", "equation": "6 - 2 = ?", "solution": "6 - 2 = 4", "answer": 4}
    assert math_reasoning(info) == "The board says 6 - 2 = ?. 6 - 2 = 4. I pick the card 4."
    assert reasoning_target(info) == math_reasoning(info)


@pytest.mark.parametrize("split", ["train", "heldout"])
def test_math_round_trip_over_many_problems(split):
    rng = np.random.default_rng(0)
    for _ in range(200):
        problem = sample_problem(rng, split)
        text = math_reasoning(math_info(problem))
        assert set(text) <= set(NANO_ALPHABET), "the nano tokenizer must spell every target"
        assert parse_math_reasoning(text) == (problem.text, problem.answer)


def test_math_parser_tolerates_whitespace_and_case():
    text = "  the BOARD says   3+4 =?.\n 3 + 4 = 7 .  i pick the card   7 "
    assert parse_math_reasoning(text) == ("3 + 4 = ?", 7)
    assert canonical_equation("7÷1-2=?") == "7 ÷ 1 - 2 = ?"


def test_math_parser_reports_missing_parts_as_none():
    assert parse_math_reasoning("I pick the card 3.") == (None, 3)
    assert parse_math_reasoning("The board says 2 + 2 = ?. Hmm.") == ("2 + 2 = ?", None)
    assert parse_math_reasoning("") == (None, None)


def test_math_parts_read_every_step_of_the_reasoning():
    row = {
        "equation": "3 + 4 = ?",
        "solution": "3 + 4 = 7",
        "answer": 7,
        "candidates": [1, 7, 9],
        "card_layout": "row",
        "positions": {"card_1": [0.26, -0.1, 0.01], "card_7": [0.26, 0.1, 0.01], "card_9": [0.26, 0.0, 0.01]},
    }
    assert parse_math_parts(math_reasoning(row)) == {
        "equation": "3 + 4 = ?",
        "result": 7,
        "cards": [7, 9, 1],
        "card": 7,
        "place": 0,
    }
    del row["card_layout"]  # scattered: no list, no place
    assert parse_math_parts(math_reasoning(row)) == {
        "equation": "3 + 4 = ?",
        "result": 7,
        "cards": None,
        "card": 7,
        "place": None,
    }
    # a model's slips: the board said "= 7" instead of "= ?" (its result is still the solution's), an unknown place
    slip = parse_math_parts("The board says 3 + 4 = 7. 3 + 4 = 8. The cards are 1,7. I pick the card 8, the tenth")
    assert slip == {"equation": "3 + 4 = 7", "result": 8, "cards": [1, 7], "card": 8, "place": None}
    assert parse_math_parts("") == dict.fromkeys(("equation", "result", "cards", "card", "place"))


def test_table_location_follows_the_front_camera():
    assert table_location((0.16, 0.10)) == ("front", "left")
    assert table_location((0.26, -0.10)) == ("back", "right")


@pytest.mark.parametrize("relation", list(RELATION_PHRASES))
def test_toy_round_trip_for_every_relation(relation):
    target = "bowl" if relation == "in" else "blue duck"
    info = toy_info(relation=relation, target=target, xy=(0.25, -0.08))
    text = toy_reasoning(info)
    assert set(text) <= set(NANO_ALPHABET)
    assert parse_toy_reasoning(text) == ("red cube", relation, target)
    assert parse_toy_location(text) == ("back", "right")


def test_toy_reasoning_wording():
    assert toy_reasoning(toy_info()) == "The red cube is at the front left. I place it to the right of the blue duck."


def test_toy_parser_tolerates_whitespace_and_case():
    text = "The  Yellow   Duck is at the FRONT left .\n I place it   in front of the\tgreen sphere"
    assert parse_toy_reasoning(text) == ("yellow duck", "front", "green sphere")
    assert parse_toy_reasoning("no idea") == (None, None, None)


def test_toy_round_trip_on_real_episodes():
    import sim

    env = sim.make_env("toy_placement", "heldout", cameras=())
    try:
        for seed in range(4):
            _, info = env.reset(seed=seed)
            text = reasoning_target(info)
            assert parse_toy_reasoning(text) == (info["object"], info["relation"], info["target"])
    finally:
        env.close()


def test_in_the_row_world_the_math_reasoning_says_the_cards_in_order_and_where_the_pick_is_among_them():
    import sim
    from sim.world import World

    row = sim.make_env("math_matching", "heldout", cameras=(), world=World(card_layout="row"))
    scattered = sim.make_env("math_matching", "heldout", cameras=())
    try:
        for seed in range(4):
            _, info = row.reset(seed=seed)
            order = cards_left_to_right(info)
            ys = [info["positions"][f"card_{d}"][1] for d in order]
            assert sorted(order) == info["candidates"] and ys == sorted(ys, reverse=True)  # +y is the camera's left
            text = reasoning_target(info)
            place = ORDINALS[order.index(info["answer"])]
            said = ", ".join(map(str, order[:-1])) + f" and {order[-1]}"
            assert text == (
                f"The board says {info['equation']}. {info['solution']}. The cards are {said}. "
                f"I pick the card {info['answer']}, the {place} from the left."
            )
            assert parse_math_reasoning(text) == (canonical_equation(info["equation"]), info["answer"])
            assert set(text) <= set(NANO_ALPHABET)
            _, same_seed = scattered.reset(seed=seed)  # the default world says what it always said
            assert reasoning_target(same_seed).endswith(f"{info['solution']}. I pick the card {info['answer']}.")
    finally:
        row.close()
        scattered.close()


def test_unknown_task_is_an_error():
    with pytest.raises(ValueError, match="math_matching or toy_placement"):
        reasoning_target({"task": "juggling"})


@pytest.mark.parametrize("task", ["math_matching", "toy_placement"])
def test_in_a_world_with_points_the_reasoning_points_where_the_things_are(task):
    plain, pointing = (sim.make_env(task, "heldout", cameras=("front",), world=World(points=p)) for p in (False, True))
    try:
        for seed in range(6):
            _, info = plain.reset(seed=seed)
            _, pinfo = pointing.reset(seed=seed)
            words, text = reasoning_target(info), reasoning_target(pinfo)
            assert "(" not in words and pinfo["points"] is True and "points" not in info
            said = reasoning_points(text)
            if task == "math_matching":
                thing, place = pinfo["positions"][f"card_{pinfo['answer']}"], pinfo["positions"]["tray"]
                assert parse_math_parts(text) == parse_math_parts(words)  # the points add, they change no part
            else:
                thing, place = pinfo["positions"]["toy_0"], placement_xyz(pinfo)
                assert parse_toy_reasoning(text) == parse_toy_reasoning(words)
                assert parse_toy_location(text) == parse_toy_location(words)
            assert said == {"object": to_point(thing), "place": to_point(place)}
            # read back onto the table, each point is within a few millimetres of the thing
            assert np.linalg.norm(on_plane(said["object"], thing[2]) - np.asarray(thing[:2])) < 0.004
            assert reasoning_points(words) == {"object": None, "place": None}
    finally:
        plain.close()
        pointing.close()


def test_points_parse_from_generated_text_and_a_missing_one_is_none():
    text = "the board says 3+4=?. 3+4=7. i pick the card 7   at (412,655).  I place it in the tray , at ( 391 , 842 )."
    assert reasoning_points(text) == {"object": (412, 655), "place": (391, 842)}
    assert reasoning_points("The red cube is at the front left, at (262, 701). I place it in the bowl.") == {
        "object": (262, 701),
        "place": None,
    }
    assert parse_point("at (5, 999) and (1, 2)") == (5, 999) and parse_point("no point") is None


def test_a_point_moves_in_the_text_and_nothing_else_does():
    from chatvla2_lite.model.reasoning_points import with_point

    math = (
        "The board says 3 + 4 = ?. 3 + 4 = 7. I pick the card 7 at (412, 655). I place it in the tray, at (391, 842)."
    )
    toy = "The red cube is at the front left, at (262, 701). I place it to the right of the blue duck, at (544, 610)."
    assert with_point(math, "place", (10, 20)) == math.replace("(391, 842)", "(10, 20)")
    assert with_point(math, "object", (5, 6)) == math.replace("(412, 655)", "(5, 6)")
    assert with_point(toy, "object", (1, 2)) == toy.replace("(262, 701)", "(1, 2)")
    assert reasoning_points(with_point(toy, "place", (300, 400))) == {"object": (262, 701), "place": (300, 400)}
    with pytest.raises(ValueError, match="says no place point"):
        with_point("I pick the card 7 at (1, 2).", "place", (3, 4))
    with pytest.raises(ValueError, match="says no object point"):
        with_point("The red cube is at the front left. I place it in the tray, at (3, 4).", "object", (3, 4))
