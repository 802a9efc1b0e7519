"""Font files for whiteboards and cards, found without apt.

The fonts the project relies on ship inside matplotlib (``mpl-data/fonts/ttf``), so every machine
renders the same pixels. Debian's ``/usr/share/fonts`` is offered as an extra when present, but the
split table in ``sim/splits.py`` only names matplotlib fonts.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from sim.errors import UnknownNameError

# The characters a math whiteboard needs; a font that lacks any of them is not listed.
MATH_GLYPHS = "0123456789+-−×÷=?"  # "−" is the minus sign boards are drawn with

# Stable short name -> file name inside matplotlib's ttf folder. Left out on purpose: the Computer
# Modern files (cmr10, cmss10, cmtt10, cmb10, ...) have no × or ÷, the *Display and STIXNonUni/STIXSiz*
# files have no digits at all, and LastResortHE draws every character as a placeholder box.
MATPLOTLIB_FONTS: dict[str, str] = {
    "dejavu_sans": "DejaVuSans.ttf",
    "dejavu_sans_bold": "DejaVuSans-Bold.ttf",
    "dejavu_sans_oblique": "DejaVuSans-Oblique.ttf",
    "dejavu_sans_bold_oblique": "DejaVuSans-BoldOblique.ttf",
    "dejavu_serif": "DejaVuSerif.ttf",
    "dejavu_serif_bold": "DejaVuSerif-Bold.ttf",
    "dejavu_serif_italic": "DejaVuSerif-Italic.ttf",
    "dejavu_serif_bold_italic": "DejaVuSerif-BoldItalic.ttf",
    "dejavu_mono": "DejaVuSansMono.ttf",
    "dejavu_mono_bold": "DejaVuSansMono-Bold.ttf",
    "dejavu_mono_oblique": "DejaVuSansMono-Oblique.ttf",
    "dejavu_mono_bold_oblique": "DejaVuSansMono-BoldOblique.ttf",
    "stix_general": "STIXGeneral.ttf",
    "stix_general_bold": "STIXGeneralBol.ttf",
    "stix_general_italic": "STIXGeneralItalic.ttf",
    "stix_general_bold_italic": "STIXGeneralBolIta.ttf",
}

SYSTEM_FONT_DIRS = ("/usr/share/fonts/truetype", "/usr/share/fonts/opentype")
SYSTEM_PREFIX = "system_"


@lru_cache(maxsize=1)
def matplotlib_font_dir() -> Path:
    """The folder holding matplotlib's bundled TrueType fonts."""
    import matplotlib  # only here: `import sim.fonts` should not pay for matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@lru_cache(maxsize=1)
def _system_fonts() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for root in SYSTEM_FONT_DIRS:
        for dirpath, _, files in sorted(os.walk(root)):
            for f in sorted(files):
                if f.lower().endswith((".ttf", ".otf")):
                    stem = Path(f).stem.lower().replace("-", "_").replace(" ", "_")
                    found.setdefault(SYSTEM_PREFIX + stem, Path(dirpath) / f)
    return found


def list_fonts(include_system: bool = False) -> list[str]:
    """The sorted font names `font_path` accepts; system fonts (``system_*``) only when asked."""
    names = sorted(MATPLOTLIB_FONTS)
    if include_system:
        names += sorted(_system_fonts())
    return names


def font_path(name: str) -> Path:
    """The file of the font called `name`; raises UnknownNameError listing the valid names."""
    if name in MATPLOTLIB_FONTS:
        return matplotlib_font_dir() / MATPLOTLIB_FONTS[name]
    if name.startswith(SYSTEM_PREFIX) and name in _system_fonts():
        return _system_fonts()[name]
    raise UnknownNameError("font", name, list_fonts(include_system=True))


@lru_cache(maxsize=64)
def load_font(name: str, size_px: int):
    """A PIL FreeType font for `name` at `size_px` pixels (cached: loading is the slow part)."""
    from PIL import ImageFont

    return ImageFont.truetype(str(font_path(name)), size_px)


def missing_glyphs(name: str, chars: str = MATH_GLYPHS) -> str:
    """The characters of `chars` that font `name` draws as nothing or as its missing-glyph box."""
    from PIL import Image, ImageDraw

    font = load_font(name, 32)

    def raster(ch: str) -> bytes:
        im = Image.new("L", (64, 64))
        ImageDraw.Draw(im).text((8, 8), ch, font=font, fill=255)
        return im.tobytes()

    # A private-use code point has no glyph in any of these fonts, so it shows the .notdef box.
    tofu = raster("\ue000")
    return "".join(ch for ch in chars if not any(raster(ch)) or raster(ch) == tofu)
