"""Robot backends the playground drives: the PyBullet sim, and a real SO-100 (playground/backends/so100.py)."""

SIM = "PyBullet sim"
REAL_SO100 = "Real SO-100 (serial port)"
BACKENDS = (SIM, REAL_SO100)
# Shown next to the choice, so nobody thinks the real arm is silently simulated.
REAL_ARM_NOTE = (
    "The real SO-100 drives from `chatvla2-lite so100` and playground.backends.so100 (the arm issue); this page's "
    "hook-up, with its stop button, comes with the playground issue: until then the page runs the PyBullet sim."
)


def make_backend(name: str = SIM, config=None, driver: str = "chatvla2"):
    """A new backend called `name`. The real arm needs `config` (chatvla2_lite.robots.so100.SO100Config: its port,
    id, cameras); without one it is refused with a note on when the page offers it."""
    from chatvla2_lite.errors import ChatVLA2Error
    from sim.errors import UnknownNameError

    if name == SIM:
        from playground.backends.pybullet_sim import SimBackend

        return SimBackend()
    if name == REAL_SO100 and config is not None:
        from playground.backends.so100 import SO100Backend

        return SO100Backend(config, driver)
    if name == REAL_SO100:
        raise ChatVLA2Error(f"{REAL_ARM_NOTE} Pick {SIM!r} in Settings.")
    raise UnknownNameError("backend", name, BACKENDS)
