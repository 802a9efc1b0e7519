"""Robot demos in LeRobot's dataset v3.0 layout: a streaming writer and a reader for training.

    meta/info.json                                    schema (features with dtype/shape/names), fps, path templates
    meta/stats.json                                   min/max/mean/std/count/q01..q99 per feature (lerobot_stats.py)
    meta/tasks.parquet                                task string (index "task") -> task_index
    meta/episodes/chunk-000/file-000.parquet          one row per episode: length, tasks, frame and video offsets,
                                                      plus this project's columns (reasoning, ground truth, seed, ...)
    data/chunk-000/file-000.parquet                   one row per frame
    videos/observation.images.<cam>/chunk-000/file-000.mp4   every episode's frames back to back (AV1, or h264)

The writer puts all episodes into file-000 of chunk-000 (LeRobot rolls over to a new file at 100 MB of data or 200 MB
of video; a recording here stays far below that). The reader follows what each episode's row says, as LeRobot's own
does: its frames are the rows of global index dataset_from_index .. dataset_to_index - 1 of data file
(data/chunk_index, data/file_index), and seconds from_timestamp .. to_timestamp of each camera's video file.
With `use_videos=False` the frames are PNG images inside the data parquet (LeRobot's "image" dtype).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np

from chatvla2_lite.data import lerobot_stats
from chatvla2_lite.data.image_text_cache import decode_png, encode_png
from sim.conventions import STATE_KEY, image_key
from sim.so100_description import JOINT_NAMES  # light: the config module would import transformers

log = logging.getLogger(__name__)

CODEBASE_VERSION = "v3.0"
ROBOT_TYPE = "so100_follower"
FPS = 30
CHUNK_FILE = "chunk-000/file-000"
DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
# LeRobot's limits, recorded in info.json so its tools know when a file would roll over.
CHUNKS_SIZE, DATA_FILE_MB, VIDEO_FILE_MB = 1000, 100, 200
VIDEO_GOP = 2  # a key frame every 2 frames, as LeRobot encodes: random access stays cheap
# codec name in info.json -> ffmpeg encoder and its options; AV1 is LeRobot's default, so datasets merge with its own
VIDEO_CODECS = {
    "av1": ("libsvtav1", ["-crf", "30", "-preset", "12"]),
    "h264": ("libx264", ["-crf", "23", "-preset", "veryfast"]),
}
DEFAULT_CODEC = "av1"
INDEX_FEATURES = ("timestamp", "frame_index", "episode_index", "index", "task_index")


def build_features(
    cameras: dict[str, tuple[int, int]], use_videos: bool = True, fps: int = FPS, codec: str = DEFAULT_CODEC
) -> dict:
    """The info.json `features`: state and action (6 joints), an image or video per camera (name -> (H, W)), indices."""
    joints = {"dtype": "float32", "shape": [len(JOINT_NAMES)], "names": list(JOINT_NAMES)}
    features = {STATE_KEY: dict(joints), "action": dict(joints)}
    for cam, (h, w) in cameras.items():
        feature = {
            "dtype": "video" if use_videos else "image",
            "shape": [h, w, 3],
            "names": ["height", "width", "channels"],
        }
        if use_videos:
            feature["info"] = {
                "video.height": h,
                "video.width": w,
                "video.codec": codec,
                "video.pix_fmt": "yuv420p",
                "video.is_depth_map": False,
                "video.fps": fps,
                "video.channels": 3,
                "has_audio": False,
            }
        features[image_key(cam)] = feature
    features["timestamp"] = {"dtype": "float32", "shape": [1], "names": None}
    for name in INDEX_FEATURES[1:]:
        features[name] = {"dtype": "int64", "shape": [1], "names": None}
    return features


def _fixed_list(x: np.ndarray):
    """(T, D) floats as an Arrow fixed-size list column: what `datasets` writes for Sequence(length=D)."""
    import pyarrow as pa

    x = np.asarray(x, np.float32)
    return pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), x.shape[1])


def _encode_png(image: np.ndarray) -> bytes:
    return encode_png(image)


class LeRobotV3Writer:
    """Writes episodes one by one into a LeRobot v3.0 folder; call finish() to write the metadata."""

    def __init__(
        self,
        root: str | Path,
        cameras: dict[str, tuple[int, int]],
        use_videos: bool = True,
        fps: int = FPS,
        robot_type: str = ROBOT_TYPE,
        split: str = "train",
        codec: str = DEFAULT_CODEC,
    ):
        if codec not in VIDEO_CODECS:
            raise ValueError(f"unknown video codec {codec!r}; choose one of {sorted(VIDEO_CODECS)}")
        self.root, self.fps, self.use_videos, self.split, self.codec = Path(root), fps, use_videos, split, codec
        if self.root.exists() and any(self.root.iterdir()):
            raise FileExistsError(f"{self.root} is not empty; pass a new folder (or delete this one) to record into")
        self.cameras, self.robot_type = dict(cameras), robot_type
        self.features = build_features(self.cameras, use_videos, fps, codec)
        self.tasks: dict[str, int] = {}
        self.episodes: list[dict] = []
        self.frames: list = []  # pyarrow tables, one per episode
        self.episode_stats: dict[str, list[dict]] = {}  # feature -> one stats dict per episode
        self.videos: dict = {}
        self.total_frames = 0

    def _video(self, cam: str):
        if cam not in self.videos:
            import imageio_ffmpeg

            path = self.root / VIDEO_PATH.format(video_key=image_key(cam), chunk_index=0, file_index=0)
            path.parent.mkdir(parents=True, exist_ok=True)
            h, w = self.cameras[cam]
            encoder, options = VIDEO_CODECS[self.codec]
            os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints its banner on every file unless told errors only
            writer = imageio_ffmpeg.write_frames(
                str(path),
                (w, h),
                fps=self.fps,
                codec=encoder,
                pix_fmt_out="yuv420p",
                quality=None,
                macro_block_size=1,
                ffmpeg_log_level="error",
                output_params=[*options, "-g", str(VIDEO_GOP)],
            )
            writer.send(None)
            self.videos[cam] = writer
        return self.videos[cam]

    def add_episode(
        self, state: np.ndarray, action: np.ndarray, images: dict[str, np.ndarray], task: str, extra: dict | None = None
    ) -> int:
        """Append one episode: state, action (T, 6), images {camera: uint8 (T, H, W, 3)}, its task string, and extra
        per-episode columns (str, int, float or bool). Returns the episode's index."""
        import pyarrow as pa

        length = len(state)
        if length == 0 or len(action) != length or any(len(v) != length for v in images.values()):
            raise ValueError("an episode needs at least one frame and as many actions and images as states")
        if set(images) != set(self.cameras):
            raise ValueError(f"episode images {sorted(images)} do not match the cameras {sorted(self.cameras)}")
        episode_index = len(self.episodes)
        task_index = self.tasks.setdefault(task, len(self.tasks))
        start = self.total_frames
        columns = {key: _fixed_list(x) for key, x in ((STATE_KEY, state), ("action", action))}
        row = {
            "episode_index": episode_index,
            "tasks": [task],
            "length": length,
            "data/chunk_index": 0,
            "data/file_index": 0,
            "dataset_from_index": start,
            "dataset_to_index": start + length,
        }
        for cam, frames in images.items():
            key = image_key(cam)
            if self.use_videos:
                video = self._video(cam)
                for frame in frames:
                    video.send(np.ascontiguousarray(frame))
                t0 = start / self.fps
                row |= {
                    f"videos/{key}/chunk_index": 0,
                    f"videos/{key}/file_index": 0,
                    f"videos/{key}/from_timestamp": t0,
                    f"videos/{key}/to_timestamp": t0 + length / self.fps,
                }
            else:
                png = [{"bytes": _encode_png(f), "path": None} for f in frames]
                columns[key] = pa.array(png, pa.struct([("bytes", pa.binary()), ("path", pa.string())]))
            self._add_stats(row, key, lerobot_stats.image_stats(frames))
        columns |= {
            "timestamp": pa.array(np.arange(length, dtype=np.float32) / self.fps, pa.float32()),
            "frame_index": pa.array(np.arange(length), pa.int64()),
            "episode_index": pa.array(np.full(length, episode_index), pa.int64()),
            "index": pa.array(np.arange(start, start + length), pa.int64()),
            "task_index": pa.array(np.full(length, task_index), pa.int64()),
        }
        self.frames.append(pa.table(columns))
        index_values = {name: columns[name].to_numpy() for name in INDEX_FEATURES}
        for key, values in ((STATE_KEY, state), ("action", action), *index_values.items()):
            self._add_stats(row, key, lerobot_stats.vector_stats(values))
        row |= {"meta/episodes/chunk_index": 0, "meta/episodes/file_index": 0}
        row |= dict(extra or {})
        self.episodes.append(row)
        self.total_frames += length
        return episode_index

    def _add_stats(self, row: dict, key: str, stats: dict) -> None:
        """Keep an episode's stats of one feature, and write them into its row as LeRobot's `stats/...` columns."""
        self.episode_stats.setdefault(key, []).append(stats)
        row |= {f"stats/{key}/{k}": v for k, v in lerobot_stats.as_lists(stats).items()}

    def finish(self) -> dict:
        """Close the videos and write data, episodes, tasks, stats and info; returns the info dict."""
        import pandas as pd
        import pyarrow as pa
        import pyarrow.parquet as pq

        for writer in self.videos.values():
            writer.close()
        self.videos = {}
        if not self.episodes:
            raise ValueError("no episode was added; record at least one successful episode before finishing")
        data_path = self.root / DATA_PATH.format(chunk_index=0, file_index=0)
        data_path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.concat_tables(self.frames), data_path, compression="snappy")
        episodes_path = self.root / "meta/episodes" / f"{CHUNK_FILE}.parquet"
        episodes_path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(self.episodes), episodes_path)
        tasks = pd.DataFrame({"task_index": list(self.tasks.values())}, index=pd.Index(list(self.tasks), name="task"))
        tasks.to_parquet(self.root / "meta/tasks.parquet")
        stats = {key: lerobot_stats.as_lists(lerobot_stats.aggregate(e)) for key, e in self.episode_stats.items()}
        (self.root / "meta/stats.json").write_text(json.dumps(stats, indent=2) + "\n")
        info = {
            "codebase_version": CODEBASE_VERSION,
            "robot_type": self.robot_type,
            "total_episodes": len(self.episodes),
            "total_frames": self.total_frames,
            "total_tasks": len(self.tasks),
            "chunks_size": CHUNKS_SIZE,
            "data_files_size_in_mb": DATA_FILE_MB,
            "video_files_size_in_mb": VIDEO_FILE_MB,
            "fps": self.fps,
            "splits": {self.split: f"0:{len(self.episodes)}"},
            "data_path": DATA_PATH,
            "video_path": VIDEO_PATH if self.use_videos else None,
            "features": self.features,
        }
        (self.root / "meta/info.json").write_text(json.dumps(info, indent=4) + "\n")
        log.info("wrote %d episodes, %d frames to %s", len(self.episodes), self.total_frames, self.root)
        return info


