"""The PyBullet tabletop: table, whiteboard, the SO-100, and the bodies tasks add (cards, toys, containers).

World frame: z up, the table top at z = 0, the arm's base at the origin reaching along +x. The
whiteboard stands behind the workspace facing the arm. "Left" is +y as seen from behind the arm.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sim.catalog import NUMBER_CARD, container, mesh_file, mesh_frame, object_kind
from sim.errors import SceneError
from sim.meshes import textured_box_obj
from sim.robot import ArmConfig, SimArm


@dataclass(frozen=True)
class SceneConfig:
    """Sizes and rates of the tabletop world. Lengths in metres."""

    physics_hz: int = 240
    control_hz: int = 30
    table_size: tuple[float, float, float] = (0.70, 0.80, 0.04)
    table_center_xy: tuple[float, float] = (0.22, 0.0)
    board_center: tuple[float, float, float] = (0.42, 0.0, 0.135)
    board_size: tuple[float, float, float] = (0.012, 0.30, 0.15)  # thickness, width, height
    board_texture_px: tuple[int, int] = (448, 224)
    table_friction: float = 0.8
    object_friction: float = 1.2
    arm: ArmConfig = field(default_factory=ArmConfig)

    @property
    def substeps(self) -> int:
        """Physics steps per control step."""
        return self.physics_hz // self.control_hz


def blank_board():
    """A clean whiteboard image: what the board shows until a task writes on it."""
    from PIL import Image

    from sim.textures import draw_whiteboard_from_photo

    return draw_whiteboard_from_photo(Image.new("RGB", (8, 8), "white"))


class Scene:
    """A headless PyBullet world with the arm, the table and the board; tasks add their bodies."""

    def __init__(self, config: SceneConfig | None = None):
        import pybullet as pb

        self.pb = pb
        self.config = config or SceneConfig()
        self.client = pb.connect(pb.DIRECT)
        if self.client < 0:
            raise SceneError("could not start a PyBullet physics server (pybullet.connect returned -1)")
        self._tmp = tempfile.TemporaryDirectory(prefix="chatvla2_sim_")
        self._mesh_dir = Path(self._tmp.name)
        self._textures: dict[str, int] = {}
        self.arm: SimArm | None = None
        self.reset()

    # --- lifecycle ----------------------------------------------------------------------------------
    def reset(self) -> None:
        """Empty the world and build the table, the board and the arm at its home pose."""
        pb, c, cfg = self.pb, self.client, self.config
        pb.resetSimulation(physicsClientId=c)
        self._textures.clear()
        pb.setGravity(0, 0, -9.81, physicsClientId=c)
        pb.setPhysicsEngineParameter(
            fixedTimeStep=1.0 / cfg.physics_hz,
            numSolverIterations=60,
            deterministicOverlappingPairs=1,
            physicsClientId=c,
        )
        tx, ty, tz = cfg.table_size
        self.table = self._build_table()
        pb.changeDynamics(self.table, -1, lateralFriction=cfg.table_friction, physicsClientId=c)
        self.board = self._build_board()
        self.set_board_image(blank_board(), key="blank_board")
        self.arm = SimArm(c, cfg.arm)
        # The base and the turning shoulder sit on the table top: their boxes touch it by design.
        for link in (-1, self.arm.joint_ids[0]):
            pb.setCollisionFilterPair(self.table, self.arm.body, -1, link, 0, physicsClientId=c)
        self.bodies: dict[str, int] = {}

    def close(self) -> None:
        """Disconnect the physics server and remove the scene's temporary files."""
        if self.client is not None and self.pb.isConnected(self.client):
            self.pb.disconnect(self.client)
        self.client = None
        self._tmp.cleanup()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: modules may already be gone
            pass

    # --- building -----------------------------------------------------------------------------------
    def _static_box(self, half, pos, rgba, yaw: float = 0.0) -> int:
        pb, c = self.pb, self.client
        col = pb.createCollisionShape(pb.GEOM_BOX, halfExtents=half, physicsClientId=c)
        vis = pb.createVisualShape(pb.GEOM_BOX, halfExtents=half, rgbaColor=rgba, physicsClientId=c)
        quat = pb.getQuaternionFromEuler((0, 0, yaw))
        return pb.createMultiBody(0, col, vis, pos, quat, physicsClientId=c)

    def _mesh_path(self, name: str, half, face: str, faces: tuple[str, ...] | None = None) -> str:
        path = self._mesh_dir / f"{name}.obj"
        if not path.exists():
            path.write_text(textured_box_obj(half, face) if faces is None else textured_box_obj(half, face, faces))
        return str(path)

    def _build_table(self) -> int:
        pb, c, cfg = self.pb, self.client, self.config
        tx, ty, tz = cfg.table_size
        half = (tx / 2, ty / 2, tz / 2)
        col = pb.createCollisionShape(pb.GEOM_BOX, halfExtents=half, physicsClientId=c)
        # Only the top and the edge toward the board are drawn: the cameras never see the rest.
        vis = pb.createVisualShape(
            pb.GEOM_MESH,
            fileName=self._mesh_path("table", half, "+z", ("+z", "+x")),
            rgbaColor=(0.78, 0.66, 0.50, 1),
            physicsClientId=c,
        )
        return pb.createMultiBody(0, col, vis, (*cfg.table_center_xy, -tz / 2), physicsClientId=c)

    def _build_board(self) -> int:
        pb, c, cfg = self.pb, self.client, self.config
        half = tuple(s / 2 for s in cfg.board_size)
        col = pb.createCollisionShape(pb.GEOM_BOX, halfExtents=half, physicsClientId=c)
        vis = pb.createVisualShape(
            pb.GEOM_MESH, fileName=self._mesh_path("board", half, "-x"), rgbaColor=(1, 1, 1, 1), physicsClientId=c
        )
        board = pb.createMultiBody(0, col, vis, cfg.board_center, physicsClientId=c)
        # the board's legs, so it does not float
        leg_h = cfg.board_center[2] - half[2]
        for side in (-1, 1):
            self._static_box(
                (0.006, 0.006, leg_h / 2),
                (cfg.board_center[0] + 0.01, side * (half[1] - 0.01), leg_h / 2),
                (0.35, 0.35, 0.38, 1),
            )
        return board

    def load_texture(self, key: str, image) -> int:
        """A PyBullet texture id for a PIL image, loaded once per reset under `key`."""
        if key not in self._textures:
            rgb = image.convert("RGB")
            # Named by content: PyBullet keeps a texture per file name for the life of the process, so a name
            # used again (the board's, every episode) showed the first episode's picture forever.
            digest = hashlib.sha1(f"{rgb.size}".encode() + rgb.tobytes()).hexdigest()[:20]
            path = self._mesh_dir / f"tex_{digest}.png"
            rgb.save(path)
            self._textures[key] = self.pb.loadTexture(str(path), physicsClientId=self.client)
            path.unlink()  # the file only hands PyBullet the pixels: a stream of boards would fill the disk
        return self._textures[key]

    def set_board_image(self, image, key: str = "board") -> None:
        """Show a PIL image on the board's front face."""
        tex = self.load_texture(key, image)
        self.pb.changeVisualShape(self.board, -1, textureUniqueId=tex, physicsClientId=self.client)

    def add_card(self, name: str, texture_image, position_xy, yaw: float) -> int:
        """A number card resting on the table with `texture_image` on its top face."""
        pb, c, spec = self.pb, self.client, NUMBER_CARD
        half = tuple(s / 2 for s in spec.size)
        col = pb.createCollisionShape(pb.GEOM_BOX, halfExtents=half, physicsClientId=c)
        vis = pb.createVisualShape(
            pb.GEOM_MESH, fileName=self._mesh_path("card", half, "+z"), rgbaColor=(1, 1, 1, 1), physicsClientId=c
        )
        body = pb.createMultiBody(
            spec.mass_kg, col, vis, (*position_xy, half[2]), pb.getQuaternionFromEuler((0, 0, yaw)), physicsClientId=c
        )
        pb.changeVisualShape(body, -1, textureUniqueId=self.load_texture(name, texture_image), physicsClientId=c)
        self._object_dynamics(body)
        self.bodies[name] = body
        return body

    def add_toy(self, name: str, kind: str, rgba, position_xy, yaw: float) -> int:
        """A toy of catalog kind `kind` resting upright on the table."""
        pb, c = self.pb, self.client
        k = object_kind(kind)
        sx, sy, sz = k.size
        if k.shape == "box":
            col = pb.createCollisionShape(pb.GEOM_BOX, halfExtents=(sx / 2, sy / 2, sz / 2), physicsClientId=c)
            vis = pb.createVisualShape(
                pb.GEOM_BOX, halfExtents=(sx / 2, sy / 2, sz / 2), rgbaColor=rgba, physicsClientId=c
            )
        elif k.shape == "cylinder":
            col = pb.createCollisionShape(pb.GEOM_CYLINDER, radius=sx / 2, height=sz, physicsClientId=c)
            vis = pb.createVisualShape(pb.GEOM_CYLINDER, radius=sx / 2, length=sz, rgbaColor=rgba, physicsClientId=c)
        elif k.shape == "sphere":
            col = pb.createCollisionShape(pb.GEOM_SPHERE, radius=sx / 2, physicsClientId=c)
            vis = pb.createVisualShape(pb.GEOM_SPHERE, radius=sx / 2, rgbaColor=rgba, physicsClientId=c)
        else:
            pos, rpy = mesh_frame(kind)
            orn = pb.getQuaternionFromEuler(rpy)
            scale = [k.mesh.mesh_scale] * 3
            # The mesh is what the cameras see; physics uses its upright bounding box, a little inset, so
            # top-heavy meshes (the teddy) stand and every toy offers flat faces to the fingers.
            proxy = (sx * 0.45, sy * 0.45, sz / 2)
            col = pb.createCollisionShape(pb.GEOM_BOX, halfExtents=proxy, physicsClientId=c)
            vis = pb.createVisualShape(
                pb.GEOM_MESH,
                fileName=str(mesh_file(k.mesh.visual_obj)),
                meshScale=scale,
                rgbaColor=rgba,
                visualFramePosition=pos,
                visualFrameOrientation=orn,
                physicsClientId=c,
            )
        body = pb.createMultiBody(
            k.mass_kg,
            col,
            vis,
            (*position_xy, sz / 2 + 0.001),
            pb.getQuaternionFromEuler((0, 0, yaw)),
            physicsClientId=c,
        )
        self._object_dynamics(body)
        self.bodies[name] = body
        return body

    def add_container(self, name: str, kind: str, position_xy, yaw: float = 0.0) -> int:
        """A static container (tray or bowl) on the table, built from its catalog parts."""
        pb, c = self.pb, self.client
        k = container(kind)
        cols, viss, poss, orns = [], [], [], []
        for part in k.parts:
            if part.shape == "box":
                half = tuple(s / 2 for s in part.size)
                cols.append(pb.createCollisionShape(pb.GEOM_BOX, halfExtents=half, physicsClientId=c))
                viss.append(pb.createVisualShape(pb.GEOM_BOX, halfExtents=half, rgbaColor=k.rgba, physicsClientId=c))
            else:
                r, h = part.size[0] / 2, part.size[2]
                cols.append(pb.createCollisionShape(pb.GEOM_CYLINDER, radius=r, height=h, physicsClientId=c))
                viss.append(
                    pb.createVisualShape(pb.GEOM_CYLINDER, radius=r, length=h, rgbaColor=k.rgba, physicsClientId=c)
                )
            poss.append(part.position)
            orns.append(pb.getQuaternionFromEuler((0, 0, part.yaw)))
        n = len(cols)
        body = pb.createMultiBody(
            0,
            -1,
            -1,
            (*position_xy, 0.0),
            pb.getQuaternionFromEuler((0, 0, yaw)),
            linkMasses=[0] * n,
            linkCollisionShapeIndices=cols,
            linkVisualShapeIndices=viss,
            linkPositions=poss,
            linkOrientations=orns,
            linkInertialFramePositions=[(0, 0, 0)] * n,
            linkInertialFrameOrientations=[(0, 0, 0, 1)] * n,
            linkParentIndices=[0] * n,
            linkJointTypes=[pb.JOINT_FIXED] * n,
            linkJointAxis=[(0, 0, 1)] * n,
            physicsClientId=c,
        )
        self.bodies[name] = body
        return body

    def _object_dynamics(self, body: int) -> None:
        self.pb.changeDynamics(
            body,
            -1,
            lateralFriction=self.config.object_friction,
            spinningFriction=0.05,
            rollingFriction=0.0005,
            physicsClientId=self.client,
        )

    # --- simulation ---------------------------------------------------------------------------------
    def step_physics(self, n: int | None = None) -> None:
        """Advance the physics by n fine steps (one control period by default)."""
        for _ in range(self.config.substeps if n is None else n):
            self.pb.stepSimulation(physicsClientId=self.client)

    def settle(self, seconds: float = 0.3) -> None:
        """Let dropped bodies come to rest."""
        self.step_physics(int(seconds * self.config.physics_hz))

    def place(self, body: int, position, yaw: float = 0.0) -> None:
        """Teleport a body to a world position and heading, at rest."""
        pb = self.pb
        pb.resetBasePositionAndOrientation(
            body, position, pb.getQuaternionFromEuler((0, 0, yaw)), physicsClientId=self.client
        )
        pb.resetBaseVelocity(body, (0, 0, 0), (0, 0, 0), physicsClientId=self.client)

    def pose(self, body: int) -> tuple[np.ndarray, np.ndarray]:
        """(position (3,), quaternion xyzw (4,)) of a body's base."""
        p, q = self.pb.getBasePositionAndOrientation(body, physicsClientId=self.client)
        return np.array(p), np.array(q)

    def yaw(self, body: int) -> float:
        """The heading of a body about world z."""
        return float(self.pb.getEulerFromQuaternion(self.pose(body)[1])[2])

    def speed(self, body: int) -> float:
        """Linear speed of a body's base in m/s."""
        return float(np.linalg.norm(self.pb.getBaseVelocity(body, physicsClientId=self.client)[0]))

    def touching(self, a: int, b: int, link_b: int = -1) -> bool:
        """True when bodies a and b (optionally b's link) are in contact."""
        kw = {} if link_b == -1 else {"linkIndexB": link_b}
        return bool(self.pb.getContactPoints(bodyA=a, bodyB=b, physicsClientId=self.client, **kw))
