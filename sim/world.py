"""What the sim shows a model: the cameras' size and how the math task lays out its cards.

A model is trained for one world and names it in its processor config (`processor_config.json`, "world"); eval,
probe and the data makers build their envs from it, so a model meets the pixels and the card layout it learned.
The default is the world every model before this option was trained in. `points` says how the reasoning the model
is trained on says where things are: in words alone, or with each thing's point in the front camera's frame
(sim/points.py), the sim's calibration being what turns a point into a place on the table.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING

from sim.splits import FONT_SOURCES

if TYPE_CHECKING:
    from sim.cameras import CameraConfig


# scattered: 3-5 cards anywhere in their band, each turned up to 45 degrees either way;
# row: the same cards side by side in one row at the back of the band, each upright to the front camera
CARD_LAYOUTS = ("scattered", "row")
CAMERA_SIZES = (112, 1024)  # px, the smallest and largest square frame the cameras render


@dataclass(frozen=True)
class World:
    """The cameras' frame side in pixels (both square), the math task's card layout (CARD_LAYOUTS), whether
    reasoning carries points, and the boards' fonts (matplotlib's, or the corpus `make fonts` fetches)."""

    camera_size: int = 224
    card_layout: str = "scattered"
    points: bool = False
    fonts: str = "matplotlib"  # where its boards take their fonts: sim.splits.FONT_SOURCES

    def __post_init__(self):
        if self.card_layout not in CARD_LAYOUTS:
            raise ValueError(f"unknown card layout {self.card_layout!r}; use one of {', '.join(CARD_LAYOUTS)}")
        if not isinstance(self.camera_size, int) or not CAMERA_SIZES[0] <= self.camera_size <= CAMERA_SIZES[1]:
            raise ValueError(
                f"camera size must be a whole number of pixels from {CAMERA_SIZES[0]} to "
                f"{CAMERA_SIZES[1]}, not {self.camera_size!r}"
            )
        if not isinstance(self.points, bool):
            raise ValueError(f"points is true or false, not {self.points!r}")
        if self.fonts not in FONT_SOURCES:
            raise ValueError(f"unknown fonts {self.fonts!r}; use one of {', '.join(FONT_SOURCES)}")

    def overridden(self, **settings) -> World:
        """This world with the settings given (camera_size=..., card_layout=..., ...), each None keeping this one's."""
        return replace(self, **{k: v for k, v in settings.items() if v is not None})

    def camera_config(self) -> CameraConfig:
        """The cameras at this world's frame size (lens and placement as CameraConfig's defaults)."""
        from sim.cameras import CameraConfig  # numpy and the renderer's settings: not needed to name a world

        return CameraConfig(width=self.camera_size, height=self.camera_size)

    def task_options(self, task: str) -> dict:
        """Keyword arguments of `task`'s constructor that this world sets."""
        return {"card_layout": self.card_layout, "fonts": self.fonts} if task == "math_matching" else {}

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def of(cls, world: World | dict | None) -> World:
        """The World of a World, of its dict (a model's processor keeps it so), or the default one for None."""
        return world if isinstance(world, World) else cls.from_dict(world)

    @classmethod
    def from_dict(cls, settings: dict | None) -> World:
        """The world of a saved config; None or {} (a model saved before worlds existed) gives the default."""
        settings = dict(settings or {})
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(settings) - set(known))
        if unknown:
            raise ValueError(f"unknown world settings {unknown}; a world has {', '.join(known)}")
        return cls(**settings)

    def describe(self) -> str:
        return f"{self.camera_size} px cameras, {self.card_layout} cards" + (
            ", reasoning with points" if self.points else ""
        )
