"""The model library's exceptions. Each message tells the user what to do next.

The simulator has its own (`sim.errors`, base `SimError`): the CLI and the playground catch both.
"""


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
