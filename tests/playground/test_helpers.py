"""Pure helpers: public-Space model rules, the session registry, routing matrices, plots, probe scoring."""

import numpy as np
import pytest

from chatvla2_lite.errors import CheckpointError, UnsafeWeightsError
from chatvla2_lite.evaluation.probe import normalize_answer as normalize
from playground.hub_policy import check_hub_id, check_repo_files
from playground.plots import action_figure, probe_figure, routing_matrix
from playground.session import SessionRegistry

GB = 2**30


@pytest.mark.parametrize("good", ["Qwen/Qwen2-VL-2B-Instruct", "me/chatvla2-nano"])
def test_hub_ids_pass(good):
    assert check_hub_id(good) == good


@pytest.mark.parametrize("bad", ["/etc/passwd", "./checkpoints/x", "~/models/x", "../x/y", "no-slash", "a/b/c"])
def test_public_space_refuses_paths_and_non_ids(bad):
    with pytest.raises(CheckpointError, match="not a Hub model id"):
        check_hub_id(bad)


def test_public_space_repo_rules():
    check_repo_files("a/b", {"model.safetensors": GB, "config.json": 1}, {"model_type": "chatvla2"}, 2 * GB)
    with pytest.raises(CheckpointError, match="more than"):
        check_repo_files("a/b", {"model-1.safetensors": 2 * GB, "model-2.safetensors": GB}, {}, 2 * GB)
    with pytest.raises(CheckpointError, match="trust_remote_code"):
        check_repo_files("a/b", {"model.safetensors": 1}, {"auto_map": {"AutoModel": "x.Y"}}, GB)
    with pytest.raises(UnsafeWeightsError, match="pickled"):
        check_repo_files("a/b", {"pytorch_model.bin": 1}, {}, GB)
    with pytest.raises(CheckpointError, match="no \\*.safetensors"):
        check_repo_files("a/b", {"README.md": 1}, {}, GB)


class FakeBackend:
    name = "fake"

    def __init__(self):
        self.closed = False

    def close(self):
        self.closed = True


def test_registry_gives_each_session_its_own_state_and_closes_the_oldest():
    reg = SessionRegistry(capacity=2)
    a, b = reg.get("a"), reg.get("b")
    assert a is not b and reg.get("a") is a
    a.backend, b.backend = FakeBackend(), FakeBackend()
    backend_b = b.backend
    reg.get("c")  # "b" is now the least recently used
    assert backend_b.closed and "b" not in reg and len(reg) == 2
    backend_a = a.backend
    assert reg.close("a") and backend_a.closed and a.stop.is_set()
    assert not reg.close("a")


def test_routing_matrix_puts_each_picked_experts_weight_in_its_row():
    routing = {
        2: {"experts": np.array([[0, 3], [1, 3], [7, 0]]), "weights": np.array([[0.6, 0.4], [0.5, 0.5], [0.9, 0.1]])},
        3: {"experts": np.array([[2, 1], [2, 1], [2, 1]]), "weights": np.array([[0.7, 0.3], [0.7, 0.3], [0.7, 0.3]])},
    }
    z, labels = routing_matrix(routing, np.array([False, True, True]), num_experts=8)
    assert z.shape == (16, 2) and labels[0] == "L2 e0" and labels[8] == "L3 e0"
    assert z[1, 0] == pytest.approx(0.5) and z[3, 0] == pytest.approx(0.5) and z[7, 1] == pytest.approx(0.9)
    assert np.allclose(z.sum(axis=0), 2.0), "two layers, weights summing to 1 per token each"


def test_figures_build():
    fig = action_figure(np.zeros((16, 6)), np.ones((10, 6)))
    assert len(fig.data) == 12
    fig = probe_figure({"ocr": {"accuracy": 0.0, "correct": 0, "total": 4}})
    assert fig.data[0].y[0] == 0.0


def test_probe_answers_are_compared_after_normalizing():
    assert normalize(" 3 − 4 × 2 = ?. ") == "3 - 4 x 2 = ?"
    assert normalize("Blue  Sphere.") == "blue sphere"
