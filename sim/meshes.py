"""OBJ text for boxes whose texture shows on one face only (a card's top, the board's front)."""

from __future__ import annotations

# Each face: outward axis, its four corners as signs (counter-clockwise seen from outside).
_FACES = {
    "+z": [(-1, -1, 1), (1, -1, 1), (1, 1, 1), (-1, 1, 1)],
    "-z": [(-1, 1, -1), (1, 1, -1), (1, -1, -1), (-1, -1, -1)],
    "+x": [(1, -1, -1), (1, 1, -1), (1, 1, 1), (1, -1, 1)],
    "-x": [(-1, 1, -1), (-1, -1, -1), (-1, -1, 1), (-1, 1, 1)],
    "+y": [(1, 1, -1), (-1, 1, -1), (-1, 1, 1), (1, 1, 1)],
    "-y": [(-1, -1, -1), (1, -1, -1), (1, -1, 1), (-1, -1, 1)],
}
_NORMALS = {"+z": (0, 0, 1), "-z": (0, 0, -1), "+x": (1, 0, 0), "-x": (-1, 0, 0), "+y": (0, 1, 0), "-y": (0, -1, 0)}
# The full texture on the chosen face, read upright: (u, v) of its four corners in order.
_FULL_UV = [(0, 0), (1, 0), (1, 1), (0, 1)]
# Other faces sample one texel near the texture's corner, which textures keep plain.
_PLAIN_UV = (0.01, 0.01)


def textured_box_obj(
    half_extents: tuple[float, float, float], textured_face: str, faces: tuple[str, ...] = tuple(_FACES)
) -> str:
    """Wavefront OBJ text of a box with the whole texture on `textured_face` and a plain colour elsewhere.

    `faces` limits which faces are written: the renderer's cost grows with every large triangle, so
    a face no camera can see (a table's underside) is better left out.
    """
    if textured_face not in _FACES or not set(faces) <= set(_FACES):
        raise ValueError(f"faces must be among {sorted(_FACES)}")
    hx, hy, hz = half_extents
    lines = ["# written by sim/meshes.py"]
    vt = [f"vt {u} {v}" for u, v in _FULL_UV] + [f"vt {_PLAIN_UV[0]} {_PLAIN_UV[1]}"]
    lines += vt
    v_index = 1
    faces_out = []
    for n, (name, corners) in enumerate(((k, _FACES[k]) for k in faces), start=1):
        lines.append("vn {} {} {}".format(*_NORMALS[name]))
        for sx, sy, sz in corners:
            lines.append(f"v {sx * hx:.6g} {sy * hy:.6g} {sz * hz:.6g}")
        uv = [1, 2, 3, 4] if name == textured_face else [5, 5, 5, 5]
        a, b, c, d = range(v_index, v_index + 4)
        faces_out.append(f"f {a}/{uv[0]}/{n} {b}/{uv[1]}/{n} {c}/{uv[2]}/{n}")
        faces_out.append(f"f {a}/{uv[0]}/{n} {c}/{uv[2]}/{n} {d}/{uv[3]}/{n}")
        v_index += 4
    return "\n".join(lines + faces_out) + "\n"
