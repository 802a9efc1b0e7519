"""The PyBullet backend: one sim env per visitor, the scenes they ask for, stepping, and the verdict."""

from __future__ import annotations

import logging

import numpy as np

import sim
from playground.backends.base import Verdict
from playground.episodes import Scenario, cards_in_tray
from sim.conventions import CAMERA_NAMES
from sim.world import World

logger = logging.getLogger(__name__)


class SimBackend:
    """A sim env of the scenario's task and world, kept across episodes of both (building one costs ~0.4 s); the
    playground's Backend (playground/backends/base.py)."""

    name = "PyBullet sim"

    def __init__(self, cameras: tuple[str, ...] = CAMERA_NAMES, split: str = "train"):
        self.cameras, self.split = cameras, split  # a visitor's scenes are the train split's; tests ask for heldout
        self.env = None
        self.scenario: Scenario | None = None

    @property
    def world(self):
        """The sim.world.World of the env now (None before the first scene)."""
        return None if self.env is None else self.env.world

    def _env_for(self, task: str, world):
        world = World.of(world)
        if self.env is None or self.env.task.name != task or self.env.world != world:
            self.close()
            self.env = sim.make_env(task, self.split, cameras=self.cameras, world=world)
        return self.env

    def new_scene(self, task: str, build, world=None) -> tuple[Scenario, dict]:
        """Build a scene with `build(env) -> Scenario` in an env of `task` in `world` (sim.world.World; None: the
        default one, 224-px cameras and scattered cards); returns it and the first observation."""
        env = self._env_for(task, world)
        self.scenario = build(env)
        return self.scenario, self.observe()

    def observe(self) -> dict:
        """The current observation (cameras, joint state, task), without moving anything."""
        # the env renders observations only inside reset/step; a scene we edited after reset needs a fresh one
        return self.env._observation()

    def connect(self) -> None:
        """Nothing to open: the physics server starts with the first scene (new_scene)."""

    def step(self, actions: np.ndarray) -> tuple[dict, dict, int]:
        """Play (k, 6) joint targets toward the scene's verdict; the cameras render after the last. NaN or wrong
        shapes raise InvalidActionError before anything moves."""
        obs, _, _, truncated, info, ran = self.env.step_chunk(np.asarray(actions, dtype=np.float32).reshape(-1, 6))
        return obs, {**info, "done": truncated or self.verdict().done}, ran

    def expert(self):
        """The sim's scripted expert for the scene now, from the arm where it stands (sim.expert.ScriptedExpert)."""
        return self.env.expert()

    @property
    def steps(self) -> int:
        return 0 if self.env is None else self.env.steps

    def verdict(self) -> Verdict:
        """The success verdict of the current scene, honest about scenes with no ground truth."""
        env, sc = self.env, self.scenario
        solved = bool(env.task.is_success(env.scene, env.episode))
        if sc.task == "math_matching" and not sc.has_truth:
            cards = cards_in_tray(env)
            put = f"card {', '.join(map(str, cards))} in the tray" if cards else "no card in the tray"
            return Verdict(
                None,
                f"No ground truth for an uploaded photo (type the expected answer to judge); the arm put {put}",
                done=bool(cards),
            )
        if solved:
            return Verdict(True, "Success", done=True)
        return Verdict(False, "Not solved", done=False)

    def close(self) -> None:
        """Free the physics server."""
        if self.env is not None:
            try:
                self.env.close()
            except Exception:  # a server already gone is as good as closed
                logger.debug("closing the sim env failed", exc_info=True)
            self.env = None
