"""`chatvla2-lite record`: scripted-expert demos with reasoning targets, written as a LeRobot v3.0 dataset.

Each episode is the sim's scripted expert on one seed, both cameras rendered every control step:
frame t holds the observation before action t and action t. Only episodes the expert finishes
successfully are kept; seeds are tried in order from `seed` until `episodes` are kept or
`max_tries` are spent. Each kept episode carries its instruction as the LeRobot task, and as extra
columns the reasoning target written from ground truth, the ground truth itself (JSON), its seed
and split.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np

import sim
from chatvla2_lite.data.lerobot_dataset import DEFAULT_CODEC, FPS, LeRobotV3Writer, load_episode_rows, load_info
from chatvla2_lite.data.reasoning_targets import reasoning_target
from chatvla2_lite.rollout import Acted, Ended, EnvRobot, ScriptActor, rollout
from sim.conventions import IMAGE_KEY, STATE_KEY, image_key
from sim.world import World

log = logging.getLogger(__name__)

CAMERAS = ("front", "wrist")
GROUND_TRUTH_SKIP = ("is_success", "step", "action_clamped")  # per-step fields, not the episode's truth


def run_expert(env, seed: int) -> tuple[dict, dict]:
    """One expert episode: (frames {"observation.state", "action": (T, 6), "observation.images.<cam>": (T, H, W, 3)},
    {"info": the reset info, "success": bool, "steps": int})."""
    obs, info = env.reset(seed=seed)
    expert = env.expert()
    states, actions = [], []
    images: dict[str, list] = {cam: [] for cam in env.camera_names}
    actor = ScriptActor(lambda: np.asarray(expert.act(), np.float32), every=1)  # a look, and a render, every step
    for event in rollout(actor, EnvRobot(env), obs, env.max_steps):
        if isinstance(event, Acted):
            states.append(event.look.observation[STATE_KEY])
            actions.append(event.actions[0])
            for cam in images:
                images[cam].append(event.look.observation[image_key(cam)])
        elif isinstance(event, Ended):
            step_info = event.info
    frames = {STATE_KEY: np.stack(states), "action": np.stack(actions)}
    frames |= {image_key(cam): np.stack(v) for cam, v in images.items()}
    return frames, {"info": info, "success": bool(step_info["is_success"]), "steps": int(step_info["step"])}


def episode_columns(info: dict) -> dict:
    """The extra per-episode columns: reasoning target, ground truth (JSON), instruction, seed, split, task name."""
    truth = {k: v for k, v in info.items() if k not in GROUND_TRUTH_SKIP}
    return {
        "reasoning": reasoning_target(info),
        "ground_truth": json.dumps(truth, sort_keys=True),
        "instruction": info["instruction"],
        "seed": int(info["seed"]),
        "split": info["split"],
        "task_name": info["task"],
    }


DATASET_CARD = Path(__file__).resolve().parents[2] / "hub_cards" / "so100_tabletop" / "README.md"


def write_dataset_card(out: str | Path, values: dict) -> Path:
    """The dataset's Hub card (README.md) from hub_cards/so100_tabletop, filled with the recording's numbers."""
    import string

    path = Path(out) / "README.md"
    path.write_text(string.Template(DATASET_CARD.read_text()).safe_substitute({k: str(v) for k, v in values.items()}))
    return path


def record_dataset(
    task: str,
    episodes: int,
    out: str | Path,
    split: str = "train",
    seed: int = 0,
    max_tries: int | None = None,
    use_videos: bool = True,
    max_steps: int = 450,
    progress: bool = True,
    world=None,
    codec: str = DEFAULT_CODEC,
) -> dict:
    """Record `episodes` successful expert episodes of `task` into the LeRobot v3 folder `out`, in `world`
    (sim.world.World, None the default: the camera size and card layout of the model that will learn from them);
    returns a summary."""
    from tqdm.auto import tqdm

    world = World.of(world)
    if episodes < 1:
        raise ValueError("record at least one episode (--episodes 1 or more)")
    max_tries = max_tries or 2 * episodes + 10
    start = time.perf_counter()
    env = sim.make_env(task, split, cameras=CAMERAS, max_steps=max_steps, world=world)
    h, w = env.cameras.config.height, env.cameras.config.width
    writer = LeRobotV3Writer(
        out, {cam: (h, w) for cam in CAMERAS}, use_videos=use_videos, fps=FPS, split=split, codec=codec
    )
    tried = 0
    failed_seeds = []
    try:
        with tqdm(total=episodes, desc=f"record {task}", unit="episode", disable=not progress) as bar:
            while len(writer.episodes) < episodes and tried < max_tries:
                episode_seed = seed + tried
                tried += 1
                frames, result = run_expert(env, episode_seed)
                if not result["success"]:
                    failed_seeds.append(episode_seed)
                    log.info("seed %d: expert failed after %d steps; not kept", episode_seed, result["steps"])
                    continue
                images = {cam: frames[image_key(cam)] for cam in CAMERAS}
                writer.add_episode(
                    frames[STATE_KEY],
                    frames["action"],
                    images,
                    task=result["info"]["instruction"],
                    extra=episode_columns(result["info"]),
                )
                bar.update(1)
    finally:
        env.close()
    if not writer.episodes:
        for video in writer.videos.values():
            video.close()
        raise RuntimeError(f"the expert failed all {tried} tries of {task}; nothing to write to {out}")
    info = writer.finish()
    write_dataset_card(
        out,
        {
            "task": task,
            "split": split,
            "seed": seed,
            "episodes_asked": episodes,
            "tried": tried,
            "episodes": info["total_episodes"],
            "frames": info["total_frames"],
            "fps": FPS,
        },
    )
    size = sum(p.stat().st_size for p in Path(out).rglob("*") if p.is_file())
    if len(writer.episodes) < episodes:
        log.warning("kept %d of %d episodes asked for after %d tries", len(writer.episodes), episodes, tried)
    return {
        "task": task,
        "split": split,
        "seed": seed,
        "world": world.to_dict(),
        "episodes_kept": info["total_episodes"],
        "episodes_tried": tried,
        "failed_seeds": failed_seeds,
        "frames": info["total_frames"],
        "tasks": info["total_tasks"],
        "out": str(Path(out).resolve()),
        "size_mb": round(size / 2**20, 2),
        "wall_s": round(time.perf_counter() - start, 2),
    }


def check_demos_world(dataset_dirs, world) -> None:
    """Raise ValueError unless every recorded dataset was made in `world` (sim.world.World): its camera frames that
    size, and its math episodes' cards laid out that way (episodes recorded before worlds existed: scattered)."""

    for root in dataset_dirs:
        features = load_info(root)["features"]
        shapes = [f["shape"][:2] for k, f in features.items() if k.startswith(IMAGE_KEY)]
        truths = [json.loads(r["ground_truth"]) for r in load_episode_rows(root)]
        layouts = {t.get("card_layout", "scattered") for t in truths if t.get("task") == "math_matching"}
        if any(list(shape) != [world.camera_size] * 2 for shape in shapes) or layouts - {world.card_layout}:
            sizes = "/".join(sorted({f"{h}x{w}" for h, w in shapes}))
            raise ValueError(
                f"the demos in {root} were recorded with {sizes} px cameras and "
                f"{'/'.join(sorted(layouts)) or 'no'} cards, the model is for {world.describe()}; "
                f"record them again with `chatvla2-lite record --camera-size {world.camera_size} "
                f"--card-layout {world.card_layout}`"
            )
