"""The real SO-100 as the playground's Backend (playground/backends/base.py): the arm's driver
(chatvla2_lite.robots.so100) with its cameras, in the sim's terms (radians, 224-px images), and a stop that releases
the torque from the page's thread. A real table has no ground truth: the verdict says so."""

from __future__ import annotations

import logging
import threading

import numpy as np

from chatvla2_lite.errors import ArmStoppedError
from chatvla2_lite.robots.so100.config_so100 import SO100Config
from chatvla2_lite.robots.so100.lerobot_driver import make_robot
from playground.backends.base import Verdict
from sim.conventions import STATE_KEY, TASK_KEY, image_key

logger = logging.getLogger(__name__)
STOP_WAIT_S = 2.0  # a release waits for at most the bus exchange in flight, then a few hundred µs per servo


class SO100Backend:
    """An SO-100 follower on a serial port; `cameras` in the config name the views the model reads (front, wrist)."""

    name = "Real SO-100 (serial port)"

    def __init__(self, config: SO100Config, driver: str = "chatvla2", task: str = "", image_size: int | None = 224):
        self.config, self.task, self.image_size = config, task, image_size
        self.robot = make_robot(config, driver)
        self._stop = threading.Event()
        self._released = threading.Event()
        self.steps = 0
        self._last: dict = {}

    def connect(self) -> None:
        """Open the port and hold the arm where it is (torque on); harmless when connected."""
        self._stop.clear()
        self._released.clear()
        self.robot.connect()

    def observe(self) -> dict:
        """Joint state in radians (6,) float32, each camera's frame, and the task, without moving anything."""
        raw = self.robot.get_observation()
        obs = {STATE_KEY: self.robot.to_radians(raw).astype(np.float32), TASK_KEY: self.task}
        for cam in self.config.cameras:
            obs[image_key(cam)] = self._sized(raw[cam])
        self._last = obs
        return obs

    def step(self, actions: np.ndarray) -> tuple[dict, dict, int]:
        """Play (k, 6) radian targets at the arm's control rate under its speed and step limits; stops early after
        stop(). NaN or a wrong shape raises before anything moves."""
        try:
            ran = self.robot.play(np.asarray(actions, dtype=np.float64).reshape(-1, 6), should_stop=self._stop.is_set)
        except ArmStoppedError:  # stop() came between two waypoints
            ran = 0
        self.steps += ran
        if self._stop.is_set():  # the port is closed: the page keeps the last view
            self._released.wait(STOP_WAIT_S)  # returns once the stop's torque release is done, not before
            return self._last, {"done": True, "stopped": True}, ran
        return self.observe(), {"done": False, "stopped": False}, ran

    def verdict(self) -> Verdict:
        return Verdict(None, "A real arm has no ground truth: judge what it did yourself", done=self._stop.is_set())

    def stop(self) -> None:
        """The stop button: torque off on all six servos at once (from any thread), then the port closes."""
        self._stop.set()
        unconfirmed = self.robot.stop()
        self._released.set()
        if unconfirmed:
            logger.error("servos %s did not confirm the torque release: switch the arm's power off", unconfirmed)

    def close(self) -> None:
        """Release the torque and close the port."""
        try:
            self.robot.disconnect()
        except Exception:  # a port already gone is as closed as it gets; stop() releases what it can
            logger.warning("closing the arm failed; releasing its torque", exc_info=True)
            self.robot.stop()

    def _sized(self, frame: np.ndarray) -> np.ndarray:
        if self.image_size is None or frame.shape[:2] == (self.image_size, self.image_size):
            return frame
        from PIL import Image

        return np.asarray(Image.fromarray(frame).resize((self.image_size, self.image_size), Image.BILINEAR))
