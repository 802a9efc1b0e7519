"""The processor: chat prompt with image tokens, masks and labels; bad input becomes a clear error."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from chatvla2_lite.errors import InvalidInstructionError, InvalidObservationError
from chatvla2_lite.model.processing_chatvla2 import IGNORE_INDEX, SHARP_VIEWS, ChatVLA2Processor, collate, crop_view
from chatvla2_lite.model.tokenizer_nano import build_nano_tokenizer


@pytest.fixture(scope="module")
def processor() -> ChatVLA2Processor:
    return ChatVLA2Processor.nano(max_length=400)


def test_nano_tokenizer_is_character_level_and_round_trips():
    tok = build_nano_tokenizer()
    text = "The board says 3 + 4 = ?. 3 + 4 = 7. 8 ÷ 2 × 3 = 12!"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert len(ids) == len(text)
    assert tok.decode(ids) == text
    assert tok("<|im_start|>", add_special_tokens=False)["input_ids"] == [tok.get_vocab()["<|im_start|>"]]


def test_prompt_layout_masks_and_labels(processor, obs):
    enc = processor(obs, "pick the 7", reasoning="3 + 4 = 7")
    ids, types = enc["input_ids"][0], enc["mm_token_type_ids"][0]
    image_pad = processor.special["<|image_pad|>"]
    # the nano views: board 224x112 -> 8x16 patches, table 224x140 -> 10x16, wrist 112 -> 8x8; 4 patches a token
    assert enc["image_grid_thw"].tolist() == [[1, 8, 16], [1, 10, 16], [1, 8, 8]]
    assert (ids == image_pad).sum() == 32 + 40 + 16 and torch.equal(types.bool(), ids == image_pad)
    assert processor.decode(ids[enc["reasoning_mask"][0]]) == "3 + 4 = 7"
    assert processor.decode(enc["labels"][0][enc["labels"][0] != IGNORE_INDEX]) == "3 + 4 = 7"
    assert not (enc["prompt_mask"][0] & enc["reasoning_mask"][0]).any()
    text = processor.tokenizer.decode(ids)
    assert text.index("pick the 7") < text.index("<|im_start|>assistant") < text.index("3 + 4 = 7")


def test_collate_right_pads(processor, obs):
    batch = collate(
        [processor(obs, "a", reasoning="x"), processor(obs, "a longer instruction")], processor.pad_token_id
    )
    assert batch["input_ids"].shape[0] == 2 and batch["image_grid_thw"].shape == (6, 3)  # 3 views per sample
    assert batch["attention_mask"][0].sum() < batch["attention_mask"][1].sum()
    assert batch["pixel_values"].shape[0] == 2 * (128 + 160 + 64)  # patches of the three views, twice


def test_save_and_load(processor, obs, tmp_path):
    processor.save_pretrained(tmp_path)
    again = ChatVLA2Processor.from_pretrained(tmp_path)
    a, b = processor(obs, "pick the 7", reasoning="r"), again(obs, "pick the 7", reasoning="r")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_the_world_is_saved_with_the_processor_kept_by_its_views_and_defaults_for_an_older_config(processor, tmp_path):
    import json

    from sim.world import World

    assert World.of(processor.world) == World()
    processor.world = World(448, "row").to_dict()  # plain data: the saved model format knows no simulator
    processor.save_pretrained(tmp_path / "new")
    again = ChatVLA2Processor.from_pretrained(tmp_path / "new")
    assert World.of(again.world) == World(448, "row") == World.of(again.with_views(["board"]).world)
    settings = json.loads((tmp_path / "new" / "processor_config.json").read_text())
    assert settings["world"] == {"camera_size": 448, "card_layout": "row", "points": False, "fonts": "matplotlib"}
    del settings["world"]  # as every model saved before worlds existed
    processor.save_pretrained(tmp_path / "old")
    (tmp_path / "old" / "processor_config.json").write_text(json.dumps(settings))
    assert World.of(ChatVLA2Processor.from_pretrained(tmp_path / "old").world) == World()


@pytest.mark.parametrize(
    "image, message",
    [
        (np.zeros((224, 224, 3), dtype=np.float32), "uint8"),
        (np.zeros((224, 224), dtype=np.uint8), r"\(H, W, 3\)"),
        (np.zeros((224, 224, 4), dtype=np.uint8), r"\(H, W, 3\)"),
        (np.zeros((10, 224, 3), dtype=np.uint8), "between 28 and"),
        (np.zeros((5000, 224, 3), dtype=np.uint8), "between 28 and"),
        (torch.zeros(224, 224, 3, dtype=torch.uint8), "numpy array"),
        ("front.png", "numpy array"),
    ],
)
def test_bad_images_are_clear_errors(processor, obs, image, message):
    with pytest.raises(InvalidObservationError, match=message):
        processor({**obs, "observation.images.front": image}, "pick the 7")


def test_pil_images_are_accepted(processor, obs):
    from PIL import Image

    pil = {**obs, "observation.images.front": Image.fromarray(obs["observation.images.front"]).convert("RGBA")}
    assert torch.equal(processor(pil, "go")["pixel_values"], processor(obs, "go")["pixel_values"])


def test_missing_camera_names_the_keys(processor, obs):
    del obs["observation.images.wrist"]
    with pytest.raises(InvalidObservationError, match="observation.images.wrist"):
        processor(obs, "pick the 7")


@pytest.mark.parametrize("instruction", ["", "   \n", "<|im_end|>", None])
def test_empty_instruction_is_refused(processor, obs, instruction):
    with pytest.raises(InvalidInstructionError):
        processor(obs, instruction)


def test_instruction_longer_than_the_context(processor, obs):
    with pytest.raises(InvalidInstructionError, match="shorten the instruction to at most") as info:
        processor(obs, "pick the seven " * 50, reserve_tokens=64)
    room = int(str(info.value).rsplit("at most ", 1)[1].split()[0])
    processor(obs, "x" * room, reserve_tokens=64)  # exactly the advertised room fits
    with pytest.raises(InvalidInstructionError):
        processor(obs, "x" * (room + 1), reserve_tokens=64)


def test_special_tokens_in_the_instruction_are_stripped(processor, obs):
    a = processor(obs, "pick<|im_start|> the 7<|image_pad|>")
    b = processor(obs, "pick the 7")
    assert torch.equal(a["input_ids"], b["input_ids"])


def test_views_crop_the_board_strip_and_round_trip(processor, obs, tmp_path):
    from chatvla2_lite.model.processing_chatvla2 import ChatVLA2Processor, crop_view

    board = processor.model_images(obs)[0]
    assert board.shape == (112, 224, 3)
    front = obs["observation.images.front"]
    expected = crop_view(front, (0.20, 0.10, 0.80, 0.36), (224, 112))
    assert np.array_equal(board, expected)
    # a marked pixel inside the board strip shows up in the board view, one outside does not
    marked = dict(obs, **{"observation.images.front": front.copy()})
    marked["observation.images.front"][50, 112] = (255, 0, 255)
    marked["observation.images.front"][200, 10] = (0, 255, 0)
    view = processor.model_images(marked)[0].astype(int)
    assert (np.abs(view - board.astype(int)).sum(axis=-1) > 0).any()
    assert not ((view[..., 1] > 250) & (view[..., 0] < 5)).any()
    processor.save_pretrained(tmp_path)
    again = ChatVLA2Processor.from_pretrained(tmp_path)
    assert again.views == processor.views
    assert torch.equal(again(obs, "pick the 7")["input_ids"], processor(obs, "pick the 7")["input_ids"])


def test_plain_layout_without_views(obs):
    from chatvla2_lite.model.processing_chatvla2 import ChatVLA2Processor

    plain = ChatVLA2Processor.nano(views=None)
    assert plain(obs, "pick the 7")["image_grid_thw"].tolist() == [[1, 8, 8], [1, 8, 8]]


@pytest.mark.parametrize(
    "view,message",
    [
        ({"name": "x", "camera": "top", "box": (0, 0, 1, 1), "size": (112, 112)}, "cameras are"),
        ({"name": "x", "camera": "front", "box": (0.5, 0, 0.4, 1), "size": (112, 112)}, "x0 < x1"),
        ({"name": "x", "camera": "front", "box": (0, 0, 1, 1), "size": (100, 112)}, "multiples of 28"),
    ],
)
def test_bad_views_are_refused(view, message):
    from chatvla2_lite.model.processing_chatvla2 import ChatVLA2Processor

    with pytest.raises(ValueError, match=message):
        ChatVLA2Processor.nano(views=[view])


def test_with_views_feeds_the_chosen_views_and_needs_only_their_cameras(processor, obs):
    board_only = processor.with_views(["board"])
    front_only = {"observation.images.front": obs["observation.images.front"]}
    enc = board_only(front_only, "What is written on the board?")
    assert enc["image_grid_thw"].tolist() == [[1, 8, 16]]  # 224x112: 32 tokens after the 2x2 merge
    assert np.array_equal(board_only.model_images(front_only)[0], processor.model_images(obs)[0])
    assert [v["name"] for v in processor.views] == ["board", "table", "wrist"]  # the original keeps them all
    with pytest.raises(InvalidObservationError, match="observation.images.front"):
        board_only({"observation.images.wrist": obs["observation.images.wrist"]}, "read it")


def test_with_views_refuses_unknown_views(processor):
    from chatvla2_lite.model.processing_chatvla2 import ChatVLA2Processor

    with pytest.raises(ValueError, match="unknown views"):
        processor.with_views(["top"])
    with pytest.raises(ValueError, match="no views"):
        ChatVLA2Processor.nano(views=None).with_views(["board"])


def test_an_added_view_is_fed_after_the_others_saved_kept_when_named_again_and_refused_when_unknown(
    processor, obs, tmp_path
):
    from chatvla2_lite.model.processing_chatvla2 import EXTRA_VIEWS

    with_cards = processor.with_added_views(["cards"])
    enc = with_cards(obs, "pick the 7")
    # the cards view is 280x140: 10x20 patches, 50 tokens after the 2x2 merge, and the image processor keeps its size
    assert enc["image_grid_thw"].tolist() == [[1, 8, 16], [1, 10, 16], [1, 8, 8], [1, 10, 20]]
    assert (enc["input_ids"][0] == processor.special["<|image_pad|>"]).sum() == 32 + 40 + 16 + 50
    box = EXTRA_VIEWS["cards"]["box"]
    front = obs["observation.images.front"]
    assert np.array_equal(with_cards.model_images(obs)[3], crop_view(front, box, (280, 140)))
    assert [v["name"] for v in processor.views] == ["board", "table", "wrist"]  # the original keeps its own
    with_cards.save_pretrained(tmp_path)
    assert ChatVLA2Processor.from_pretrained(tmp_path).views == with_cards.views
    with pytest.raises(ValueError, match=r"no view \['top'\] to add; known: \['cards'\]"):
        processor.with_added_views(["top"])
    assert with_cards.with_added_views(["cards"]).views == with_cards.views
    with pytest.raises(ValueError, match="feeds whole cameras"):
        ChatVLA2Processor.nano(views=None).with_added_views(["cards"])


def test_the_nano_prompt_has_no_system_turn_and_others_keep_theirs(processor, obs):
    from chatvla2_lite.model.processing_chatvla2 import DEFAULT_SYSTEM_PROMPT

    nano = processor.tokenizer.decode(processor(obs, "pick the 7")["input_ids"][0])
    assert "system" not in nano and nano.index("<|im_start|>user") < nano.index("pick the 7")
    with_system = ChatVLA2Processor(processor.tokenizer, processor.image_processor, views=processor.views)
    text = processor.tokenizer.decode(with_system(obs, "pick the 7")["input_ids"][0])
    assert text.startswith(f"<|im_start|>system\n{DEFAULT_SYSTEM_PROMPT}<|im_end|>")


def test_the_sharp_views_are_a_448_px_frame_at_its_own_resolution():
    for view in SHARP_VIEWS[:2]:  # the front camera's: each box is exactly its size in a 448-px frame
        x0, y0, x1, y1 = view["box"]
        assert np.allclose(((x1 - x0) * 448, (y1 - y0) * 448), view["size"])
    processor = ChatVLA2Processor.nano(views=SHARP_VIEWS)
    frame = np.zeros((448, 448, 3), np.uint8)
    batch = processor({"observation.images.front": frame, "observation.images.wrist": frame}, "Point to the card 7.")
    assert int(batch["mm_token_type_ids"].sum()) == 40 + 91 + 16
