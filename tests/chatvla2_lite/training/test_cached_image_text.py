"""The image-text cache serves the stream's own first samples, every one once an epoch, in a shuffled order."""

from __future__ import annotations

import pickle
from itertools import islice

import numpy as np

from chatvla2_lite.training.streams import cached_board_photo_stream, cached_image_text_stream, image_text_stream


def _key(sample):
    images = tuple(sample.observation[k].tobytes() for k in sorted(sample.observation))
    return sample.instruction, sample.target, hash(images)


def test_the_cache_holds_the_streams_first_samples_and_serves_each_once_an_epoch():
    direct = list(islice(image_text_stream("train", 3), 40))
    stream = cached_image_text_stream(40, "train", 3, workers=2, progress=False)
    first, second = [next(stream) for _ in range(40)], [next(stream) for _ in range(40)]
    assert sorted(map(_key, first)) == sorted(map(_key, direct)) == sorted(map(_key, second))
    assert [_key(s) for s in first] != [_key(s) for s in second]  # a new order every epoch
    assert {s.instruction for s in first} > {"What is written on the board?"}  # boards and scenes both


def test_kinds_draw_only_those_questions_in_their_weights_and_the_cache_serves_the_same():
    from collections import Counter

    kinds, ocr = {"cards": 3.0, "ocr": 1.0}, "What is written on the board?"
    direct = list(islice(image_text_stream("train", 5, kinds=kinds), 24))
    said = Counter("ocr" if s.instruction == ocr else "cards" for s in direct)
    assert said["cards"] > said["ocr"] > 0  # 3 to 1, give or take the draw
    assert all("card" in s.instruction or "tray" in s.instruction for s in direct if s.instruction != ocr)
    cached = cached_image_text_stream(24, "train", 5, workers=2, progress=False, kinds=kinds)
    assert sorted(map(_key, (next(cached) for _ in range(24)))) == sorted(map(_key, direct))


def test_the_caches_worker_processes_render_in_the_world_they_are_given():
    from sim.world import World

    world, kinds = World(448, "row"), {"card_list": 1.0}
    direct = list(islice(image_text_stream("train", 2, kinds=kinds, world=world), 6))
    assert {s.observation["observation.images.front"].shape for s in direct} == {(448, 448, 3)}
    assert all(s.instruction.startswith("What cards are on the table") for s in direct)  # a row always has an order
    cached = cached_image_text_stream(6, "train", 2, workers=2, progress=False, kinds=kinds, world=world)
    assert sorted(map(_key, (next(cached) for _ in range(6)))) == sorted(map(_key, direct))  # spawned workers too


def test_starting_the_stream_at_a_unit_gives_that_units_samples():
    from chatvla2_lite.data.image_text import ImageTextConfig, iter_image_text

    config = ImageTextConfig(board_view="front")
    full = [s for s in islice(iter_image_text("train", 3, config), 30) if s["unit"] >= 5]
    assert len(full) > 5
    later = list(islice(iter_image_text("train", 3, config, start=5), len(full)))
    assert [(s["question"], s["answer"]) for s in later] == [(s["question"], s["answer"]) for s in full]
    assert all(np.array_equal(a["images"]["front"], b["images"]["front"]) for a, b in zip(later, full))


def test_the_cache_renders_at_the_first_draw_inside_the_stages_clock(monkeypatch):
    from chatvla2_lite.data.samples import Sample
    from chatvla2_lite.training import streams

    calls = []
    monkeypatch.setattr(streams, "_made_once", lambda *args: calls.append(args) or [Sample({}, "q", "a")])
    stream = cached_image_text_stream(1, "train", 0, progress=False)
    assert not calls  # building the stream renders nothing yet
    assert next(stream).target == "a" and len(calls) == 1


def test_a_cache_dir_keeps_each_shard_and_the_next_run_reads_it_instead_of_rendering(tmp_path):
    first = [next(cached_board_photo_stream(70, "train", 2, workers=2, progress=False, cache_dir=tmp_path))]
    shards = sorted(tmp_path.glob("board_photo_shard-*.pickle"))
    assert len(shards) == 2 and not list(tmp_path.glob("*.partial"))  # 64 + 6 samples, each shard whole
    kept = pickle.loads(shards[0].read_bytes())
    marked = [(r0, rows, h, "marked " + q, a) for r0, rows, h, q, a in kept]  # what only the file can say
    shards[0].write_bytes(pickle.dumps(marked))
    again = cached_board_photo_stream(70, "train", 2, workers=2, progress=False, cache_dir=tmp_path)
    instructions = {next(again).instruction for _ in range(70)}
    assert sum(q.startswith("marked ") for q in instructions) >= 1 and first[0].observation
    other = cached_board_photo_stream(70, "train", 3, workers=2, progress=False, cache_dir=tmp_path)  # another seed
    assert not any(next(other).instruction.startswith("marked ") for _ in range(70))
