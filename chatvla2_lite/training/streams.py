"""The sample streams a stage mixes: image-text questions made on the fly, and recorded robot demos."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from chatvla2_lite.training.samples import Sample


def image_text_stream(split: str = "train", seed: int = 0) -> Iterator[Sample]:
    """Endless seeded VQA samples; boards are photographed by the front camera, as the robot sees them."""
    from chatvla2_lite.data.image_text import ImageTextConfig, iter_image_text, to_processor_inputs

    for sample in iter_image_text(split, seed, ImageTextConfig(board_view="front")):
        observation, question, answer = to_processor_inputs(sample)
        yield Sample(observation, question, answer)


def board_photo_stream(split: str = "train", seed: int = 0) -> Iterator[Sample]:
    """Endless seeded OCR and math questions on boards repainted in one scene: the fast data of the read stage."""
    from chatvla2_lite.data.board_photos import iter_board_photos
    from chatvla2_lite.data.image_text import to_processor_inputs

    for sample in iter_board_photos(split, seed):
        observation, question, answer = to_processor_inputs(sample)
        yield Sample(observation, question, answer)


# Every 3rd recorded frame starts a training chunk: at 30 fps neighbours look alike, and the images of all
# frames of 400 demos would need about 18 GB of memory (6 GB at this stride).
ROBOT_IMAGE_STRIDE = 3


def robot_frames(episodes: list[dict], stride: int = 1) -> list[tuple[int, int]]:
    """Every (episode, frame) pair that can start an action chunk, every `stride`-th frame."""
    return [(e, t) for e, ep in enumerate(episodes) for t in range(0, len(ep["action"]), stride)]


def action_chunk(actions: np.ndarray, t: int, chunk: int) -> np.ndarray:
    """The `chunk` actions from frame t on, the last one repeated past the episode's end; (chunk, 6)."""
    idx = np.minimum(np.arange(t, t + chunk), len(actions) - 1)
    return actions[idx]


def robot_stream(dataset_dirs: list[str | Path], chunk: int, seed: int = 0,
                 stride: int = ROBOT_IMAGE_STRIDE) -> Iterator[Sample]:  # fmt: skip
    """Endless random frames of recorded demos (every `stride`-th): the frame's images and state, the episode's
    instruction and reasoning target, and the next `chunk` actions."""
    from chatvla2_lite.data.lerobot_dataset import load_episodes

    episodes = [ep for d in dataset_dirs for ep in load_episodes(d, image_stride=stride)]
    if not episodes:
        raise ValueError(f"no episodes in {[str(d) for d in dataset_dirs]}; record some with `chatvla2-lite record`")
    cameras = [k for k in episodes[0] if k.startswith("observation.images.")]
    frames = robot_frames(episodes, stride)
    rng = np.random.default_rng(seed)
    while True:
        e, t = frames[int(rng.integers(len(frames)))]
        ep = episodes[e]
        observation = {k: ep[k][t // stride] for k in cameras}
        observation["observation.state"] = ep["observation.state"][t]
        yield Sample(observation, ep["instruction"], ep["reasoning"], action_chunk(ep["action"], t, chunk))


def robot_samples_for_stats(dataset_dirs: list[str | Path], chunk: int) -> list[Sample]:
    """Every frame of the demos as samples without images, for the normalisation statistics."""
    from chatvla2_lite.data.lerobot_dataset import load_episodes

    out = []
    for ep in (ep for d in dataset_dirs for ep in load_episodes(d, images=False)):
        for t in range(len(ep["action"])):
            out.append(Sample({"observation.state": ep["observation.state"][t]}, "", "", action_chunk(ep["action"], t, chunk)))
    return out


class _StreamDataset:
    """An IterableDataset over a stream made by `factory` (a picklable callable), inside the loader's worker."""

    def __init__(self, factory):
        self.factory = factory

    def __iter__(self):
        return iter(self.factory())


def _as_is(sample):
    return sample


def prefetched(factory, prefetch: int = 64) -> Iterator[Sample]:
    """The stream `factory()` made in a worker process, `prefetch` samples ahead: data making (sim renders)
    then runs on the second core while the first one trains."""
    import torch
    from torch.utils.data import DataLoader, IterableDataset

    dataset = type("StreamDataset", (_StreamDataset, IterableDataset), {})(factory)
    loader = DataLoader(dataset, batch_size=None, num_workers=1, prefetch_factor=prefetch, collate_fn=_as_is,
                        persistent_workers=False, worker_init_fn=lambda _: torch.set_num_threads(1))
    return iter(loader)
