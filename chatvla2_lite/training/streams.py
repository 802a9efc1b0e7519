"""The sample streams a stage mixes: image-text questions made on the fly, and recorded robot demos."""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from chatvla2_lite.data.board_photos import BOARDS_PER_SCENE, iter_board_photos
from chatvla2_lite.data.expert_near_misses import near_miss_samples
from chatvla2_lite.data.expert_rollouts import ROLLOUT_EVERY, expert_rollout_samples
from chatvla2_lite.data.image_text import ImageTextConfig, iter_image_text, to_processor_inputs
from chatvla2_lite.data.image_text_cache import decode_png, encode_png
from chatvla2_lite.data.lerobot_dataset import load_episodes
from chatvla2_lite.data.paraphrase import renamed, reworded
from chatvla2_lite.data.photo_boards import iter_photo_questions
from chatvla2_lite.data.samples import Sample, action_chunk
from chatvla2_lite.model.pixel_encoder import action_pixels
from chatvla2_lite.training.samples import encode_batch
from sim.conventions import IMAGE_KEY, STATE_KEY, image_key
from sim.world import World


def image_text_config(kinds: dict[str, float] | None = None, world=None):
    """The training streams' ImageTextConfig: boards photographed by the front camera, as the robot sees them;
    `kinds` (kind -> relative weight) draws only those kinds in those shares, None every kind equally; `world`
    (sim.world.World, None the default) the scenes' camera size and card layout."""
    world = World.of(world)
    if not kinds:
        return ImageTextConfig(board_view="front", world=world)
    return ImageTextConfig(
        kinds=tuple(kinds), weights=tuple(float(w) for w in kinds.values()), board_view="front", world=world
    )


def image_text_stream(
    split: str = "train",
    seed: int = 0,
    start: int = 0,
    units: int | None = None,
    kinds: dict[str, float] | None = None,
    world=None,
) -> Iterator[Sample]:
    """Seeded VQA samples of `kinds` in `world` (see image_text_config), endless or of units start..start+units
    only."""
    stream = iter_image_text(split, seed, image_text_config(kinds, world), start=start)
    try:
        for sample in stream:
            if units is not None and sample["unit"] >= start + units:
                return
            yield Sample(*to_processor_inputs(sample))
    finally:
        stream.close()  # its renderer's physics server, now rather than at garbage collection


BOARD_MAKERS = {"board_text": iter_board_photos, "photo_text": iter_photo_questions}  # a source's front frames


def board_photo_stream(split: str = "train", seed: int = 0, world=None, source: str = "board_text") -> Iterator[Sample]:
    """Endless seeded OCR and math questions on a board source's frames (BOARD_MAKERS: boards repainted in one scene
    of `world`, the fast data of the read stage, or phone photos of a whiteboard in the split's corpus handwriting
    sent through the playground's photo path)."""
    for sample in BOARD_MAKERS[source](split, seed, world=world):
        observation, question, answer = to_processor_inputs(sample)
        yield Sample(observation, question, answer)


def _board_photo_shard(
    split: str, seed: int, start: int, count: int, band: tuple[float, float], world=None, source: str = "board_text"
) -> list[tuple]:
    """Samples start..start+count of the source's board frames (BOARD_MAKERS) as (first row kept, rows of the front
    frame inside `band`, frame height, question, answer)."""
    import itertools
    import math

    out = []
    for sample in itertools.islice(BOARD_MAKERS[source](split, seed, start=start, world=world), count):
        front = sample["images"]["front"]
        h = front.shape[0]
        r0, r1 = max(0, math.floor(band[0] * h) - 1), min(h, math.ceil(band[1] * h) + 1)  # a row spare for rounding
        out.append((r0, front[r0:r1].copy(), h, sample["question"], sample["answer"]))
    return out


def _board_photo_sample(item: tuple) -> Sample:
    r0, rows, h, question, answer = item
    front = np.zeros((h, rows.shape[1], 3), np.uint8)
    front[r0 : r0 + len(rows)] = rows
    return Sample({image_key("front"): front}, question, answer)


def _image_text_shard(
    split: str, seed: int, start: int, units: int, kinds: dict[str, float] | None, world=None
) -> list[Sample]:
    return [packed(s) for s in image_text_stream(split, seed, start, units, kinds, world)]  # packed in the workers


