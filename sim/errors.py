"""The simulator's exceptions. Each message tells the user what to do next.

`sim` is the lowest layer of the project and imports nothing of it, so its errors stand on their own;
the CLI and the playground catch `SimError` beside `chatvla2_lite.errors.ChatVLA2Error`.
"""


class SimError(Exception):
    """Base class: anything the simulator raises on purpose derives from it."""


class InvalidActionError(SimError, ValueError):
    """An action that cannot be sent to the arm (wrong shape, NaN, infinite)."""


class UnknownNameError(SimError, KeyError):
    """A task, split, camera or other name that does not exist; the message lists the valid ones."""

    def __init__(self, kind: str, name: str, valid):
        self.kind, self.name, self.valid = kind, name, sorted(valid)
        super().__init__(f"unknown {kind} {name!r}; valid {kind}s: {', '.join(self.valid)}")

    def __str__(self) -> str:  # KeyError would quote the whole message otherwise
        return self.args[0]


class SceneError(SimError, RuntimeError):
    """The simulator could not build a scene or lost its physics server."""


class FontCorpusError(SimError, RuntimeError):
    """The font corpus is missing (`make fonts` fetches it), or a download did not match its pinned hash."""
