"""Image-text samples: shapes, kinds, splits, determinism, cache round trip, answers true to the sim state."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from chatvla2_lite.data.image_text import (
    KINDS,
    ImageTextConfig,
    board_sample,
    make_image_text,
    to_processor_inputs,
)
from chatvla2_lite.data.image_text_cache import cache_image_text, load_image_text_cache
from chatvla2_lite.data.scene_questions import pick_questions, relation_between, scene_question_pool
from chatvla2_lite.model.tokenizer_nano import NANO_ALPHABET
from sim.splits import get_split
from sim.tasks.math_problems import solve

SMALL = 24


@pytest.fixture(scope="module")
def train_samples():
    return make_image_text(SMALL, "train", seed=3)


def same(a: dict, b: dict) -> bool:
    return (
        (a["question"], a["answer"], a["kind"], a["seed"]) == (b["question"], b["answer"], b["kind"], b["seed"])
        and a["images"].keys() == b["images"].keys()
        and all(np.array_equal(a["images"][k], b["images"][k]) for k in a["images"])
    )


def test_samples_have_the_documented_fields(train_samples):
    for s in train_samples:
        assert s["kind"] in KINDS and s["split"] == "train"
        assert s["images"] and all(
            im.dtype == np.uint8 and im.ndim == 3 and im.shape[2] == 3 for im in s["images"].values()
        )
        assert set(s["question"] + s["answer"]) <= set(NANO_ALPHABET), "the nano tokenizer must spell it"
        assert ("board" in s["images"]) == (s["kind"] in ("ocr", "math"))
    assert [s["index"] for s in train_samples] == list(range(SMALL))


def test_stream_is_deterministic_per_seed(train_samples):
    again = make_image_text(SMALL, "train", seed=3)
    assert all(same(a, b) for a, b in zip(train_samples, again))
    other = make_image_text(SMALL, "train", seed=4)
    assert not all(same(a, b) for a, b in zip(train_samples, other))


def test_math_answers_are_right_and_ocr_reads_the_problem():
    rng = np.random.default_rng(0)
    for _ in range(20):
        math = board_sample("math", "train", rng)
        left, right = math["answer"].split(" = ")
        assert solve(left) == int(right) and math["images"]["board"].shape == (224, 448, 3)
        ocr = board_sample("ocr", "heldout", rng)
        assert ocr["answer"].endswith("= ?") or solve(ocr["answer"].split(" = ")[0]) == int(ocr["answer"][-1])


def test_heldout_uses_only_heldout_shapes_and_colours():
    config = ImageTextConfig(kinds=("recognition", "colour", "spatial"), questions_per_scene=3)
    samples = make_image_text(12, "heldout", seed=0, config=config)
    train, held = get_split("train"), get_split("heldout")
    words = " ".join(s["question"] + " " + s["answer"] for s in samples).split()
    assert not set(words) & set(train.shapes + train.colours)
    assert set(words) & set(held.shapes + held.colours)


def test_scene_questions_follow_the_positions():
    # two toys side by side (the duck on the left, +y), a bowl behind them
    info = {
        "toys": ["red duck", "blue cube"],
        "positions": {"toy_0": [0.18, 0.10, 0.02], "toy_1": [0.18, -0.05, 0.02], "bowl": [0.30, 0.02, 0.0]},
    }
    pool = scene_question_pool(info, ("duck", "cube", "sphere"), ("red", "blue", "green"))
    qa = {q: a for qas in pool.values() for q, a, *_ in qas}  # pointing questions carry their truth too
    assert qa["Is the red duck left of the blue cube?"] == "yes"
    assert qa["Is the blue cube left of the red duck?"] == "no"
    assert qa["What is behind the red duck?"] == "the bowl"
    assert qa["What toys are on the table, from left to right?"] == "red duck and blue cube"
    assert qa["How many toys are on the table?"] == "2" and qa["How many green toys are on the table?"] == "0"
    assert qa["What colour is the cube?"] == "blue" and qa["Is there a sphere on the table?"] == "no"
    assert qa["Where is the blue cube?"] == "at the front right"
    assert relation_between((0.20, 0.10), (0.18, 0.09)) is None  # near the diagonal: never asked
    picked = pick_questions(pool, ["spatial"] * 40, np.random.default_rng(0))
    assert len({p["question"] for p in picked}) == len(picked)


def test_card_questions_follow_the_positions():
    from chatvla2_lite.data.scene_questions import card_questions

    # cards 7 (left, +y), 2 (middle, behind) and 4 (right); the tray far on the left
    info = {
        "candidates": [2, 4, 7],
        "positions": {
            "card_7": [0.15, 0.06, 0.01],
            "card_2": [0.27, -0.01, 0.01],
            "card_4": [0.16, -0.10, 0.01],
            "tray": [0.20, 0.20, 0.0],
        },
    }
    qa = dict(card_questions(info))
    assert qa["What cards are on the table, from left to right?"] == "7, 2 and 4"
    assert qa["Is there a card 4 on the table?"] == "yes" and qa["Is there a card 5 on the table?"] == "no"
    assert qa["Where is the card 7?"] == "at the front left" and qa["Where is the card 2?"] == "at the back right"
    assert qa["Is the card 7 left of the card 4?"] == "yes" and "What is right of the card 4?" not in qa  # nothing is
    assert qa["What is left of the card 7?"] == "the tray"


def test_card_samples_ask_about_a_math_scene():
    config = ImageTextConfig(kinds=("cards",), board_view="front")
    samples = make_image_text(4, "heldout", seed=0, config=config)
    for s in samples:
        assert s["kind"] == "cards" and "card" in s["question"] and set(s["images"]) == {"front", "wrist"}
    assert len({s["seed"] for s in samples}) == 4  # one question per scene


def test_card_list_asks_only_the_cards_from_left_to_right():
    from chatvla2_lite.data.scene_questions import card_list_questions

    apart = {
        "candidates": [2, 4, 7],
        "positions": {
            "card_7": [0.15, 0.06, 0.01],
            "card_2": [0.27, -0.01, 0.01],
            "card_4": [0.16, -0.10, 0.01],
            "tray": [0.20, 0.20, 0.0],
        },
    }
    assert card_list_questions(apart) == [("What cards are on the table, from left to right?", "7, 2 and 4")]
    abreast = {
        "candidates": [2, 7],
        "positions": {"card_7": [0.15, 0.00, 0.01], "card_2": [0.25, -0.01, 0.01], "tray": [0.20, 0.20, 0.0]},
    }
    assert card_list_questions(abreast) == []  # one behind the other: no clear order
    samples = make_image_text(3, "heldout", seed=0, config=ImageTextConfig(kinds=("card_list",), board_view="front"))
    assert {s["kind"] for s in samples} == {"card_list"}
    assert {s["question"] for s in samples} == {"What cards are on the table, from left to right?"}
    assert all(s["answer"][0].isdigit() for s in samples)
    assert "card_list" in KINDS and "card_list" not in ImageTextConfig().kinds  # asked only when named


def test_front_board_view_renders_the_board_in_the_scene():
    config = ImageTextConfig(kinds=("ocr",), board_view="front")
    (s,) = make_image_text(1, "train", seed=0, config=config)
    assert set(s["images"]) == {"front", "wrist"} and s["answer"].endswith("= ?")


def test_cache_round_trip_is_byte_identical(tmp_path, train_samples):
    a = cache_image_text(tmp_path / "a.parquet", SMALL, "train", seed=3, progress=False)
    b = cache_image_text(tmp_path / "b.parquet", SMALL, "train", seed=3, progress=False)
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()
    loaded = load_image_text_cache(a)
    assert len(loaded) == SMALL and all(same(x, y) for x, y in zip(loaded, train_samples))


def test_samples_plug_into_the_processor(train_samples):
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    from chatvla2_lite.model.processing_chatvla2 import ChatVLA2Processor
    from chatvla2_lite.model.tokenizer_nano import build_nano_tokenizer

    tokenizer, image_processor = (
        build_nano_tokenizer(),
        Qwen2VLImageProcessorPil(min_pixels=112 * 112, max_pixels=112 * 112),
    )
    for s in train_samples[:5]:
        observation, instruction, reasoning = to_processor_inputs(s)
        processor = ChatVLA2Processor(tokenizer, image_processor, camera_names=tuple(s["images"]))
        enc = processor(observation, instruction, reasoning=reasoning)
        assert processor.decode(enc["input_ids"][0][enc["reasoning_mask"][0]]) == s["answer"]


def test_bad_config_is_refused():
    with pytest.raises(ValueError, match="unknown image-text kinds"):
        ImageTextConfig(kinds=("poetry",))
    with pytest.raises(ValueError, match="board_view"):
        ImageTextConfig(board_view="side")