def _decode_video(path: Path, ranges: list[tuple[int, int]], stride: int = 1, each=None) -> list:
    """Every `stride`-th frame of [start, stop) of each range, decoded in one pass over the mp4; uint8 (T, H, W, 3),
    or with `each` a list of each(frame) per range, made as the frames are decoded."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
    meta = next(reader)
    w, h = meta["size"]
    wanted = {i for a, b in ranges for i in range(a, b, stride)}
    frames = {}
    for i, raw in enumerate(reader):
        if i in wanted:
            frame = np.frombuffer(raw, np.uint8).reshape(h, w, 3)
            frames[i] = frame if each is None else each(frame)
    reader.close()
    missing = wanted - set(frames)
    if missing:
        raise ValueError(
            f"{path} holds fewer frames than its episodes say (frame {min(missing)} is missing); re-record it"
        )
    clips = [[frames[i] for i in range(a, b, stride)] for a, b in ranges]
    return clips if each is not None else [np.stack(clip) for clip in clips]


def load_info(root: str | Path) -> dict:
    """meta/info.json of a dataset folder."""
    return json.loads((Path(root) / "meta/info.json").read_text())


def load_episode_rows(root: str | Path) -> list[dict]:
    """Every row of meta/episodes, from all its files (LeRobot rolls those over too), in episode order."""
    import pyarrow.parquet as pq

    files = sorted((Path(root) / "meta/episodes").glob("chunk-*/file-*.parquet"))
    if not files:
        raise ValueError(f"{root} has no meta/episodes/chunk-*/file-*.parquet: it is no LeRobot v3.0 dataset")
    rows = [r for f in files for r in pq.read_table(f).to_pylist()]
    indices = [r["episode_index"] for r in rows]
    if len(set(indices)) != len(indices):
        raise ValueError(f"{root}/meta/episodes lists an episode twice; the dataset's metadata is corrupt")
    return sorted(rows, key=lambda r: r["episode_index"])


def _episode_frames(data, row: dict, path: Path):
    """The data file's rows of the episode `row` describes, checked: the global indices dataset_from_index ..
    dataset_to_index - 1 in order, all of that episode. Anything else raises: a reader must never hand back
    another episode's frames."""
    import pyarrow.compute as pc

    ep, a, b = row["episode_index"], row["dataset_from_index"], row["dataset_to_index"]
    index = data.column("index")
    first = index[0].as_py() if len(index) else None
    frames = data.slice(a - first, b - a) if first is not None and a >= first else data.slice(0, 0)
    if (
        len(frames) != b - a
        or frames.column("index").to_pylist() != list(range(a, b))
        or not pc.all(pc.equal(frames.column("episode_index"), ep)).as_py()
    ):
        raise ValueError(
            f"episode {ep} should be frames {a}..{b - 1} of {path}, which does not hold them; the dataset's "
            "meta/episodes and its data files disagree (re-record it, or rebuild its metadata with LeRobot)"
        )
    return frames


