"""Each training stage runs a few steps on the nano model, lowers its loss, trains only its part, and resumes."""

import json

import numpy as np
import pytest
import torch

from chatvla2_lite.data.samples import Sample
from chatvla2_lite.training.samples import mixed
from chatvla2_lite.training.stage import stage_config
from chatvla2_lite.training.trainer import fit_action_normalizers, train_stage


def _board_stream(seed):
    from sim.tasks.math_problems import equation_with_answer, sample_problem
    from sim.textures import draw_whiteboard

    rng = np.random.default_rng(seed)
    blank = np.full((112, 112, 3), 200, np.uint8)
    while True:
        problem = sample_problem(rng, "train")
        board = np.asarray(draw_whiteboard(problem.text, rng, "dejavu_sans").resize((112, 112)))
        yield Sample(
            {"observation.images.front": board, "observation.images.wrist": blank},
            "What is written on the board?",
            equation_with_answer(problem),
        )


def _robot_stream(seed):
    rng = np.random.default_rng(seed)
    while True:
        digit = int(rng.integers(10))
        img = np.full((112, 112, 3), 25 * digit, np.uint8)
        state = rng.normal(size=6).astype(np.float32) * 0.1
        action = np.tile(np.linspace(0, 1, 6, dtype=np.float32) * digit / 10, (16, 1)) + state
        yield Sample(
            {"observation.images.front": img, "observation.images.wrist": img, "observation.state": state},
            "Pick the card",
            f"I pick the card {digit}.",
            action,
        )


def _snapshot(module):
    return {n: p.detach().clone() for n, p in module.named_parameters()}


def _changed(before, module):
    return [n for n, p in module.named_parameters() if not torch.equal(before[n], p.detach())]


@pytest.fixture
def policy():
    from chatvla2_lite.model.policy_chatvla2 import ChatVLA2

    torch.manual_seed(0)
    return ChatVLA2.from_config()


def _stream(stage, seed=0):
    streams = {"image_text": _board_stream(seed), "board_text": _board_stream(seed), "robot": _robot_stream(seed)}
    return mixed(streams, stage.mix, np.random.default_rng(seed))


@pytest.mark.slow
def test_vlm_stage_lowers_the_loss_and_leaves_the_action_expert(policy, tmp_path):
    stage = stage_config("vlm", steps=30, batch_size=4, warmup_steps=2, lr=2e-3, log_every=5)
    expert = _snapshot(policy.model.action_expert)
    train_stage(policy, stage, _stream(stage), tmp_path, progress=False)
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["lm_loss"] < rows[0]["lm_loss"] * 0.8
    assert not _changed(expert, policy.model.action_expert)
    assert (tmp_path / "model" / "model.safetensors").is_file()


@pytest.mark.slow
def test_action_stage_trains_only_the_action_expert_and_reasoning_following(policy, tmp_path):
    stage = stage_config("action", steps=25, batch_size=4, warmup_steps=2, log_every=5)
    robot = _robot_stream(1)
    fit_action_normalizers(policy, [next(robot) for _ in range(32)])
    vlm = _snapshot(policy.model.vlm)
    follow = _snapshot(policy.model.reasoning_following)
    train_stage(policy, stage, _stream(stage), tmp_path, progress=False)
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["action_loss"] < rows[0]["action_loss"]
    assert not _changed(vlm, policy.model.vlm), "the VLM must stay frozen in the action stage"
    assert _changed(follow, policy.model.reasoning_following)


@pytest.mark.slow
def test_cotrain_mixes_both_sources_and_trains_the_moe(policy, tmp_path):
    stage = stage_config("cotrain", steps=6, batch_size=4, warmup_steps=1, log_every=1)
    moe = _snapshot(next(iter(policy.model.moe_layers.values())).experts)
    last = train_stage(policy, stage, _stream(stage), tmp_path, progress=False)
    assert last["lm_loss"] > 0 and last["action_loss"] > 0
    assert _changed(moe, next(iter(policy.model.moe_layers.values())).experts)


@pytest.mark.slow
def test_naive_recipe_keeps_the_moe_at_its_start(policy, tmp_path):
    stage = stage_config("naive", steps=4, batch_size=4, warmup_steps=1, log_every=1)
    moe = _snapshot(next(iter(policy.model.moe_layers.values())).experts)
    vlm_attn = _snapshot(policy.model.vlm.model.language_model.layers[0])
    train_stage(policy, stage, _stream(stage), tmp_path, progress=False)
    assert not _changed(moe, next(iter(policy.model.moe_layers.values())).experts)
    assert _changed(vlm_attn, policy.model.vlm.model.language_model.layers[0])


@pytest.mark.slow
def test_a_stage_resumes_where_it_stopped(policy, tmp_path):
    stage = stage_config("vlm", steps=3, batch_size=2, warmup_steps=1, log_every=1, save_every=1)
    train_stage(policy, stage, _stream(stage), tmp_path, progress=False)
    longer = stage_config("vlm", steps=5, batch_size=2, warmup_steps=1, log_every=1, save_every=1)
    train_stage(policy, longer, _stream(longer, seed=1), tmp_path, progress=False)
    steps = [json.loads(line)["step"] for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5]


