"""The handlers in-process: a closed tab frees its sim, errors become gr.Error with their message, and a public
Space refuses local paths and (offline) unknown Hub ids with a clear message."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import pytest

from chatvla2_lite.errors import CheckpointError
from playground.handlers import SPATIAL, WHITEBOARD, Playground, check_seed
from playground.model_cache import ModelCache
from playground.settings import AppSettings


@dataclass
class FakeRequest:
    session_hash: str


@pytest.fixture
def playground():
    pg = Playground(AppSettings(max_chunks=1))
    yield pg
    pg.sessions.close_all()


def test_closing_the_tab_frees_its_sim(playground):
    out = playground.new_scene(WHITEBOARD, None, "3 + 4", "", "", 0, "PyBullet sim", request=FakeRequest("tab-1"))
    assert "equation: 3 + 4 = ?" in out[2]
    session = playground.sessions.get("tab-1")
    env = session.backend.env
    assert env.scene.pb.isConnected(env.scene.client)
    playground.unload(FakeRequest("tab-1"))
    assert "tab-1" not in playground.sessions and session.backend is None
    assert env.scene.client is None, "the physics server was not disconnected"


def test_two_tabs_have_two_sims(playground):
    playground.new_scene(WHITEBOARD, None, "1 + 1", "", "", 0, "PyBullet sim", request=FakeRequest("a"))
    playground.new_scene(SPATIAL, None, "", "", "", 0, "PyBullet sim", request=FakeRequest("b"))
    a, b = playground.sessions.get("a"), playground.sessions.get("b")
    assert a.backend is not b.backend and a.scenario.task != b.scenario.task


def test_random_spatial_scene_fills_the_instruction_and_run_acts_on_it(playground):
    req = FakeRequest("c")
    out = playground.new_scene(SPATIAL, None, "", "", "", 4, "PyBullet sim", request=req)
    instruction = out[-1]
    assert instruction and instruction in out[2]
    scene_before = playground.sessions.get("c").scenario
    outputs = list(playground.run(SPATIAL, None, "", "", instruction, 4, "PyBullet sim", "nano", "none", request=req))
    assert playground.sessions.get("c").scenario is scene_before, "Run rebuilt the scene New scene had just made"
    assert "1 chunks" in outputs[-1][3]


def test_scenes_are_built_in_the_world_of_the_model_and_run_rebuilds_one_made_before_it_loaded(playground, tmp_path):
    from chatvla2_lite.model.policy_chatvla2 import ChatVLA2
    from sim.world import World

    policy = ChatVLA2.from_config(seed=0)
    policy.processor.world = World(448, "row").to_dict()
    policy.save_pretrained(tmp_path / "row-model")
    req, inputs = FakeRequest("w"), (WHITEBOARD, None, "3 + 4", "", "", 2, "PyBullet sim")
    playground.new_scene(*inputs, request=req)  # no model loaded yet: the default world
    session = playground.sessions.get("w")
    assert session.backend.world == World()
    assert session.observation["observation.images.front"].shape == (224, 224, 3)
    outputs = list(playground.run(*inputs, str(tmp_path / "row-model"), "none", request=req))
    assert any("rebuilt the scene in the model's world: 448 px cameras, row cards" in o[3] for o in outputs)
    env = session.backend.env
    assert env.world == World(448, "row") and session.scenario.truth["equation"] == "3 + 4 = ?"
    assert session.observation["observation.images.front"].shape == (448, 448, 3)
    playground.new_scene(*inputs, request=req)  # now the model is loaded: its world straight away
    assert session.backend.env is env and session.backend.world == World(448, "row")


def test_a_rebuild_reads_an_uploaded_photo_once_and_act_rebuilds_too(playground, tmp_path, monkeypatch):
    from chatvla2_lite.model.policy_chatvla2 import ChatVLA2
    from playground import uploads
    from sim.world import World

    policy = ChatVLA2.from_config(seed=0)
    policy.processor.world = World(448, "row").to_dict()
    policy.save_pretrained(tmp_path / "row-model")
    reads = []
    load = uploads.load_board_photo
    monkeypatch.setattr(uploads, "load_board_photo", lambda *a: reads.append(a[0]) or load(*a))
    photo = str(Path(__file__).parents[2] / "playground" / "examples" / "board_3_plus_4.png")
    req, inputs = FakeRequest("p"), (WHITEBOARD, photo, "", "7", "", 2, "PyBullet sim")
    playground.new_scene(*inputs, request=req)  # no model loaded yet: the default world
    outputs = list(playground.run(*inputs, str(tmp_path / "row-model"), "none", request=req))
    assert any("rebuilt the scene in the model's world" in o[3] for o in outputs)
    assert reads == [photo, photo], "the rebuild read the uploaded photo again"  # New scene's and Run's reads
    # Run with the model loaded already: the scene is built in its world straight away, nothing rebuilt
    req, inputs = FakeRequest("r"), (WHITEBOARD, photo, "", "7", "", 3, "PyBullet sim")
    outputs = list(playground.run(*inputs, str(tmp_path / "row-model"), "none", request=req))
    assert not any("rebuilt" in str(o[3]) for o in outputs) and reads == [photo] * 3
    assert playground.sessions.get("r").backend.world == World(448, "row")
    session = playground.sessions.get("p")
    assert session.scenario.source == "photo" and session.backend.world == World(448, "row")

    # Act on a scene built in the default world, with the row world's model: the same scene, rebuilt in its world
    req, inputs = FakeRequest("q"), (WHITEBOARD, None, "3 + 4", "", "", 2, "PyBullet sim")
    playground.models.get("nano", "none")  # a model of the default world is the loaded one
    playground.new_scene(*inputs, request=req)
    session = playground.sessions.get("q")
    assert session.backend.world == World()
    outputs = list(playground.act("I pick the card 7.", 2, str(tmp_path / "row-model"), "none", request=req))
    assert "the arm starts over" in outputs[0][3]
    assert session.backend.world == World(448, "row") and session.scenario.truth["equation"] == "3 + 4 = ?"
    assert session.observation["observation.images.front"].shape == (448, 448, 3)


def test_errors_reach_the_page_as_gr_error(playground):
    with pytest.raises(gr.Error, match="one digit"):
        playground.new_scene(WHITEBOARD, None, "9 x 9", "", "", 0, "PyBullet sim", request=FakeRequest("d"))
    with pytest.raises(gr.Error, match="arm issue"):
        playground.new_scene(WHITEBOARD, None, "", "", "", 0, "Real SO-100 (serial port)", request=FakeRequest("d"))
    with pytest.raises(gr.Error, match="no scene yet"):
        list(playground.act("pick the 7", 0, "nano", "none", request=FakeRequest("new")))


@pytest.mark.parametrize("seed, ok", [(0, True), ("12", True), (-1, False), ("x", False), (2**40, False)])
def test_seeds(seed, ok):
    if ok:
        assert check_seed(seed) == int(seed)
    else:
        with pytest.raises(Exception, match="seed"):
            check_seed(seed)


def test_public_space_refuses_local_paths_and_unreachable_ids(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    cache = ModelCache(AppSettings(public=True))
    (tmp_path / "model").mkdir()
    with pytest.raises(CheckpointError, match="not a Hub model id"):
        cache.get(str(tmp_path / "model"))
    with pytest.raises(CheckpointError, match="could not look up"):
        cache.get("someone/some-model")
    assert "chatvla2-nano" in cache.get("nano").label, "the shipped default still loads"


def test_the_chat_shows_the_reasoning_once_with_the_chunks_it_drove():
    pg = Playground(AppSettings(max_chunks=3))
    try:
        outputs = list(pg.run(WHITEBOARD, None, "3 + 4", "", "", 0, "PyBullet sim", "nano", "none"))
    finally:
        pg.sessions.close_all()
    chat = outputs[-1][4]
    said = [m["content"] for m in chat if m["role"] == "assistant"]
    assert len(said) == 1 and said[0].endswith("_drove chunks 1–3_"), said


def test_the_banner_says_what_the_shipped_nano_can_and_cannot_read_in_its_cards_figures():
    banner = Playground(AppSettings()).model_banner()
    assert "What it can do yet" in banner and "55%" in banner and "no phone photos yet" in banner


def test_a_card_scored_on_photos_and_pointing_gets_those_figures_in_the_banner(tmp_path):
    import json

    from playground.model_cache import nano_note

    scores = [
        {"model": "shipped", "ocr": 0.96, "math": 0.95, "photo": 0.91, "grounding_card": 0.97},
        {"task": "math_matching", "success_rate": 0.9},
        {"task": "toy_placement", "success_rate": 0.85},
    ]
    (tmp_path / "training").mkdir()
    (tmp_path / "training" / "lineage.json").write_text(json.dumps({"scores": scores}))
    note = nano_note(tmp_path)
    assert "phone photos of handwriting 91%" in note and "right card 97%" in note and "90% of whiteboard" in note
    assert nano_note(tmp_path / "nothing-here") == ""


@dataclass
class FakeClick:
    index: tuple[int, int]


def test_a_click_on_the_front_camera_moves_the_reasoning_point_and_a_click_elsewhere_says_why_not(playground):
    req = FakeRequest("click")
    text = "The red cube is at the front left, at (262, 701). I place it to the right of the blue duck, at (544, 610)."
    with pytest.raises(gr.Error, match="no scene yet"):
        playground.point_at(text, "place", FakeClick((10, 10)), request=req)
    playground.new_scene(SPATIAL, None, "", "", "", 4, "PyBullet sim", request=req)
    side = playground.sessions.get("click").observation["observation.images.front"].shape[1]
    moved = playground.point_at(text, "place", FakeClick((side // 4, side // 2)), request=req)
    assert moved == text.replace("(544, 610)", "(250, 500)")
    assert playground.point_at(text, "object", FakeClick((0, 0)), request=req).startswith(
        "The red cube is at the front left, at (0, 0)."
    )
    with pytest.raises(gr.Error, match="click the front camera"):
        playground.point_at(text, "place", FakeClick((side + 5, 10)), request=req)  # the wrist half
    with pytest.raises(gr.Error, match="says no place point"):
        playground.point_at("The red cube is at the front left.", "place", FakeClick((5, 5)), request=req)
