"""Upload and text checks: every bad input gets the project's error with a message that says what to do."""

from pathlib import Path

import pytest

from chatvla2_lite.errors import InvalidInstructionError, InvalidObservationError
from playground.uploads import check_equation, check_expected_answer, check_instruction, load_board_photo

MB, MP = 2**20, 10**6
EXAMPLES = sorted((Path(__file__).parents[2] / "playground" / "examples").glob("*.png"))


def test_an_example_board_loads_as_rgb():
    image = load_board_photo(EXAMPLES[0], 10 * MB, 16 * MP)
    assert image.mode == "RGB" and image.size == (448, 224)


@pytest.mark.parametrize(
    "name, words",
    [
        ("not_image", "not an image"),
        ("huge", "40 megapixels"),
        ("corrupt", "damaged"),
        ("truncated", "damaged"),
    ],
)
def test_bad_uploads_are_refused_with_a_reason(bad_files, name, words):
    with pytest.raises(InvalidObservationError, match=words):
        load_board_photo(bad_files[name], 10 * MB, 16 * MP)


def test_byte_cap_and_missing_upload(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(b"\x89PNG" + bytes(2 * MB))
    with pytest.raises(InvalidObservationError, match="MB"):
        load_board_photo(path, 1 * MB, 16 * MP)
    with pytest.raises(InvalidObservationError, match="no whiteboard photo"):
        load_board_photo(None, MB, MP)


def test_instructions():
    assert check_instruction("  Put the duck   to the left of the bowl ") == "Put the duck to the left of the bowl"
    with pytest.raises(InvalidInstructionError, match="empty"):
        check_instruction("   ")
    with pytest.raises(InvalidInstructionError, match="5000 characters"):
        check_instruction("x" * 5000)


@pytest.mark.parametrize(
    "typed, board, answer",
    [
        ("3 + 4", "3 + 4 = ?", 7),
        ("6 / 2 - 1 = ?", "6 / 2 - 1 = ?", 2),
        ("2 x 3=", "2 x 3 = ?", 6),
    ],
)
def test_typed_equations_are_solved(typed, board, answer):
    assert check_equation(typed) == (board, answer)


@pytest.mark.parametrize("typed, words", [("9 x 9", "81"), ("", "empty"), ("3 + ", "number"), ("7 / 2", "exact")])
def test_bad_equations(typed, words):
    with pytest.raises(InvalidInstructionError, match=words):
        check_equation(typed)


def test_expected_answer():
    assert check_expected_answer("") is None and check_expected_answer(" 7 ") == 7
    with pytest.raises(InvalidInstructionError, match="one digit"):
        check_expected_answer("12")
