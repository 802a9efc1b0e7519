"""The project's exceptions. Each message tells the user what to do next."""


class ChatVLA2Error(Exception):
    """Base class: anything the project raises on purpose derives from it."""


class InvalidActionError(ChatVLA2Error, ValueError):
    """An action that cannot be sent to the arm (wrong shape, NaN, infinite)."""


class UnknownNameError(ChatVLA2Error, KeyError):
    """A task, split, camera or other name that does not exist; the message lists the valid ones."""

    def __init__(self, kind: str, name: str, valid):
        self.kind, self.name, self.valid = kind, name, sorted(valid)
        super().__init__(f"unknown {kind} {name!r}; valid {kind}s: {', '.join(self.valid)}")

    def __str__(self) -> str:  # KeyError would quote the whole message otherwise
        return self.args[0]


class SimError(ChatVLA2Error, RuntimeError):
    """The simulator could not do what was asked (scene could not be built, physics server lost)."""


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
