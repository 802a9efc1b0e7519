"""The toy catalog: sizes fit the gripper, mesh files exist and match their recorded bounds."""

import math

import numpy as np
import pytest

from sim import catalog
from sim.errors import UnknownNameError

MESH_KINDS = [k for k in catalog.OBJECT_KINDS.values() if k.shape == "mesh"]


def _obj_bounds(path):
    with open(path) as f:
        v = np.array([[float(x) for x in line.split()[1:4]] for line in f if line.startswith("v ")])
    return v.min(0), v.max(0)


@pytest.mark.parametrize("kind", list(catalog.OBJECT_KINDS.values()), ids=lambda k: k.name)
def test_toys_fit_the_gripper(kind):
    x, y, z = kind.size
    assert 0.015 <= min(x, y) <= 0.035, "narrow side must fit a jaw that opens to about 5 cm"
    assert max(x, y) <= 0.036
    assert 0.025 <= z <= 0.04
    assert kind.shape in ("box", "cylinder", "sphere", "mesh")
    assert (kind.mesh is not None) == (kind.shape == "mesh")


@pytest.mark.parametrize("kind", MESH_KINDS, ids=lambda k: k.name)
def test_mesh_files_exist_and_match_recorded_bounds(kind):
    m = kind.mesh
    files = [m.visual_obj, m.collision_obj] + ([m.urdf] if m.urdf else [])
    for f in files:
        assert catalog.mesh_file(f).is_file(), f
    lo, hi = _obj_bounds(catalog.mesh_file(m.visual_obj))
    np.testing.assert_allclose(lo, m.native_min, atol=2e-3)
    np.testing.assert_allclose(hi, m.native_max, atol=2e-3)
    if m.urdf:
        urdf = catalog.mesh_file(m.urdf).read_text()
        assert f'scale="{m.urdf_mesh_scale:g} ' in urdf.replace('scale=".', 'scale="0.')


@pytest.mark.parametrize("kind", MESH_KINDS, ids=lambda k: k.name)
def test_mesh_frame_centres_the_upright_mesh(kind):
    pos, rpy = catalog.mesh_frame(kind.name)
    assert rpy == (math.pi / 2, 0.0, 0.0)
    lo, hi = np.array(kind.mesh.native_min), np.array(kind.mesh.native_max)
    corners = np.array([[a, b, c] for a in (lo[0], hi[0]) for b in (lo[1], hi[1]) for c in (lo[2], hi[2])])
    # Rotation by +90 degrees about x, as pybullet applies the frame orientation, then the offset.
    rot = np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]])
    placed = corners * kind.mesh.mesh_scale @ rot.T + np.array(pos)
    np.testing.assert_allclose(placed.min(0), -np.array(kind.size) / 2, atol=1e-4)
    np.testing.assert_allclose(placed.max(0), np.array(kind.size) / 2, atol=1e-4)


def test_primitives_have_no_mesh_frame():
    with pytest.raises(ValueError):
        catalog.mesh_frame("cube")


@pytest.mark.parametrize("name", list(catalog.CONTAINERS))
def test_containers_are_10_to_12_cm_with_2_cm_walls_and_parts_inside_the_outline(name):
    c = catalog.container(name)
    assert 0.10 <= max(c.outer_size[:2]) <= 0.12
    assert c.inner_size[2] == pytest.approx(0.02)
    assert c.inner_size[0] > catalog.NUMBER_CARD.size[0] * 2  # room for a card or toy with slack
    for part in c.parts:
        assert part.shape in ("box", "cylinder")
        half_diag = math.hypot(part.size[0], part.size[1]) / 2
        r = math.hypot(part.position[0], part.position[1])
        assert r - half_diag <= max(c.outer_size[:2]) / 2
        assert part.position[2] - part.size[2] / 2 >= -1e-9  # nothing below the floor


def test_bowl_walls_close_the_ring():
    walls = [p for p in catalog.container("bowl").parts if p.shape == "box"]
    r_outer = catalog.container("bowl").outer_size[0] / 2
    # Chord of each sector at the outer radius, so the wall boxes leave no gap a card slips through.
    assert sum(p.size[1] for p in walls) >= 2 * math.pi * r_outer * 0.99


def test_card_is_about_3_by_3_by_2_cm():
    assert catalog.NUMBER_CARD.size == pytest.approx((0.03, 0.03, 0.02))


def test_display_names_and_lookups():
    assert catalog.display_name("cube", "red") == "red cube"
    assert catalog.colour("blue").rgba[2] > 0.5
    assert all(0 <= v <= 1 for c in catalog.COLOURS.values() for v in c.rgba)
    for bad, fn in (("pyramid", catalog.object_kind), ("teal", catalog.colour), ("box", catalog.container)):
        with pytest.raises(UnknownNameError):
            fn(bad)
