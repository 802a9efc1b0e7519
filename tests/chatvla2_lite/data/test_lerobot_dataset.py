"""LeRobot v3.0 demos: record real expert episodes, read them back; the writer's layout and frame alignment."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from chatvla2_lite.data.lerobot_dataset import LeRobotV3Writer, load_episodes, load_info
from chatvla2_lite.data.reasoning_targets import parse_math_reasoning
from chatvla2_lite.data.record import record_dataset


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    out = tmp_path_factory.mktemp("rec") / "math"
    summary = record_dataset("math_matching", 2, out, split="train", seed=0, progress=False)
    return out, summary


@pytest.mark.slow
def test_record_writes_the_v3_layout(recorded):
    out, summary = recorded
    assert summary["episodes_kept"] == 2 and summary["episodes_tried"] >= 2
    for rel in (
        "meta/info.json",
        "meta/stats.json",
        "meta/tasks.parquet",
        "meta/episodes/chunk-000/file-000.parquet",
        "data/chunk-000/file-000.parquet",
        "videos/observation.images.front/chunk-000/file-000.mp4",
        "videos/observation.images.wrist/chunk-000/file-000.mp4",
    ):
        assert (out / rel).is_file(), rel
    info = load_info(out)
    assert info["codebase_version"] == "v3.0" and info["robot_type"] == "so100_follower" and info["fps"] == 30
    assert info["total_episodes"] == 2 and info["total_frames"] == summary["frames"]
    features = info["features"]
    expected = {
        "observation.state",
        "action",
        "observation.images.front",
        "observation.images.wrist",
        "timestamp",
        "frame_index",
        "episode_index",
        "index",
        "task_index",
    }
    assert set(features) == expected
    assert all({"dtype", "shape", "names"} <= set(f) for f in features.values())
    assert features["observation.state"]["names"][0] == "shoulder_pan" and features["action"]["shape"] == [6]
    assert features["observation.images.front"]["dtype"] == "video"
    assert features["observation.images.front"]["info"]["video.codec"] == "av1"  # LeRobot's default
    assert _stream_codec(out / "videos/observation.images.front/chunk-000/file-000.mp4") == "av1"
    data = pq.read_table(out / "data/chunk-000/file-000.parquet")
    columns = set(data.column_names)
    assert columns == {k for k, f in features.items() if f["dtype"] != "video"}
    assert data.column("index").to_pylist() == list(range(info["total_frames"]))
    tasks = pd.read_parquet(out / "meta/tasks.parquet")
    assert tasks.index.name == "task" and sorted(tasks["task_index"]) == list(range(info["total_tasks"]))


@pytest.mark.slow
def test_record_reads_back(recorded):
    out, summary = recorded
    episodes = load_episodes(out)
    assert len(episodes) == 2 and sum(e["length"] for e in episodes) == summary["frames"]
    tasks = pd.read_parquet(out / "meta/tasks.parquet")
    data = pq.read_table(out / "data/chunk-000/file-000.parquet")
    for ep in episodes:
        n = ep["length"]
        assert ep["observation.state"].shape == ep["action"].shape == (n, 6)
        assert ep["observation.images.front"].shape == ep["observation.images.wrist"].shape == (n, 224, 224, 3)
        assert ep["observation.images.front"].dtype == np.uint8
        assert np.allclose(ep["timestamp"], np.arange(n) / 30, atol=1e-5)
        truth = json.loads(ep["ground_truth"])
        assert ep["task"] == truth["instruction"] == ep["instruction"]
        assert parse_math_reasoning(ep["reasoning"]) == (truth["equation"], truth["answer"])
        rows = data.slice(ep["dataset_from_index"], n)
        assert set(rows.column("task_index").to_pylist()) == {int(tasks.loc[ep["task"], "task_index"])}
        assert set(rows.column("episode_index").to_pylist()) == {ep["episode_index"]}


def test_writer_keeps_frames_aligned_in_video_and_png(tmp_path):
    rng = np.random.default_rng(0)
    lengths = (5, 7)
    # each frame a flat grey level of its own, so a frame off by one would show
    clips = [
        np.repeat(np.linspace(20, 230, n).astype(np.uint8)[:, None, None, None] + k, 32 * 48 * 3).reshape(n, 32, 48, 3)
        for k, n in enumerate(lengths)
    ]
    for use_videos, codec in ((True, "av1"), (True, "h264"), (False, "av1")):
        root = tmp_path / f"videos_{use_videos}_{codec}"
        writer = LeRobotV3Writer(root, {"front": (32, 48)}, use_videos=use_videos, codec=codec)
        for k, (n, clip) in enumerate(zip(lengths, clips)):
            state = rng.normal(size=(n, 6)).astype(np.float32)
            writer.add_episode(state, state + 1, {"front": clip}, task=f"task {k % 1}", extra={"reasoning": f"r{k}"})
        info = writer.finish()
        assert info["total_tasks"] == 1 and (info["video_path"] is None) == (not use_videos)
        if use_videos:  # the codec info.json names is the stream's own, as LeRobot's merge checks
            assert info["features"]["observation.images.front"]["info"]["video.codec"] == codec
            assert _stream_codec(next(root.glob("videos/*/chunk-000/file-000.mp4"))) == codec
        back = load_episodes(root)
        assert [e["reasoning"] for e in back] == ["r0", "r1"]
        for ep, clip in zip(back, clips):
            err = np.abs(ep["observation.images.front"].astype(int) - clip).mean(axis=(1, 2, 3))
            assert err.max() < (3 if use_videos else 1e-9), err
            assert np.allclose(ep["action"], ep["observation.state"] + 1)
        assert [e["length"] for e in load_episodes(root, episodes=[1], images=False)] == [7]
        strided = load_episodes(root, image_stride=3)  # frames 0, 3, 6, ... of each episode, the same pixels
        for ep, full in zip(strided, back):
            assert np.array_equal(ep["observation.images.front"], full["observation.images.front"][::3])
            assert len(ep["action"]) == len(full["action"])  # actions and states stay whole


def _stream_codec(path) -> str:
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    codec = next(reader)["codec"]
    reader.close()
    return codec


def test_writer_refuses_a_used_folder_and_empty_datasets(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "file").write_text("keep me")
    with pytest.raises(FileExistsError, match="not empty"):
        LeRobotV3Writer(tmp_path / "x", {"front": (32, 32)})
    with pytest.raises(ValueError, match="no episode"):
        LeRobotV3Writer(tmp_path / "y", {"front": (32, 32)}).finish()
    with pytest.raises(ValueError, match="unknown video codec"):
        LeRobotV3Writer(tmp_path / "z", {"front": (32, 32)}, codec="vp9")


@pytest.mark.slow
def test_packed_episodes_hold_png_frames_of_the_same_pixels_at_a_fraction_of_the_memory(recorded):
    from chatvla2_lite.data.image_text_cache import decode_png

    out, _ = recorded
    plain, packed = load_episodes(out, image_stride=3), load_episodes(out, image_stride=3, packed=True)
    for a, b in zip(plain, packed):
        for key in ("observation.images.front", "observation.images.wrist"):
            assert all(isinstance(x, bytes) for x in b[key]) and len(b[key]) == len(a[key])
            assert np.array_equal(np.stack([decode_png(x) for x in b[key]]), a[key])
            assert sum(map(len, b[key])) * 5 < a[key].nbytes  # the mp4's noise packs less than a render


@pytest.mark.slow
def test_record_writes_a_dataset_card(recorded):
    out, summary = recorded
    card = (out / "README.md").read_text()
    assert card.startswith("---\n") and "task_categories:" in card and "- robotics" in card
    assert "$" not in card.split("```")[0], "an unfilled template field in the card's front matter or title"
    assert "math_matching (train split)" in card and f"{summary['frames']} frames" in card
