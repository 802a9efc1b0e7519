"""EmulatedArm: the bus emulator (emulator.py) run as its own process, and the handle that injects its faults and
reads its state. Tests and `chatvla2-lite so100 bench --emulated` drive the real driver against it."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from chatvla2_lite.robots.so100.calibration import MOTOR_IDS, Calibration, MotorCalibration, save_calibration
from chatvla2_lite.robots.so100.registers import MAX_TICK, RESOLUTION
from chatvla2_lite.robots.so100.units import URDF_LOWER, URDF_UPPER


def urdf_calibration(margin_rad: float = 0.1, offsets=(-1021, 740, -300, 12, 0, 905)) -> Calibration:
    """A calibration like LeRobot's of an arm whose travel is the URDF's less `margin_rad` at each end (the wrist
    roll turns fully: 0..4095), with homing offsets as a half-turn homing leaves them."""
    half = ((URDF_UPPER - URDF_LOWER) / 2 - margin_rad) * RESOLUTION / (2 * np.pi)
    calibration = {}
    for i, (motor, sid) in enumerate(MOTOR_IDS.items()):
        lo, hi = (0, MAX_TICK) if motor == "wrist_roll" else (int(2047 - half[i]), int(2047 + half[i]))
        calibration[motor] = MotorCalibration(sid, 0, int(offsets[i]), lo, hi)
    return calibration


class EmulatedArm:
    """Six emulated STS3215s behind the serial device `port` (a symlink to a pty) in a child process.

    `calibration`: the calibration already in the servos' EEPROM (None: factory servos); `positions`: the six
    Present_Position ticks to start at (default the middle of each range); `speed`: servo speed in ticks/s."""

    def __init__(self, folder=None, calibration: Calibration | None = None, positions=None, speed: float = 3000.0):
        self._tmp = None if folder is not None else tempfile.TemporaryDirectory(prefix="so100-emulator-")
        self.folder = Path(folder if folder is not None else self._tmp.name)
        self.port = str(self.folder / "ttySO100")
        cmd = [sys.executable, "-m", "chatvla2_lite.robots.so100.emulator", "--link", self.port, "--speed", str(speed)]
        if calibration is not None:
            cmd += ["--calibration", str(save_calibration(calibration, self.folder / "eeprom.json"))]
        if positions is not None:
            cmd += ["--positions", ",".join(str(float(p)) for p in positions)]
        self.process = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        ready = self.process.stdout.readline()
        if not ready:
            raise RuntimeError(f"the bus emulator did not start (exit code {self.process.wait()})")
        self.device = json.loads(ready)["device"]

    def _call(self, op: str, **args) -> dict:
        self.process.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.process.stdin.flush()
        reply = json.loads(self.process.stdout.readline())
        if "error" in reply:
            raise ValueError(reply["error"])
        return reply

    # --- what the servos are doing ------------------------------------------------------------------
    def state(self) -> dict:
        """Per servo id (1..6): Torque_Enable, Goal_Position, Present_Position, Lock, limits, offsets, actual."""
        return {int(k): v for k, v in self._call("state")["servos"].items()}

    def counters(self) -> dict:
        """{"requests": whole requests served, "damaged_requests": requests dropped for a bad checksum or cut off}."""
        state = self._call("state")
        return {"requests": state["requests"], "damaged_requests": state["damaged_requests"]}

    def torque(self) -> list[int]:
        """Torque_Enable of servos 1..6."""
        return [s["Torque_Enable"] for s in self.state().values()]

    def goals(self) -> list[dict]:
        """Every Goal_Position the servos received, in order: {"t", "id", "goal" and "present" (ticks, the servo's
        position when the goal arrived), "torque" (whether it was on)}."""
        return self._call("goals")["goals"]

    # --- faults -------------------------------------------------------------------------------------
    def silence(self, sid: int) -> None:
        """Servo `sid` stops answering (it still hears the bus, as with a broken reply line)."""
        self._call("silence", id=sid)

    def answer(self, sid: int) -> None:
        self._call("answer", id=sid)

    def corrupt(self, count: int) -> None:
        """Damage the checksums of the next `count` status packets (-1: of all of them from now on)."""
        self._call("corrupt", count=count)

    def stick(self, sid: int) -> None:
        """Servo `sid`'s joint stops moving (blocked), though it answers as usual."""
        self._call("stick", id=sid)

    def move_by_hand(self, sid: int, ticks: float) -> None:
        """Turn a limp servo's shaft by `ticks` (one with torque on resists)."""
        self._call("move", id=sid, ticks=ticks)

    def vanish(self, reappear_after: float | None = None) -> None:
        """Unplug the port; with `reappear_after` seconds, plug it back under the same name then."""
        self._call("vanish", reappear_after=reappear_after)

    # --- lifetime -----------------------------------------------------------------------------------
    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> EmulatedArm:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