@pytest.mark.slow
def test_the_read_stage_sees_the_board_view_alone_and_probes_through_it(policy, tmp_path):
    stage = stage_config("read", steps=20, batch_size=4, warmup_steps=2, lr=2e-3, log_every=5, probe_every=10)
    seen = []

    def probe(p, processor):
        seen.append([v["name"] for v in processor.views])
        return {"ocr": 0.5}

    train_stage(policy, stage, _stream(stage), tmp_path, progress=False, probe=probe)
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    losses = [r["lm_loss"] for r in rows if "lm_loss" in r]
    assert losses[-1] < losses[0] * 0.8
    assert seen == [["board"], ["board"]]
    assert [r["step"] for r in rows if "probe_ocr" in r] == [10, 20]
    assert [v["name"] for v in policy.processor.views] == ["board", "table", "wrist"]  # the policy keeps them all


def test_a_stage_renders_no_more_cached_samples_than_its_steps_draw():
    from chatvla2_lite.training.run import cache_size

    assert cache_size(stage_config("read", steps=8000), "board_text") == 49152  # 256,000 drawn
    cotrain = stage_config("cotrain", steps=1000)  # half of 16 x 1000 are image-text questions
    assert 8000 < cache_size(cotrain, "image_text") < 9000


def test_shares_set_some_of_a_stages_mix_and_keep_the_rest():
    stage = stage_config("action", rollouts=5, near_misses=5, mix={"robot": 0.25, "near_misses": 1.0})
    assert stage.mix == {"robot": 0.25, "rollouts": 0.5, "near_misses": 1.0}
    with pytest.raises(ValueError, match="draws no \\['robot'\\]; its sources are \\['image_text'\\]"):
        stage_config("vlm", mix={"robot": 1.0})
    with pytest.raises(ValueError, match="non-negative shares"):
        stage_config("action", mix={"robot": -1.0})


def test_kinds_weigh_the_image_text_questions_of_a_stage_that_draws_them():
    assert stage_config("vlm").kinds is None  # every kind alike
    assert stage_config("cotrain", kinds={"cards": 4.0, "ocr": 1.0}).kinds == {"cards": 4.0, "ocr": 1.0}
    with pytest.raises(ValueError, match="draws none"):
        stage_config("read", kinds={"cards": 1.0})  # the read stage draws boards, not image_text


def test_the_renamed_share_can_be_set_and_is_a_share():
    assert stage_config("cotrain").rename == 0.25
    assert stage_config("cotrain", rename=0.75).rename == 0.75
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="rename is a share of the demos, between 0 and 1"):
            stage_config("cotrain", rename=bad)


def test_cached_backbone_features_give_the_same_action_loss_as_the_full_forward(policy):
    from chatvla2_lite.training.samples import encode_batch
    from chatvla2_lite.training.streams import backbone_features

    robot = _robot_stream(2)
    fit_action_normalizers(policy, [next(robot) for _ in range(32)])
    samples = [next(robot) for _ in range(3)]
    samples[1].instruction = "Pick the card, please, and nothing else"  # unequal lengths: padding must not count
    model = policy.model.eval()
    with torch.no_grad():  # places that matter, so features that lost them would give another loss
        for table in (model.action_expert.obs_view, model.action_expert.obs_row, model.action_expert.obs_col):
            torch.nn.init.normal_(table.weight)
    full = model(encode_batch(policy.processor, samples), generator=torch.Generator().manual_seed(0))
    features = backbone_features(model, policy.processor, samples)
    assert [f["hidden"].dtype for f in features] == [torch.float16] * 3
    cached = [
        Sample({"observation.state": s.observation["observation.state"]}, "", "", s.action, features=f)
        for s, f in zip(samples, features)
    ]
    from_features = model(encode_batch(policy.processor, cached), generator=torch.Generator().manual_seed(0))
    assert from_features.lm_loss is None
    torch.testing.assert_close(from_features.action_loss, full.action_loss, rtol=2e-3, atol=2e-3)  # float16 storage


@pytest.mark.slow
def test_action_stage_on_cached_features_lowers_the_loss_and_keeps_the_backbone(policy, tmp_path):
    from chatvla2_lite.training.streams import _served_every_epoch, backbone_features

    robot = _robot_stream(3)
    fit_action_normalizers(policy, [next(robot) for _ in range(32)])
    samples = [next(robot) for _ in range(48)]
    features = backbone_features(policy.model.eval(), policy.processor, samples)
    items = [
        Sample({"observation.state": s.observation["observation.state"]}, s.instruction, s.target, s.action, features=f)
        for s, f in zip(samples, features)
    ]
    stage = stage_config("action", steps=40, batch_size=16, warmup_steps=2, log_every=5)
    vlm = _snapshot(policy.model.vlm)
    train_stage(policy, stage, _served_every_epoch(items, lambda s: s, 0), tmp_path, progress=False)
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["action_loss"] < rows[0]["action_loss"]
    assert not _changed(vlm, policy.model.vlm)