def packed(sample: Sample) -> Sample:
    """The sample with its camera images as PNG bytes, which `unpacked` restores: sim renders pack 57 times smaller
    at 224 px and 113 at 448 (a scene sample's two frames from 1,204 kB to 10.6 kB), so a cache of them fits in
    memory at any camera size."""
    from dataclasses import replace

    return replace(
        sample, observation={k: encode_png(v) if k.startswith(IMAGE_KEY) else v for k, v in sample.observation.items()}
    )


def unpacked(sample: Sample) -> Sample:
    """A packed sample with its images decoded again, the same pixels (PNG is lossless), in a new Sample."""
    from dataclasses import replace

    return replace(sample, observation={k: _pixels(v) for k, v in sample.observation.items()})


def _pixels(value):
    """A PNG-packed image as uint8 (H, W, 3); anything else as it is."""
    return decode_png(value) if isinstance(value, bytes) else value


def _call(job: tuple) -> list:
    make_shard, args = job
    return make_shard(*args)


def _made_once(
    make_shard, shard_args, count: int, workers: int, desc: str, progress: bool, cache_dir: Path | None = None
) -> list:
    """The first `count` items of make_shard(*args) over `shard_args` in order, made by `workers` processes. With
    `cache_dir`, each shard is kept there as it is made and read back next time (a resumed run, a later session):
    a shard is a pure function of its arguments, so the file is named by them."""
    import multiprocessing

    from tqdm.auto import tqdm

    shard_args = list(shard_args)
    files = [_shard_file(cache_dir, make_shard, args) if cache_dir else None for args in shard_args]
    kept = {i: _read_shard(f) for i, f in enumerate(files) if f is not None and f.is_file()}
    missing = [i for i in range(len(shard_args)) if i not in kept]
    items: list = []
    with (
        multiprocessing.get_context("spawn").Pool(workers) as pool,
        tqdm(total=count, desc=desc, unit="sample", disable=not progress) as bar,
    ):
        made = pool.imap(_call, ((make_shard, shard_args[i]) for i in missing))
        for i in range(len(shard_args)):
            shard = kept[i] if i in kept else next(made)
            if i not in kept and files[i] is not None:
                _write_shard(files[i], shard)
            items.extend(shard[: count - len(items)])
            bar.update(min(len(shard), bar.total - bar.n))
            if len(items) >= count:
                break  # leaving the block stops the shards still running
    return items


def _shard_file(cache_dir: Path, make_shard, args: tuple) -> Path:
    key = hashlib.sha256(repr((make_shard.__name__, args)).encode()).hexdigest()[:24]
    return Path(cache_dir) / f"{make_shard.__name__.strip('_')}-{key}.pickle"


def _read_shard(path: Path) -> list:
    with open(path, "rb") as f:
        return pickle.load(f)  # our own render cache under the run's folder, never a downloaded file


def _write_shard(path: Path, shard: list) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with open(partial, "wb") as f:
        pickle.dump(shard, f, protocol=pickle.HIGHEST_PROTOCOL)
    partial.replace(path)  # whole or absent: a run killed mid-write leaves no half shard


def _served_every_epoch(items: list, restore, seed: int) -> Iterator[Sample]:
    rng = np.random.default_rng(seed)
    while True:
        for i in rng.permutation(len(items)):
            yield restore(items[i])


def cached_board_photo_stream(
    count: int,
    split: str = "train",
    seed: int = 0,
    band: tuple[float, float] = (0.0, 1.0),
    workers: int = 2,
    progress: bool = True,
    world=None,
    source: str = "board_text",
    cache_dir: Path | None = None,
) -> Iterator[Sample]:
    """The first `count` samples of a board source (BOARD_MAKERS: the sim's boards, or phone photos), made once by
    `workers` processes (kept in `cache_dir` when given), then served from memory in a new seeded order every
    epoch: training runs on both cores instead of waiting for renders on one. Only the rows `band` (fractions of
    the height) of each front frame are kept, the rest left black: the stage's views read nothing else, and whole
    frames of 50,000 samples would take 7.5 GB."""
    shards = [
        (split, seed, s, min(BOARDS_PER_SCENE, count - s), band, world, source)
        for s in range(0, count, BOARDS_PER_SCENE)
    ]
    # rendered at the first draw, inside the stage's clock, so its wall time counts the rendering
    items = _made_once(_board_photo_shard, shards, count, workers, f"render {source}", progress, cache_dir)
    yield from _served_every_epoch(items, _board_photo_sample, (seed, count))


