"""The gymnasium env: an SO-100 tabletop episode of one task, with LeRobot's observation keys.

Observations: `observation.images.<camera>` uint8 (H, W, 3) for each enabled camera,
`observation.state` float32 (6,) joint positions in radians, `task` the instruction text.
Actions: float32 (6,) joint targets in radians, LeRobot's joint order. Out-of-limit targets are
clamped (info["action_clamped"]); NaN or wrong shapes are refused with InvalidActionError before
anything moves. Same seed, same episode, bit for bit.
"""

from __future__ import annotations

import string

import numpy as np

from sim.cameras import CAMERA_NAMES, CameraConfig, Cameras
from sim.conventions import STATE_KEY, image_key
from sim.errors import UnknownNameError
from sim.expert import ExpertConfig, ScriptedExpert
from sim.scene import Scene, SceneConfig
from sim.splits import SPLITS, get_split
from sim.tasks.base import serialize_positions
from sim.tasks.math_matching import MathMatching
from sim.tasks.toy_placement import ToyPlacement
from sim.world import World

TASKS = {"math_matching": MathMatching, "toy_placement": ToyPlacement}
MAX_INSTRUCTION_CHARS = 256


def task_by_name(name: str, world: World | None = None):
    """A new task object for `name`, laid out as `world` says; UnknownNameError lists the valid names."""
    if name not in TASKS:
        raise UnknownNameError("task", name, TASKS)
    return TASKS[name](**World.of(world).task_options(name))


class So100TabletopEnv:
    """SO-100 tabletop with the gymnasium API (reset, step, render, close)."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(
        self,
        task: str = "math_matching",
        split: str = "train",
        seed: int | None = None,
        cameras: tuple[str, ...] = CAMERA_NAMES,
        max_steps: int = 450,
        render_mode: str | None = None,
        scene_config: SceneConfig | None = None,
        camera_config: CameraConfig | None = None,
        world: World | None = None,
    ):
        """`world` sets the cameras' frame size and the card layout (sim/world.py); an explicit `camera_config`
        overrides its cameras."""
        import gymnasium as gym

        self.world = World.of(world)
        self.task = task_by_name(task, self.world)
        self.split = get_split(split) if isinstance(split, str) else split
        for cam in cameras:
            if cam not in CAMERA_NAMES:
                raise UnknownNameError("camera", cam, CAMERA_NAMES)
        self.camera_names, self.max_steps, self.render_mode = tuple(cameras), max_steps, render_mode
        self.scene = Scene(scene_config)
        self.cameras = Cameras(self.scene, camera_config or self.world.camera_config())
        lower, upper = self.scene.arm.lower.astype(np.float32), self.scene.arm.upper.astype(np.float32)
        h, w = self.cameras.config.height, self.cameras.config.width
        spaces = {image_key(c): gym.spaces.Box(0, 255, (h, w, 3), np.uint8) for c in self.camera_names}
        # joints settle a hair past their limits under load: the state space allows for that
        spaces[STATE_KEY] = gym.spaces.Box(lower - 0.05, upper + 0.05, (6,), np.float32)
        spaces["task"] = gym.spaces.Text(MAX_INSTRUCTION_CHARS, charset=string.printable)
        self.observation_space = gym.spaces.Dict(spaces)
        self.action_space = gym.spaces.Box(lower, upper, (6,), np.float32)
        self._seed = seed
        self.episode = None
        self.steps = 0

    # --- gymnasium API ------------------------------------------------------------------------------
    def reset(self, seed: int | None = None, options: dict | None = None):
        """Build a new episode; `seed` (or the constructor's, then counting up) fixes it bit for bit."""
        if seed is None:
            seed = 0 if self._seed is None else self._seed
        self._seed = seed + 1
        self.seed_used = seed
        self.rng = np.random.default_rng(seed)
        self.scene.reset()
        self.episode = self.task.build(self.scene, self.rng, self.split)
        self.steps = 0
        return self._observation(), self._info(success=False, clamped=False)

    def step(self, action):
        """Apply one action (6 joint targets) for one control period: obs, reward, terminated, truncated, info."""
        if self.episode is None:
            raise RuntimeError("call reset() before step()")
        return self.step_chunk([action])[:5]

    def step_chunk(self, actions):
        """Apply a chunk of actions, one control period each, until it ends, the task succeeds or the episode
        is truncated; the cameras render once, after the last step. Same physics as calling step() per action,
        at a fraction of the cost: rendering is about 90% of a step, and a chunked policy looks only between
        chunks. Returns obs, reward, terminated, truncated, info (with "joint_path", the joints after each step that
        ran), and how many actions ran."""
        if self.episode is None:
            raise RuntimeError("call reset() before step_chunk()")
        arm = self.scene.arm
        valid = [arm.validate(a) for a in actions]  # every action checked before any moves
        clamped, success, truncated, n = False, False, False, 0
        path = []  # the joints after each step, for a caller that plots a chunk against what it commanded
        for action, checked in zip(actions, valid):
            clamped |= bool(np.any(checked != np.asarray(action, dtype=np.float64)))
            arm.command(checked)
            self.scene.step_physics()
            path.append(arm.joint_positions())
            self.steps += 1
            n += 1
            success = self.task.is_success(self.scene, self.episode)
            truncated = not success and self.steps >= self.max_steps
            if success or truncated:
                break
        info = {**self._info(success, clamped), "joint_path": np.asarray(path, dtype=np.float32)}  # (n, 6)
        return self._observation(), float(success), success, truncated, info, n

    def render(self):
        """The front camera's image (rgb_array render mode)."""
        return self.cameras.render("front")

    def close(self) -> None:
        """Free the physics server."""
        self.scene.close()

    # --- helpers ------------------------------------------------------------------------------------
    def expert(self, config: ExpertConfig | None = None) -> ScriptedExpert:
        """A scripted expert for the current episode, starting from the arm's present joints."""
        plan = self.task.expert_plan(self.scene, self.episode)
        return ScriptedExpert(
            self.scene.arm, plan, self.scene.config.control_hz, self.scene.arm.joint_positions(), config
        )

    def _observation(self) -> dict:
        obs = {image_key(c): self.cameras.render(c) for c in self.camera_names}
        obs[STATE_KEY] = self.scene.arm.joint_positions().astype(np.float32)
        obs["task"] = self.episode.instruction
        return obs

    def _info(self, success: bool, clamped: bool) -> dict:
        return {
            "is_success": success,
            "task": self.task.name,
            "split": self.split.name,
            "seed": self.seed_used,
            "instruction": self.episode.instruction,
            "step": self.steps,
            "action_clamped": clamped,
            "positions": serialize_positions(self.scene),
            **self.episode.ground_truth,
            **({"points": True} if self.world.points else {}),  # the reasoning says where things are (sim/points.py)
        }


def make_env(task: str = "math_matching", split: str = "train", seed: int | None = None, **kwargs) -> So100TabletopEnv:
    """The SO-100 tabletop env for `task` on `split`; unknown names raise an error listing the valid ones."""
    return So100TabletopEnv(task=task, split=split, seed=seed, **kwargs)


__all__ = ["make_env", "So100TabletopEnv", "TASKS", "SPLITS", "World"]