def _recipe(*sets):
    from chatvla2_lite.training.recipe import load_recipe

    return load_recipe("chatvla2", list(sets))


@pytest.mark.slow
def test_a_run_learns_in_the_recipes_world_saves_it_and_refuses_demos_from_another(tmp_path, monkeypatch):
    from chatvla2_lite.data.lerobot_dataset import LeRobotV3Writer
    from chatvla2_lite.model.processing_chatvla2 import ChatVLA2Processor
    from chatvla2_lite.training import streams
    from chatvla2_lite.training.recipe import RunConfig, demo_dirs
    from chatvla2_lite.training.run import train_run
    from sim.world import World

    shapes = []

    def spied(
        count, split, seed, progress, kinds, world, cache_dir
    ):  # the real samples, rendered here rather than in workers
        for sample in streams.image_text_stream(split, seed, kinds=kinds, world=world):
            shapes.append(sample.observation["observation.images.front"].shape)
            yield sample

    monkeypatch.setattr(streams, "cached_image_text_stream", spied)
    recipe = _recipe("world.camera_size=448", 'world.card_layout="row"')
    vlm = RunConfig(
        "x/vlm",
        stage_config("vlm", steps=1, batch_size=2, probe_every=0, kinds={"card_list": 1.0}),
        add_views=["cards"],
    )
    train_run(recipe, vlm, tmp_path, progress=False)
    saved = ChatVLA2Processor.from_pretrained(tmp_path / "x" / "vlm" / "model")
    assert World.of(saved.world) == World(448, "row") and [v["name"] for v in saved.views][-1] == "cards"
    assert shapes and set(shapes) == {(448, 448, 3)}
    for folder in demo_dirs(tmp_path, "demos200"):  # demos of the default world, 224 px
        writer = LeRobotV3Writer(folder, {"front": (224, 224), "wrist": (224, 224)}, use_videos=False)
        frames = np.zeros((2, 224, 224, 3), np.uint8)
        writer.add_episode(
            np.zeros((2, 6), np.float32),
            np.zeros((2, 6), np.float32),
            {"front": frames, "wrist": frames},
            task="t",
            extra={"ground_truth": json.dumps({"task": "math_matching"})},
        )
        writer.finish()
    action = RunConfig("x/action", stage_config("action", steps=1), init="x/vlm", demos="demos200")
    with pytest.raises(
        ValueError,
        match="recorded with 224x224 px cameras and scattered cards, the model is for 448 px cameras, row cards",
    ):
        train_run(recipe, action, tmp_path, progress=False)


@pytest.mark.slow
def test_export_writes_the_model_of_a_stopped_run_from_its_state(policy, tmp_path):
    from chatvla2_lite.model.policy_chatvla2 import ChatVLA2
    from chatvla2_lite.training.recipe import RunConfig
    from chatvla2_lite.training.run import export_run

    stage = stage_config("vlm", steps=2, batch_size=2, warmup_steps=1, lr=2e-3, save_every=1)
    train_stage(policy, stage, _stream(stage), tmp_path / "x" / "vlm", progress=False)
    trained = {n: p.detach().clone() for n, p in policy.model.named_parameters()}
    fresh = ChatVLA2.from_config(seed=0)
    assert _changed(trained, fresh.model)  # the export must bring the trained weights, not keep the fresh ones
    (tmp_path / "x" / "vlm" / "model" / "model.safetensors").unlink()
    result = export_run(_recipe(), RunConfig("x/vlm", stage), tmp_path)
    assert result["step"] == 2 and result["run"] == "x/vlm"
    exported = ChatVLA2.from_pretrained(tmp_path / "x" / "vlm" / "model")
    assert not _changed(trained, exported.model)
    steps = [json.loads(line)["step"] for line in (tmp_path / "x" / "vlm" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [2]  # nothing more was trained or logged
    with_pixels = RunConfig("x/vlm", stage_config("action"), pixel_cameras=["wrist"])
    with pytest.raises(ValueError, match="holds another model.s weights than this run builds"):
        export_run(_recipe(), with_pixels, tmp_path)


def test_export_says_what_is_missing(tmp_path):
    from chatvla2_lite.training.run import export_run

    recipe = _recipe()
    with pytest.raises(ValueError, match="no saved training state in"):
        export_run(recipe, recipe.run("r01/read"), tmp_path)


def test_an_action_run_with_sim_scenes_reads_its_demos_through_the_frozen_backbone_too():
    assert stage_config("action", rollouts=5, cache=10).cache == 10
    with pytest.raises(ValueError, match="so must the demos be"):
        stage_config("action", rollouts=5, cache=0)
