"""Checks on what a visitor sends: whiteboard photos, instructions, typed equations and expected answers.

Each check returns the clean value or raises one of chatvla2_lite.errors with a message the UI shows as is.
"""

from __future__ import annotations

import os

from chatvla2_lite.errors import InvalidInstructionError, InvalidObservationError
from sim.tasks.math_problems import solve

MAX_INSTRUCTION_CHARS = 256  # the simulator's task text limit (sim.env.MAX_INSTRUCTION_CHARS)


def load_board_photo(path: str | os.PathLike | None, max_bytes: int, max_pixels: int):
    """The uploaded file as an RGB PIL image, after checking its size in bytes and pixels and its integrity."""
    from PIL import Image, UnidentifiedImageError

    if not path:
        raise InvalidObservationError("no whiteboard photo was uploaded; drop a PNG or JPEG, or pick an example")
    size = os.path.getsize(path)
    if size == 0:
        raise InvalidObservationError("the uploaded file is empty; upload a PNG or JPEG photo of the whiteboard")
    if size > max_bytes:
        raise InvalidObservationError(
            f"the upload is {size / 2**20:.1f} MB, more than the {max_bytes / 2**20:.0f} MB this app accepts; "
            "send a smaller or more compressed photo"
        )
    try:
        # Image.open only reads the header, so the pixel count is known before anything is decoded.
        with Image.open(path) as probe:
            width, height = probe.size
            if width * height > max_pixels:
                raise InvalidObservationError(
                    f"the photo is {width}x{height} ({width * height / 1e6:.0f} megapixels), more than the "
                    f"{max_pixels / 1e6:.0f} megapixels this app decodes; scale it down and upload it again"
                )
            probe.verify()  # checksums and structure, without decoding
        with Image.open(path) as image:
            image.load()  # verify() misses truncated pixel data; decoding catches it
            return image.convert("RGB")
    except InvalidObservationError:
        raise
    except UnidentifiedImageError as exc:
        raise InvalidObservationError(
            "the upload is not an image this app can read; upload a PNG or JPEG photo of the whiteboard"
        ) from exc
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise InvalidObservationError(
            f"the image is damaged and cannot be decoded ({exc}); export it again as PNG or JPEG and re-upload"
        ) from exc


def check_instruction(text: str | None, max_chars: int = MAX_INSTRUCTION_CHARS) -> str:
    """The instruction with runs of whitespace collapsed; empty or too long raises InvalidInstructionError."""
    clean = " ".join(str(text or "").split())
    if not clean:
        raise InvalidInstructionError(
            "the instruction is empty; type what the arm should do, e.g. 'Put the duck to the left of the bowl'"
        )
    if len(clean) > max_chars:
        raise InvalidInstructionError(
            f"the instruction has {len(clean)} characters; the simulator takes at most {max_chars}, shorten it"
        )
    return clean


def check_equation(text: str | None) -> tuple[str, int]:
    """(board text ending in "= ?", its one-digit answer) for a typed problem such as "3 + 4" or "6 / 2 - 1 = ?"."""
    clean = " ".join(str(text or "").split())
    if not clean:
        raise InvalidInstructionError("the equation is empty; type a problem such as '3 + 4 = ?'")
    if len(clean) > 40:
        raise InvalidInstructionError(
            f"the equation has {len(clean)} characters; a whiteboard problem fits in 40, e.g. '6 ÷ 2 - 1 = ?'"
        )
    try:
        answer = solve(clean)
    except ValueError as exc:
        raise InvalidInstructionError(str(exc)) from exc
    if not 0 <= answer <= 9:
        raise InvalidInstructionError(
            f"{clean!r} equals {answer}, but the number cards show 0-9; type a problem whose answer is one digit"
        )
    body = clean.rstrip("?").rstrip().rstrip("=").rstrip()
    return f"{body} = ?", answer


def check_expected_answer(text: str | int | None) -> int | None:
    """The expected digit a visitor typed for an uploaded photo, or None when the box is empty."""
    clean = str(text if text is not None else "").strip()
    if not clean:
        return None
    if not (clean.isdigit() and len(clean) == 1):
        raise InvalidInstructionError(
            f"the expected answer {clean[:20]!r} is not one digit; type 0-9, or leave it empty for no ground truth"
        )
    return int(clean)
