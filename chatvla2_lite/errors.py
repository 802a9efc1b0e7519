"""The model library's exceptions. Each message tells the user what to do next.

The simulator has its own (`sim.errors`, base `SimError`): the CLI and the playground catch both.
"""

from __future__ import annotations


class ChatVLA2Error(Exception):
    """Base class: anything the project raises on purpose derives from it."""


class InvalidObservationError(ChatVLA2Error, ValueError):
    """An observation the model cannot read (missing key, wrong image type or size, wrong state shape)."""


class InvalidInstructionError(ChatVLA2Error, ValueError):
    """An instruction that is empty or does not fit in the model's context."""


class CheckpointError(ChatVLA2Error, OSError):
    """A model checkpoint could not be found, downloaded or read."""


class UnsafeWeightsError(CheckpointError):
    """A checkpoint offers only pickled weights (.bin, .pt, .ckpt), which the project never loads."""


class CorruptCheckpointError(CheckpointError):
    """A downloaded weights file is damaged; it was removed from the cache so a retry downloads it again."""


class UnsupportedModelError(CheckpointError):
    """A checkpoint whose architecture is not a ChatVLA-2 or a Qwen2-VL-family backbone."""


class QuantizationUnavailableError(ChatVLA2Error, RuntimeError):
    """The requested 4-bit or 8-bit quantization cannot run on this machine or install."""


class RobotError(ChatVLA2Error, RuntimeError):
    """A real arm's fault: a lost port, a servo that stopped answering, a stuck joint, a stop. `torque_released` says
    whether the servos confirmed letting go (True), could not be reached to (False), or were never driven (None)."""

    def __init__(self, message: str, torque_released: bool | None = None):
        super().__init__(message)
        self.torque_released = torque_released

    def note_release(self, released: bool | None, unconfirmed=None) -> RobotError:
        """This error, its message now saying what became of the torque (the driver releases it on every fault):
        `unconfirmed` lists the servos that did not confirm it, None when nothing could be sent at all."""
        self.torque_released, self.unconfirmed = released, unconfirmed
        if unconfirmed is None:
            note = "Torque could NOT be released over the bus: switch the arm's power supply off now."
        elif unconfirmed:
            note = (
                f"Torque off went to all six servos, but {', '.join(unconfirmed)} did not confirm it: if a joint still "
                "holds, switch the arm's power supply off."
            )
        else:
            note = "Torque was released on all six servos: the arm is limp, hold it if it can fall."
        self.args = (f"{self.args[0]}. {note}", *self.args[1:])
        return self


class RobotNotConnectedError(RobotError):
    """The arm was used before connect() (or after disconnect() or a fault)."""


class ArmStoppedError(RobotError):
    """The stop button (or stop()) released the arm; it moves again only after a new connect()."""


class CalibrationError(RobotError, ValueError):
    """No calibration file for the arm's id, or one that does not fit its servos."""


class PortLostError(RobotError, OSError):
    """The serial port could not be opened, or vanished while in use (cable pulled, adapter reset)."""


class ServoTimeoutError(RobotError, TimeoutError):
    """A servo stopped answering on the bus."""


class BusCorruptError(RobotError):
    """Status packets kept arriving damaged (bad checksums) after the retries."""


class ServoFaultError(RobotError):
    """A servo reported a hardware error in its status packet (overload, overheat, voltage, sensor)."""


class StuckJointError(RobotError):
    """A joint did not follow its goal: blocked by an obstacle, a collision, or a servo that lost its gearing."""


class UnsafeActionError(RobotError, ValueError):
    """An action the arm refuses before anything moves (NaN, infinite, unknown or missing joints)."""
