"""Robot backends the playground drives: the PyBullet sim now, a real SO-100 once the arm issue lands."""

SIM = "PyBullet sim"
REAL_SO100 = "Real SO-100 (serial port)"
BACKENDS = (SIM, REAL_SO100)
# Shown next to the choice, so nobody thinks the real arm is silently simulated.
REAL_ARM_NOTE = (
    "The real SO-100 backend arrives with the arm issue (`chatvla2-lite so100`); until then only the PyBullet sim runs."
)


def make_backend(name: str = SIM):
    """A new backend called `name`; the real arm is refused with a note on when it arrives."""
    from chatvla2_lite.errors import ChatVLA2Error
    from sim.errors import UnknownNameError

    if name == SIM:
        from playground.backends.pybullet_sim import SimBackend

        return SimBackend()
    if name == REAL_SO100:
        raise ChatVLA2Error(f"{REAL_ARM_NOTE} Pick {SIM!r} in Settings.")
    raise UnknownNameError("backend", name, BACKENDS)
