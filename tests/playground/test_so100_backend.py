"""The real-arm backend on the emulated bus: a whole episode of the shipped nano model through the project's closed
loop, every goal the servos received inside the limits, the step cap and the speed limit; the stop button; an honest
verdict. The cameras are still frames: the sim's first front and wrist images of a math scene, saved as PNGs."""

import threading

import numpy as np
import pytest
import torch
from PIL import Image

import sim
from chatvla2_lite.robots.so100 import SO100Config, units
from chatvla2_lite.robots.so100.emulated_arm import EmulatedArm, urdf_calibration
from chatvla2_lite.robots.so100.safety import relative_cap_ticks
from chatvla2_lite.rollout import Ended, PolicyActor, rollout
from playground.backends import REAL_SO100, make_backend
from sim.conventions import STATE_KEY, image_key
from sim.robot import ArmConfig

FPS, SPEED = 30, 1.0  # the config's control rate and joint speed limit (rad/s)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """The cameras' still frames and the task of a train math scene, and the sim's rest pose."""
    folder = tmp_path_factory.mktemp("cameras")
    env = sim.make_env("math_matching", "train")
    try:
        obs, _ = env.reset(seed=3)
    finally:
        env.close()
    cameras = {}
    for cam in ("front", "wrist"):
        cameras[cam] = str(folder / f"{cam}.png")
        Image.fromarray(obs[image_key(cam)]).save(cameras[cam])
    return cameras, obs["task"]


@pytest.fixture
def backend(scene, tmp_path):
    calibration = urdf_calibration()
    rest = units.radians_to_ticks(ArmConfig().home, calibration)  # the arm starts folded, as the sim's does
    with EmulatedArm(tmp_path, calibration=calibration, positions=rest) as arm:
        cameras, task = scene
        config = SO100Config(port=arm.port, id="episode", cameras=cameras, fps=FPS, max_joint_speed=SPEED)
        backend = make_backend(REAL_SO100, config=config)
        backend.robot._calibration = calibration
        backend.task = task
        backend.connect()
        yield backend, arm, calibration
        backend.close()


@pytest.mark.slow
def test_a_whole_nano_episode_sends_only_safe_goals(backend):
    from chatvla2_lite.model.policy_chatvla2 import ChatVLA2

    torch.set_num_threads(1)
    backend, arm, calibration = backend
    policy = ChatVLA2.from_pretrained()  # the shipped checkpoint, as the CLI loads it
    obs = backend.observe()
    assert obs[image_key("front")].shape == (224, 224, 3) and obs[STATE_KEY].shape == (6,)
    events = list(rollout(PolicyActor(policy), backend, obs, max_steps=32))
    assert isinstance(events[-1], Ended) and events[-1].steps == 32

    goals = [g for g in arm.goals() if g["torque"]]
    assert len(goals) >= 32 * 6
    low, high = units.safe_tick_limits(calibration)
    cap = relative_cap_ticks(backend.config.max_relative_target, calibration, units.norm_modes(True))
    per_step = SPEED / FPS / units.RAD_PER_TICK + 1  # ticks, one of them for LeRobot's truncation
    last: dict[int, int] = {}
    for g in goals:
        j = g["id"] - 1
        assert low[j] <= g["goal"] <= high[j], g
        assert abs(g["goal"] - g["present"]) <= cap[j], g
        if j in last:
            assert abs(g["goal"] - last[j]) <= per_step, g
        last[j] = g["goal"]
    moved = np.abs(backend.observe()[STATE_KEY] - obs[STATE_KEY])
    assert moved.max() > 0.01  # it did move the arm
    verdict = backend.verdict()
    assert verdict.success is None and "no ground truth" in verdict.text


def test_the_stop_button_releases_the_torque_mid_chunk(backend):
    backend, arm, _ = backend
    q = backend.observe()[STATE_KEY]
    chunk = np.linspace(q, q + np.array([0.5, 0.3, -0.3, 0.3, 0.5, 0.3]), 60)
    threading.Timer(0.3, backend.stop).start()
    obs, info, ran = backend.step(chunk)
    assert info["done"] and info["stopped"] and ran < 60 and STATE_KEY in obs
    assert arm.torque() == [0] * 6
    with pytest.raises(ValueError, match="NaN"):  # the next bad chunk is refused before anything moves
        backend.robot.play(np.full((2, 6), np.nan))


def test_the_pages_stop_button_releases_a_real_arms_torque_at_once(backend):
    from playground.handlers import Playground
    from playground.settings import AppSettings

    backend, arm, _ = backend
    pg = Playground(AppSettings())
    pg.sessions.get("local").backend = backend  # the visitor's session drives the arm
    assert arm.torque() == [1] * 6
    assert "torque is released" in pg.stop()
    assert arm.torque() == [0] * 6 and pg.sessions.get("local").stop.is_set()


def test_the_page_without_an_arm_config_still_refuses_the_real_arm():
    from chatvla2_lite.errors import ChatVLA2Error

    with pytest.raises(ChatVLA2Error, match="arm issue"):
        make_backend(REAL_SO100)
