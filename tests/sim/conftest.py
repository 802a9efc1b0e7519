import pytest


@pytest.fixture
def pb_client():
    """A fresh headless PyBullet client, disconnected afterwards."""
    import pybullet as pb

    client = pb.connect(pb.DIRECT)
    yield client
    pb.disconnect(client)


@pytest.fixture(scope="module")
def math_env():
    """A math_matching env without cameras, shared by a module's tests (each test resets it)."""
    import sim

    env = sim.make_env("math_matching", "train", cameras=())
    yield env
    env.close()


@pytest.fixture(scope="module")
def toy_env():
    """A toy_placement env without cameras, shared by a module's tests (each test resets it)."""
    import sim

    env = sim.make_env("toy_placement", "train", cameras=())
    yield env
    env.close()
