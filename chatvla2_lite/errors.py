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
