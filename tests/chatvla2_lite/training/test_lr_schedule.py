"""The learning-rate schedule: a warm-up, then a cosine down to the stage's floor."""

import pytest

from chatvla2_lite.training.stage import stage_config
from chatvla2_lite.training.trainer import _lr_lambda


@pytest.mark.parametrize("floor", [0.0, 0.2])
def test_the_cosine_warms_up_then_decays_to_its_floor(floor):
    stage = stage_config("read", steps=1000, warmup_steps=100, lr_floor=floor)
    f = _lr_lambda(stage)
    assert f(0) == pytest.approx(0.01) and f(99) == pytest.approx(1.0)
    assert f(100) == pytest.approx(1.0) and f(550) == pytest.approx(floor + (1 - floor) * 0.5)
    assert f(1000) == pytest.approx(floor) and f(5000) == pytest.approx(floor)
