"""SO100Config: how to reach one SO-100 follower arm and how carefully to drive it. LeRobot's so100_follower fields
(port, id, max_relative_target, disable_torque_on_disconnect, use_degrees, cameras) plus this driver's safety limits."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class SO100Config:
    # the serial device of the arm's bus adapter (Linux /dev/ttyACM0, macOS /dev/tty.usbmodem...)
    port: str = "/dev/ttyACM0"
    # names the calibration file: <LeRobot calibration folder>/robots/so100_follower/<id>.json
    id: str = "so100_follower"
    # the most one step may move a joint from where it is, in LeRobot's units (degrees, or the -100..100 range);
    # a dict gives it per motor name. LeRobot leaves it unset; a driver of a model's first moves should not.
    max_relative_target: float | dict[str, float] | None = 10.0
    disable_torque_on_disconnect: bool = True
    use_degrees: bool = True  # LeRobot's default since February 2026; False: -100..100 over the calibrated range
    # camera name -> an OpenCV device index, a device or video path, or a still image file (a fixed frame)
    cameras: dict[str, int | str] = field(default_factory=dict)
    # None: LeRobot's calibration folder ($HF_LEROBOT_CALIBRATION, else inside the Hugging Face cache)
    calibration_dir: str | None = None

    baudrate: int = 1_000_000  # the STS3215's factory rate and LeRobot's
    fps: int = 30  # control steps a second (LeRobot's loop, the sim's control_hz)
    max_joint_speed: float = 1.0  # rad/s: goals between two chunk steps are interpolated no faster than this
    # a joint further than this from its goal, not getting closer for stuck_timeout_s, is stuck (the gripper is
    # exempt: squeezing what it holds is its job; its torque is capped instead)
    stuck_tolerance_deg: float = 8.0
    stuck_timeout_s: float = 1.0
    read_retries: int = 2  # extra tries of a read whose status packet came back damaged, as LeRobot's num_read_retries
    port_recovery_s: float = 1.0  # after a lost port, how long to try reopening it to release the torque
    # servo gains and the gripper's torque caps, LeRobot's so100_follower values
    p_coefficient: int = 16
    i_coefficient: int = 0
    d_coefficient: int = 32
    gripper_max_torque: int = 500  # of 1000
    gripper_protection_current: int = 250
    gripper_overload_torque: int = 25  # percent
    # how the ticks sit on the URDF joints (units.JointFrame); None: +1 and the middle of the URDF limits
    joint_signs: tuple[float, ...] | None = None
    joint_zeros: tuple[float, ...] | None = None

    def joint_frame(self):
        """The units.JointFrame of joint_signs and joint_zeros."""
        from chatvla2_lite.robots.so100.units import JointFrame

        default = JointFrame()
        return JointFrame(
            tuple(float(s) for s in self.joint_signs) if self.joint_signs is not None else default.signs,
            tuple(float(z) for z in self.joint_zeros) if self.joint_zeros is not None else default.zeros,
        )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> SO100Config:
        return cls(**data)

    def save(self, path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2))
        return path

    @classmethod
    def load(cls, path) -> SO100Config:
        return cls.from_dict(json.loads(Path(path).read_text()))