# Units of the image-text stream per job of the cache's workers: a few scenes, each with its questions.
IMAGE_TEXT_UNITS_PER_SHARD = 16


def cached_image_text_stream(
    count: int,
    split: str = "train",
    seed: int = 0,
    workers: int = 2,
    progress: bool = True,
    kinds: dict[str, float] | None = None,
    world=None,
    cache_dir: Path | None = None,
) -> Iterator[Sample]:
    """image_text_stream's first `count` samples, made once by `workers` processes (kept in `cache_dir` when given),
    then served from memory in a new seeded order every epoch, their images PNG-packed there (`packed`) and decoded
    as they are served."""
    n = IMAGE_TEXT_UNITS_PER_SHARD
    # a unit gives a sample or more: enough
    shards = [(split, seed, start, n, kinds, world) for start in range(0, count, n)]
    # at the first draw
    items = _made_once(_image_text_shard, shards, count, workers, "render scenes", progress, cache_dir)
    yield from _served_every_epoch(items, unpacked, (seed, count))


# Every 3rd recorded frame starts a training chunk: at 30 fps neighbours look alike, and the images of all
# frames of 400 demos would need about 18 GB of memory unpacked at 224 px (6 GB at this stride).
ROBOT_IMAGE_STRIDE = 3


def robot_frames(episodes: list[dict], stride: int = 1) -> list[tuple[int, int]]:
    """Every (episode, frame) pair that can start an action chunk, every `stride`-th frame."""
    return [(e, t) for e, ep in enumerate(episodes) for t in range(0, len(ep["action"]), stride)]


def robot_stream(
    dataset_dirs: list[str | Path],
    chunk: int,
    seed: int = 0,
    stride: int = ROBOT_IMAGE_STRIDE,
    reword: float = 0.0,
    rename: float = 0.0,
) -> Iterator[Sample]:
    """Endless random frames of recorded demos (every `stride`-th): the frame's images and state, the episode's
    instruction (a `reword` share of them said another way, a `rename` share with made-up toy names) and reasoning
    target, and the next `chunk` actions."""
    # kept PNG-packed, as the image-text cache keeps its frames (see `packed`), and decoded as they are drawn
    episodes = [ep for d in dataset_dirs for ep in load_episodes(d, image_stride=stride, packed=True)]
    if not episodes:
        raise ValueError(f"no episodes in {[str(d) for d in dataset_dirs]}; record some with `chatvla2-lite record`")
    frames = robot_frames(episodes, stride)
    rng = np.random.default_rng(seed)
    while True:
        e, t = frames[int(rng.integers(len(frames)))]
        yield _frame_sample(episodes[e], t, chunk, stride, rng, reword, rename)


