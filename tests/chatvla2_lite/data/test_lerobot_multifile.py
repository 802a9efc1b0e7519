"""The reader follows each episode into the data and video files its row names, as a dataset LeRobot's writer has
split across files (each rolls over when it fills) lays them out, and refuses metadata that points at the wrong
frames instead of returning another episode's data."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from chatvla2_lite.data.lerobot_dataset import LeRobotV3Writer, _decode_video, load_episodes
from sim.conventions import STATE_KEY, image_key

LENGTHS = (5, 7, 6)
SIZE = (32, 32)
FPS = 30


def episode(k: int, length: int) -> dict:
    """Synthetic frames unmistakably episode k's: states and actions k + t / 100, images a flat grey 40 + 80 k."""
    t = np.arange(length, dtype=np.float32)[:, None]
    values = np.repeat(k + t / 100, 6, axis=1).astype(np.float32)
    frames = np.full((length, *SIZE, 3), 40 + 80 * k, np.uint8)
    return {"state": values, "action": -values, "images": {"front": frames}}


def write(root, use_videos: bool) -> list[dict]:
    # h264, the codec the split below re-encodes each file in (losslessly), so info.json stays true of the files
    writer = LeRobotV3Writer(root, {"front": SIZE}, use_videos=use_videos, fps=FPS, codec="h264")
    eps = [episode(k, n) for k, n in enumerate(LENGTHS)]
    for k, ep in enumerate(eps):
        writer.add_episode(ep["state"], ep["action"], ep["images"], f"task {k}", {"seed": k})
    writer.finish()
    return eps


def split_last_episode_into_new_files(root, use_videos: bool) -> None:
    """Move the last episode into file-001 of data, videos and meta/episodes, as LeRobot's writer does once a file
    is full: its global frame indices stay, its video timestamps start again at 0 in the new video file."""
    data_dir, meta_dir = root / "data/chunk-000", root / "meta/episodes/chunk-000"
    data = pq.read_table(data_dir / "file-000.parquet")
    last = len(LENGTHS) - 1
    cut = sum(LENGTHS[:last])
    pq.write_table(data.slice(0, cut), data_dir / "file-000.parquet")
    pq.write_table(data.slice(cut), data_dir / "file-001.parquet")
    rows = pq.read_table(meta_dir / "file-000.parquet").to_pylist()
    moved = dict(rows[last], **{"data/file_index": 1, "meta/episodes/file_index": 1})
    if use_videos:
        import imageio_ffmpeg

        key = image_key("front")
        video_dir = root / f"videos/{key}/chunk-000"
        clips = _decode_video(video_dir / "file-000.mp4", [(0, cut), (cut, cut + LENGTHS[last])])
        for name, clip in (("file-000.mp4", clips[0]), ("file-001.mp4", clips[1])):
            out = imageio_ffmpeg.write_frames(
                str(video_dir / name),
                SIZE[::-1],
                fps=FPS,
                codec="libx264",
                macro_block_size=1,
                quality=None,
                output_params=["-crf", "0"],
                ffmpeg_log_level="error",
            )
            out.send(None)
            for frame in clip:
                out.send(np.ascontiguousarray(frame))
            out.close()
        moved |= {
            f"videos/{key}/file_index": 1,
            f"videos/{key}/from_timestamp": 0.0,
            f"videos/{key}/to_timestamp": LENGTHS[last] / FPS,
        }
    pq.write_table(pa.Table.from_pylist(rows[:last]), meta_dir / "file-000.parquet")
    pq.write_table(pa.Table.from_pylist([moved]), meta_dir / "file-001.parquet")


@pytest.mark.parametrize("use_videos", [False, True], ids=["png", "video"])
def test_every_episode_of_a_dataset_split_across_files_reads_back_exactly(tmp_path, use_videos):
    written = write(tmp_path, use_videos)
    split_last_episode_into_new_files(tmp_path, use_videos)
    read = load_episodes(tmp_path)
    assert [ep["episode_index"] for ep in read] == [0, 1, 2] and [ep["seed"] for ep in read] == [0, 1, 2]
    for ep, want in zip(read, written):
        assert ep["task"] == f"task {ep['episode_index']}"
        np.testing.assert_array_equal(ep[STATE_KEY], want["state"])
        np.testing.assert_array_equal(ep["action"], want["action"])
        frames = ep[image_key("front")]
        assert frames.shape == want["images"]["front"].shape
        assert np.abs(frames.astype(int) - want["images"]["front"]).max() <= 3, "another episode's images"
    assert [ep["episode_index"] for ep in load_episodes(tmp_path, episodes=[2])] == [2]


def test_metadata_that_points_an_episode_at_the_wrong_frames_is_refused(tmp_path):
    write(tmp_path, use_videos=False)
    split_last_episode_into_new_files(tmp_path, use_videos=False)
    meta = tmp_path / "meta/episodes/chunk-000/file-001.parquet"
    row = pq.read_table(meta).to_pylist()[0]
    pq.write_table(pa.Table.from_pylist([dict(row, **{"data/file_index": 0})]), meta)  # file-000 lacks its frames
    with pytest.raises(ValueError, match="episode 2 should be frames 12..17"):
        load_episodes(tmp_path)
    (tmp_path / "data/chunk-000/file-000.parquet").unlink()
    with pytest.raises(ValueError, match="missing"):
        load_episodes(tmp_path)
