"""Cameras of a real arm: an OpenCV device (an index or a path) or a still image file, each read as uint8 (H, W, 3)
RGB. cv2 loads only when a device camera opens (opencv-python is optional)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from chatvla2_lite.errors import RobotError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


class StillCamera:
    """A fixed frame from an image file: a stand-in camera for tests, demos and a board photographed once."""

    def __init__(self, path: str):
        self.path = Path(path)
        self.frame: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        from PIL import Image

        with Image.open(self.path) as image:
            return image.height, image.width, 3

    def connect(self) -> None:
        from PIL import Image

        try:
            with Image.open(self.path) as image:
                self.frame = np.asarray(image.convert("RGB"))
        except OSError as exc:
            raise RobotError(f"cannot read the camera image {self.path} ({exc}); give an existing PNG or JPEG") from exc

    def read(self) -> np.ndarray:
        return self.frame.copy()

    def disconnect(self) -> None:
        self.frame = None


class OpenCVCamera:
    """A camera device through OpenCV (`index` as in cv2.VideoCapture: 0, or /dev/video0, or a video file)."""

    def __init__(self, source: int | str, width: int = 640, height: int = 480):
        self.source, self.width, self.height = source, width, height
        self.capture = None

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.height, self.width, 3

    def connect(self) -> None:
        try:
            import cv2
        except ImportError as exc:
            raise RobotError(
                f"camera {self.source!r} needs OpenCV: `pip install opencv-python-headless`, or give a still image path"
            ) from exc
        self.capture = cv2.VideoCapture(self.source)
        self.capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        self.capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        if not self.capture.isOpened():
            raise RobotError(
                f"cannot open camera {self.source!r}; check `ls /dev/video*` and that no other app uses it"
            )

    def read(self) -> np.ndarray:
        import cv2

        ok, frame = self.capture.read()
        if not ok:
            raise RobotError(f"camera {self.source!r} gave no frame; check its cable, then connect again")
        return np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))

    def disconnect(self) -> None:
        if self.capture is not None:
            self.capture.release()
            self.capture = None


def make_camera(source: int | str):
    """The camera of a config entry: an image file is a still camera, anything else an OpenCV device."""
    if isinstance(source, str) and Path(source).suffix.lower() in IMAGE_SUFFIXES:
        return StillCamera(source)
    if isinstance(source, str) and source.isdigit():
        source = int(source)
    return OpenCVCamera(source)