def _frame_sample(
    ep: dict, t: int, chunk: int, stride: int, rng: np.random.Generator, reword: float, rename: float = 0.0
) -> Sample:
    """Frame t of episode `ep` as a robot sample: its images and state, the episode's instruction and reasoning
    target (with probability `rename` its toys given made-up names, then with probability `reword` the instruction
    said another way, both drawn from `rng`), and the next `chunk` actions."""
    observation = {k: _pixels(v[t // stride]) for k, v in ep.items() if k.startswith(IMAGE_KEY)}
    observation[STATE_KEY] = ep[STATE_KEY][t]
    instruction, reasoning = (
        renamed(ep["instruction"], ep["reasoning"], rng, rename) if rename else (ep["instruction"], ep["reasoning"])
    )
    instruction = reworded(instruction, rng, reword) if reword else instruction
    return Sample(observation, instruction, reasoning, action_chunk(ep["action"], t, chunk))


def robot_frame_samples(
    dataset_dirs: list[str | Path],
    chunk: int,
    seed: int = 0,
    stride: int = ROBOT_IMAGE_STRIDE,
    reword: float = 0.0,
    rename: float = 0.0,
) -> Iterator[Sample]:
    """Every `stride`-th frame of the demos once, in order, as robot_stream makes them (a `reword` share of the
    instructions said another way, a `rename` share with made-up toy names), loading one dataset at a time."""
    rng = np.random.default_rng(seed)
    for d in dataset_dirs:
        episodes = load_episodes(d, image_stride=stride, packed=True)  # one dataset at 448 px is 12 GB unpacked
        for e, t in robot_frames(episodes, stride):
            yield _frame_sample(episodes[e], t, chunk, stride, rng, reword, rename)


@torch.no_grad()
def backbone_features(model, processor, samples: list[Sample]) -> list[dict[str, torch.Tensor]]:
    """What the (frozen) backbone makes of each sample: per sample its hidden states at the model's condition layer
    (float16, padding cut off) and its prompt and reasoning masks."""
    device = next(model.parameters()).device
    batch = {k: v.to(device) for k, v in encode_batch(processor, samples).items() if k not in ("action", STATE_KEY)}
    encoding = model.encode(batch)
    out = []
    for i, length in enumerate(batch["attention_mask"].sum(1).tolist()):
        out.append(
            {
                "hidden": encoding.hidden[i, :length].to("cpu", torch.float16).clone(),
                "prompt_mask": encoding.prompt_mask[i, :length].cpu().clone(),
                "reasoning_mask": encoding.reasoning_mask[i, :length].cpu().clone(),
                "obs_grid": encoding.obs_grid[i, :length].to("cpu", torch.uint8).clone(),
            }
        )
    return out


def feature_samples(model, processor, samples: list[Sample]) -> list[Sample]:
    """The robot samples as the action stage trains on them: the frozen backbone's features instead of the images,
    the state, instruction, reasoning and actions kept, and the small images of an expert's pixel encoder."""
    features = backbone_features(model, processor, samples)
    if (pixels := model.config.action_expert.pixels) is not None:
        for s, f in zip(samples, features):
            f["pixels"] = torch.from_numpy(action_pixels(s.observation, *pixels))
    return [
        Sample(
            {STATE_KEY: s.observation[STATE_KEY]},
            s.instruction,
            s.target,
            s.action,
            features=f,
        )
        for s, f in zip(samples, features)
    ]


def cached_robot_feature_stream(
    model,
    processor,
    dataset_dirs: list[str | Path],
    chunk: int,
    count: int,
    seed: int = 0,
    reword: float = 0.0,
    rename: float = 0.0,
    batch_size: int = 32,
    progress: bool = True,
) -> Iterator[Sample]:
    """Robot samples for a stage whose backbone is frozen: the first `count` demo frames run through the backbone
    once, kept as float16 hidden states (their images dropped) and served in a new seeded order every epoch. A step
    then costs only the action expert's: 0.52 s for 64 samples on one thread, where the full forward took 0.57 s for
    16 on two."""
    import itertools

    there = len(robot_frames([ep for d in dataset_dirs for ep in load_episodes(d, images=False)], ROBOT_IMAGE_STRIDE))
    frames = itertools.islice(robot_frame_samples(dataset_dirs, chunk, seed, reword=reword, rename=rename), count)
    yield from _read_once(
        model,
        processor,
        frames,
        min(count, there),
        "backbone features",
        batch_size,
        seed,
        progress,
        f"no frames in {[str(d) for d in dataset_dirs]}; record some with `chatvla2-lite record`",
    )


def cached_rollout_feature_stream(
    model,
    processor,
    scenes: int,
    chunk: int,
    seed: int = 0,
    reword: float = 0.0,
    rename: float = 0.0,
    batch_size: int = 32,
    progress: bool = True,
    follow_picks: float = 0.0,
) -> Iterator[Sample]:
    """Samples of `scenes` expert rollouts (data.expert_rollouts; a `follow_picks` share of the math ones taking the
    card another reasoning names), run in the sim by a worker on the second core while this one reads them through
    the frozen backbone, then served as cached_robot_feature_stream serves."""
    from functools import partial

    looks = prefetched(
        partial(
            expert_rollout_samples,
            scenes,
            "train",
            seed,
            chunk,
            ROLLOUT_EVERY,
            reword,
            rename,
            world=processor.world,
            follow_picks=follow_picks,
        )
    )
    yield from _read_once(
        model,
        processor,
        looks,
        None,
        f"rollout features ({scenes} scenes)",
        batch_size,
        seed,
        progress,
        f"the scripted expert finished none of {scenes} rollout scenes",
    )


def cached_near_miss_feature_stream(
    model,
    processor,
    scenes: int,
    chunk: int,
    seed: int = 0,
    reword: float = 0.0,
    rename: float = 0.0,
    batch_size: int = 32,
    workers: int = 2,
    progress: bool = True,
    wrong_picks: float = 0.0,
    recover_picks: bool = False,
    turn_misses: float = 0.0,
) -> Iterator[Sample]:
    """Samples of `scenes` near-miss scenes (data.expert_near_misses; a `wrong_picks` share of the math ones heading
    for another card, with `recover_picks` the true expert then taking the answer card; a `turn_misses` share with the
    decoy's wrist turned off the grasp), made by `workers` processes
    that split the scenes, then served as cached_robot_feature_stream serves."""
    from functools import partial

    make = partial(
        near_miss_samples,
        scenes,
        "train",
        seed,
        chunk,
        reword,
        rename,
        wrong_picks=wrong_picks,
        recover_picks=recover_picks,
        world=processor.world,
        turn_misses=turn_misses,
    )
    yield from _sharded_and_read(
        model,
        processor,
        make,
        workers,
        f"near misses ({scenes} scenes)",
        batch_size,
        seed,
        progress,
        f"no look of {scenes} near-miss scenes left the object untouched",
    )


def _sharded_and_read(
    model, processor, make, workers: int, desc: str, batch_size: int, seed: int, progress: bool, none_read: str
) -> Iterator[Sample]:
    """make(shard=...)'s samples made by `workers` processes that split them, then read once (_read_once)."""
    from functools import partial

    looks = prefetched(partial(_in_worker_shard, make), workers=workers)
    yield from _read_once(model, processor, looks, None, desc, batch_size, seed, progress, none_read)


def _in_worker_shard(make) -> Iterator[Sample]:
    """make(shard=(this loader worker's index, the number of workers)): each worker makes its own share."""
    from torch.utils.data import get_worker_info

    info = get_worker_info()
    return make(shard=(0, 1) if info is None else (info.id, info.num_workers))


def _read_once(
    model,
    processor,
    samples: Iterator[Sample],
    total: int | None,
    desc: str,
    batch_size: int,
    seed: int,
    progress: bool,
    none_read: str,
) -> Iterator[Sample]:
    """`samples` as feature_samples, read `batch_size` at a time in eval mode with a progress bar, then served in a
    new seeded order every epoch; ValueError(`none_read`) when there were none."""
    import itertools

    from tqdm.auto import tqdm

    was_training = model.training
    model.eval()
    items: list[Sample] = []
    with tqdm(total=total, desc=desc, unit="frame", disable=not progress) as bar:
        while batch := list(itertools.islice(samples, batch_size)):
            items += feature_samples(model, processor, batch)
            bar.update(len(batch))
    model.train(was_training)
    if not items:
        raise ValueError(none_read)
    yield from _served_every_epoch(items, lambda s: s, (seed, len(items)))


def robot_samples_for_stats(dataset_dirs: list[str | Path], chunk: int) -> list[Sample]:
    """Every frame of the demos as samples without images, for the normalisation statistics."""
    out = []
    for ep in (ep for d in dataset_dirs for ep in load_episodes(d, images=False)):
        for t in range(len(ep["action"])):
            out.append(Sample({STATE_KEY: ep[STATE_KEY][t]}, "", "", action_chunk(ep["action"], t, chunk)))
    return out


class _StreamDataset:
    """An IterableDataset over a stream made by `factory` (a picklable callable), inside the loader's worker."""

    def __init__(self, factory):
        self.factory = factory

    def __iter__(self):
        return iter(self.factory())


def _as_is(sample):
    return sample


def prefetched(factory, prefetch: int = 64, workers: int = 1) -> Iterator[Sample]:
    """The stream `factory()` made in `workers` worker processes (each makes the whole stream unless the factory
    shards it), `prefetch` samples ahead: data making (sim renders) then runs on the second core while the first
    one trains."""
    import torch
    from torch.utils.data import DataLoader, IterableDataset

    dataset = type("StreamDataset", (_StreamDataset, IterableDataset), {})(factory)
    loader = DataLoader(
        dataset,
        batch_size=None,
        num_workers=workers,
        prefetch_factor=prefetch,
        collate_fn=_as_is,
        persistent_workers=False,
        worker_init_fn=lambda _: torch.set_num_threads(1),
    )
    return iter(loader)
