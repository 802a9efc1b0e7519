"""Font files for whiteboards and cards, found without apt.

The fonts the project relies on ship inside matplotlib (``mpl-data/fonts/ttf``), so every machine
renders the same pixels. Debian's ``/usr/share/fonts`` is offered as an extra when present, but the
split table in ``sim/splits.py`` only names matplotlib fonts. The fetched font corpus (`make fonts`,
see ``sim/font_corpus.py``) is opt-in too: its faces go by ``corpus/<face>``, e.g. ``corpus/caveat_400_normal``.
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
CORPUS_PREFIX = "corpus/"  # sim.font_corpus.PREFIX, repeated so that `import sim.fonts` stays light


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
    """The file of the font called `name`; raises UnknownNameError listing the valid names.

    A ``corpus/<face>`` name raises sim.errors.FontCorpusError when the corpus is not fetched.
    """
    if name.startswith(CORPUS_PREFIX):
        from sim.font_corpus import corpus_font_path  # only here: most callers never touch the corpus

        return corpus_font_path(name.removeprefix(CORPUS_PREFIX))
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


def missing_glyphs(font: str | Path, chars: str = MATH_GLYPHS) -> str:
    """The characters of `chars` that `font` (a name, or a font file's Path) draws as nothing or as its missing box."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(font), 32) if isinstance(font, Path) else load_font(font, 32)

    def raster(ch: str) -> bytes:
        # centred, so a font with a tall ascent or a deep descent still lands on the canvas
        im = Image.new("L", (96, 96))
        ImageDraw.Draw(im).text((48, 48), ch, font=font, fill=255, anchor="mm")
        return im.tobytes()

    # A private-use code point has no glyph in any of these fonts, so it shows the .notdef box; some fetched
    # fonts (Linux Libertine) do fill U+E000, but none maps the last code point of Unicode.
    tofu = {raster("\ue000"), raster("\U0010ffff")}
    return "".join(ch for ch in chars if not any(raster(ch)) or raster(ch) in tofu)
