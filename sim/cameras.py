"""The two cameras, `front` (the board and the table) and `wrist` (on the gripper), rendered headless."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np

from sim.conventions import CAMERA_NAMES
from sim.errors import UnknownNameError

# SIM_RENDERER=egl asks for PyBullet's EGL plugin (hardware OpenGL, for a machine with a GPU);
# without it, or where the plugin cannot start, frames come from the CPU TinyRenderer.
RENDERER_ENV = "SIM_RENDERER"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CameraConfig:
    """Image size and lens of both cameras, and where the front one stands."""

    width: int = 224
    height: int = 224
    front_eye: tuple[float, float, float] = (0.0, 0.0, 0.45)
    front_target: tuple[float, float, float] = (0.30, 0.0, 0.04)
    front_fov_deg: float = 62.0
    wrist_fov_deg: float = 70.0
    # in the gripper frame: above the fingers, looking along them (-y) at the grasp point
    wrist_eye: tuple[float, float, float] = (-0.031, -0.020, 0.015)
    wrist_look: tuple[float, float, float] = (-0.031, -0.110, 0.0)
    # light from behind the arm, so the board's face (toward the arm) is lit
    light_direction: tuple[float, float, float] = (-0.6, -0.2, 1.0)
    near: float = 0.01
    far: float = 2.0


class Cameras:
    """Renders the scene's cameras to uint8 RGB arrays (H, W, 3) with PyBullet's TinyRenderer."""

    def __init__(self, scene, config: CameraConfig | None = None):
        self.scene, self.config = scene, config or CameraConfig()
        pb, cfg = scene.pb, self.config
        self._front_view = pb.computeViewMatrix(cfg.front_eye, cfg.front_target, (0, 0, 1))
        aspect = cfg.width / cfg.height
        self._front_proj = pb.computeProjectionMatrixFOV(cfg.front_fov_deg, aspect, cfg.near, cfg.far)
        self._wrist_proj = pb.computeProjectionMatrixFOV(cfg.wrist_fov_deg, aspect, cfg.near, cfg.far)
        self.renderer = pb.ER_TINY_RENDERER
        self.renderer_name = "tiny"
        if os.environ.get(RENDERER_ENV, "tiny").lower() == "egl":
            self._try_egl()

    def _try_egl(self) -> None:
        import importlib.util

        pb = self.scene.pb
        spec = importlib.util.find_spec("eglRenderer")
        plugin = -1
        if spec is not None and spec.origin:
            plugin = pb.loadPlugin(spec.origin, "_eglRendererPlugin", physicsClientId=self.scene.client)
        if plugin < 0:
            log.warning("%s=egl but PyBullet's EGL renderer could not start here; using the TinyRenderer", RENDERER_ENV)
            return
        self.renderer, self.renderer_name = pb.ER_BULLET_HARDWARE_OPENGL, "egl"

    def _wrist_view(self):
        pb, scene, cfg = self.scene.pb, self.scene, self.config
        arm = scene.arm
        link = arm.joint_ids[4]  # the gripper link (child of wrist_roll)
        state = pb.getLinkState(arm.body, link, computeForwardKinematics=True, physicsClientId=scene.client)
        pos, rot = np.array(state[4]), np.array(pb.getMatrixFromQuaternion(state[5])).reshape(3, 3)
        eye = pos + rot @ np.array(cfg.wrist_eye)
        target = pos + rot @ np.array(cfg.wrist_look)
        up = rot @ np.array([0.0, 0.0, 1.0])
        return pb.computeViewMatrix(eye.tolist(), target.tolist(), up.tolist())

    def _matrices(self, name: str):
        if name not in CAMERA_NAMES:
            raise UnknownNameError("camera", name, CAMERA_NAMES)
        if name == "front":
            return self._front_view, self._front_proj
        return self._wrist_view(), self._wrist_proj

    def render(self, name: str) -> np.ndarray:
        """The named camera's current image, uint8 (H, W, 3)."""
        pb, cfg = self.scene.pb, self.config
        view, proj = self._matrices(name)
        _, _, rgba, _, _ = pb.getCameraImage(
            cfg.width,
            cfg.height,
            view,
            proj,
            shadow=0,
            lightDirection=cfg.light_direction,
            renderer=self.renderer,
            flags=pb.ER_NO_SEGMENTATION_MASK,
            physicsClientId=self.scene.client,
        )
        return np.asarray(rgba, dtype=np.uint8).reshape(cfg.height, cfg.width, 4)[:, :, :3].copy()

    def body_mask(self, name: str) -> np.ndarray:
        """Which body each pixel of the named camera shows: int (H, W) of body ids, -1 for none."""
        pb, cfg = self.scene.pb, self.config
        view, proj = self._matrices(name)
        _, _, _, _, seg = pb.getCameraImage(
            cfg.width, cfg.height, view, proj, shadow=0, renderer=self.renderer, physicsClientId=self.scene.client
        )
        seg = np.asarray(seg, dtype=np.int64).reshape(cfg.height, cfg.width)
        # PyBullet packs the link index above bit 24; the body id is what a visibility count needs
        return np.where(seg < 0, -1, seg & ((1 << 24) - 1))
