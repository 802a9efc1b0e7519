"""LeRobot's own so100_follower driver behind this project's interface, for those who have `lerobot` installed and
prefer it (`--driver lerobot`). lerobot is never a dependency of this project: it pins an old CUDA torch."""

from __future__ import annotations

import logging

from chatvla2_lite.errors import RobotError
from chatvla2_lite.robots.so100.calibration import MotorCalibration, calibration_path
from chatvla2_lite.robots.so100.config_so100 import SO100Config
from chatvla2_lite.robots.so100.motion import JointSpace

logger = logging.getLogger(__name__)
DRIVERS = ("chatvla2", "lerobot")


class LeRobotSO100(JointSpace):
    """lerobot.robots.so_follower.SO100Follower (so100_follower.SO100Follower in older releases) with stop() and the
    joint-space helpers. LeRobot applies max_relative_target itself; play() adds the URDF clamp and speed limit."""

    def __init__(self, config: SO100Config):
        try:
            try:
                from lerobot.robots.so_follower import SO100Follower, SO100FollowerConfig
            except ImportError:  # releases before January 2026
                from lerobot.robots.so100_follower import SO100Follower, SO100FollowerConfig
        except ImportError as exc:
            raise RobotError(
                "the lerobot driver needs LeRobot: `pip install lerobot --no-deps` plus its feetech extra in this "
                "environment, or use this project's driver (--driver chatvla2), which reads the same calibration"
            ) from exc
        self.config = config
        folder = calibration_path(config.id, config.calibration_dir).parent
        lerobot_config = SO100FollowerConfig(
            port=config.port,
            id=config.id,
            calibration_dir=folder,
            max_relative_target=config.max_relative_target,
            disable_torque_on_disconnect=config.disable_torque_on_disconnect,
            use_degrees=config.use_degrees,
        )
        self.robot = SO100Follower(lerobot_config)
        if config.cameras:
            logger.warning(
                "the lerobot driver takes cameras in LeRobot's own config; these are ignored: %s", config.cameras
            )

    @property
    def calibration(self):
        return {m: MotorCalibration(**vars(c)) for m, c in self.robot.calibration.items()}

    @property
    def observation_features(self) -> dict:
        return self.robot.observation_features

    @property
    def action_features(self) -> dict:
        return self.robot.action_features

    def connect(self) -> None:
        self.robot.connect(calibrate=False)
        self._commanded = None

    def get_observation(self) -> dict:
        return self.robot.get_observation()

    def send_action(self, action: dict) -> dict:
        return self.robot.send_action(action)

    def disconnect(self) -> None:
        self.robot.disconnect()

    def stop(self) -> list[str] | None:
        """Torque off on all six, then disconnect."""
        try:
            self.robot.bus.disable_torque(num_retry=2)
            self.robot.bus.disconnect(disable_torque=False)
            return []
        except Exception:  # noqa: BLE001 - a stop must not raise; the caller is told what could not be confirmed
            logger.exception("LeRobot's driver could not release the torque")
            return None

    def __enter__(self) -> LeRobotSO100:
        self.connect()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is not None:
            self.stop()  # any exception inside `with`, Ctrl-C included, lets go of the arm
        else:
            self.disconnect()


def make_robot(config: SO100Config, driver: str = "chatvla2"):
    """The arm of `config` through `driver`: "chatvla2" (this project's, the default) or "lerobot"."""
    if driver == "lerobot":
        return LeRobotSO100(config)
    if driver != "chatvla2":
        raise ValueError(f"driver must be one of {DRIVERS}, got {driver!r}")
    from chatvla2_lite.robots.so100.so100 import SO100

    return SO100(config)