def load_episodes(
    root: str | Path,
    episodes: list[int] | None = None,
    images: bool = True,
    image_stride: int = 1,
    packed: bool = False,
) -> list[dict]:
    """The dataset's episodes (all, or those indexed), each a dict of the episode row's columns plus
    `task`, STATE_KEY / "action" float32 (T, 6), "timestamp" (T,) and, with `images`,
    "observation.images.<cam>" uint8 (ceil(T / image_stride), H, W, 3) decoded from the videos (or the PNGs):
    frames 0, image_stride, 2 * image_stride, ... (a 224x224 frame is 150 kB; 400 demos of both cameras at
    every frame would hold about 18 GB). With `packed` each camera's frames are instead a list of PNG bytes, each
    packed as it is decoded, so the frames never all stand in memory at full size (a frame decoded from the mp4
    packs about 9 times smaller at 224 px, its video noise and all; of PNG-stored frames the stored bytes are
    kept). Each episode is read from the data and video files its row names (LeRobot splits a dataset across
    files as they fill), and checked against them."""
    if image_stride < 1:
        raise ValueError(f"image_stride must be at least 1, got {image_stride}")
    import pyarrow.parquet as pq

    root = Path(root)
    info = load_info(root)
    wanted = None if episodes is None else set(episodes)
    rows = [r for r in load_episode_rows(root) if wanted is None or r["episode_index"] in wanted]
    keys = [k for k, f in info["features"].items() if f["dtype"] in ("video", "image")]
    out, tables = [], {}
    for row in rows:
        where = (row["data/chunk_index"], row["data/file_index"])
        path = root / info["data_path"].format(chunk_index=where[0], file_index=where[1])
        if where not in tables:
            if not path.is_file():
                raise ValueError(f"episode {row['episode_index']} is in {path}, which is missing; re-record it")
            tables[where] = pq.read_table(path)
        frames = _episode_frames(tables[where], row, path)
        ep = {k: v for k, v in row.items() if not k.startswith("stats/")}
        ep["task"] = row["tasks"][0]
        for key in (STATE_KEY, "action"):
            ep[key] = np.asarray(frames.column(key).to_pylist(), np.float32)
        ep["timestamp"] = frames.column("timestamp").to_numpy()
        if images and info["video_path"] is None:
            for key in keys:
                pngs = [x["bytes"] for x in frames.column(key).to_pylist()[::image_stride]]
                ep[key] = pngs if packed else np.stack([decode_png(x) for x in pngs])
        out.append(ep)
    if images and info["video_path"] is not None:
        fps = info["fps"]
        for key in keys:
            by_file: dict[tuple[int, int], list[dict]] = {}  # each video file decoded once, for all its episodes
            for ep in out:
                by_file.setdefault((ep[f"videos/{key}/chunk_index"], ep[f"videos/{key}/file_index"]), []).append(ep)
            for (chunk, file), eps in by_file.items():
                path = root / info["video_path"].format(video_key=key, chunk_index=chunk, file_index=file)
                if not path.is_file():
                    raise ValueError(f"episode {eps[0]['episode_index']}'s {key} is in {path}, which is missing")
                ranges = [
                    (round(ep[f"videos/{key}/from_timestamp"] * fps), round(ep[f"videos/{key}/to_timestamp"] * fps))
                    for ep in eps
                ]
                for ep, (a, b) in zip(eps, ranges):
                    if b - a != len(ep["timestamp"]):
                        raise ValueError(
                            f"episode {ep['episode_index']} has {len(ep['timestamp'])} frames but {b - a} in {path}"
                        )
                for ep, clip in zip(eps, _decode_video(path, ranges, image_stride, encode_png if packed else None)):
                    ep[key] = clip
    return out
