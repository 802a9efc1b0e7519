"""`chatvla2-lite record`: one JSON summary line, and a clear error for a folder that is already used."""

from __future__ import annotations

import json

import pytest

from chatvla2_lite.cli import main


@pytest.mark.slow
def test_record_prints_one_json_summary(tmp_path, capsys):
    out = tmp_path / "toy"
    assert (
        main(["record", "--task", "toy_placement", "--episodes", "1", "--out", str(out), "--seed", "3", "--json"]) == 0
    )
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["episodes_kept"] == 1 and summary["episodes_tried"] >= 1 and summary["frames"] > 0
    assert summary["out"] == str(out.resolve()) and summary["wall_s"] > 0
    assert (out / "meta/info.json").is_file()
    assert main(["record", "--task", "toy_placement", "--episodes", "1", "--out", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err


@pytest.mark.slow
def test_record_in_another_world_and_the_demos_are_checked_against_a_models_world(tmp_path, capsys):
    from chatvla2_lite.data.lerobot_dataset import load_episodes, load_info
    from chatvla2_lite.data.record import check_demos_world
    from sim.world import World

    out = tmp_path / "row"
    args = ["record", "--task", "math_matching", "--episodes", "1", "--out", str(out), "--images", "--json"]
    assert main([*args, "--camera-size", "112", "--card-layout", "row"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["world"] == {"camera_size": 112, "card_layout": "row", "points": False, "fonts": "matplotlib"}
    assert load_info(out)["features"]["observation.images.front"]["shape"] == [112, 112, 3]
    episode = load_episodes(out)[0]
    assert json.loads(episode["ground_truth"])["card_layout"] == "row"
    assert episode["observation.images.wrist"].shape[1:] == (112, 112, 3)
    check_demos_world([out], World(112, "row"))
    for other in (World(112, "scattered"), World(224, "row")):
        with pytest.raises(
            ValueError,
            match="record them again with `chatvla2-lite record --camera-size "
            f"{other.camera_size} --card-layout {other.card_layout}`",
        ):
            check_demos_world([out], other)
    assert main([*args[:-3], str(tmp_path / "odd"), "--camera-size", "64"]) == 2
    assert "camera size must be a whole number of pixels from 112 to 1024" in capsys.readouterr().err
