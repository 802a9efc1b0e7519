"""What the playground asks of a robot backend, the PyBullet sim's and a real arm's alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass
class Verdict:
    """Whether the episode is solved: True/False against the ground truth, None when there is none."""

    success: bool | None
    text: str
    done: bool  # nothing more to do: solved, or (without ground truth) a card was put down in the tray


class Backend(Protocol):
    """A robot the page drives, in LeRobot's shape: connected once, observed, stepped, judged, closed. It is also the
    robot of the project's closed loop (chatvla2_lite.rollout.Robot)."""

    name: str

    def connect(self) -> None:
        """Get ready to move (open the port, start the physics server); calling it twice is harmless."""

    def observe(self) -> dict:
        """The current observation (cameras, joint state, task) without moving anything."""

    def step(self, actions: np.ndarray) -> tuple[dict, dict, int]:
        """Play (k, 6) joint targets, one control period each, stopping early once the episode is done: the
        observation after, info with "done", how many ran. Bad targets raise before anything moves."""

    def verdict(self) -> Verdict:
        """Whether the scene is solved, honest about scenes with no ground truth."""

    def close(self) -> None:
        """Stop and let go (release torque, free the physics server)."""
