"""The split table: disjoint in every dimension, and every name in it exists."""

import pytest

from sim import catalog, fonts
from sim.errors import UnknownNameError
from sim.splits import MATH_BUCKETS, SPLITS, get_split, math_bucket
from sim.tasks import math_problems, phrasing

DIMENSIONS = ("fonts", "shapes", "colours", "phrasings")


@pytest.mark.parametrize("dimension", DIMENSIONS)
def test_splits_are_disjoint_and_non_empty(dimension):
    train, heldout = set(getattr(get_split("train"), dimension)), set(getattr(get_split("heldout"), dimension))
    assert train and heldout
    assert not train & heldout, f"{dimension} shared by both splits: {train & heldout}"


def test_math_buckets_partition_the_hash_range():
    train, heldout = get_split("train").math_buckets, get_split("heldout").math_buckets
    assert not train & heldout
    assert train | heldout == frozenset(range(MATH_BUCKETS))


def test_every_math_problem_belongs_to_exactly_one_split_roughly_80_20():
    total = 0
    for form in math_problems.all_forms():
        everything = {p.key for p in math_problems.problems_of_form(form)}
        train = {p.key for p in math_problems.split_problems("train", form)}
        heldout = {p.key for p in math_problems.split_problems("heldout", form)}
        assert train and heldout, f"form {form} has no problems in one split"
        assert not train & heldout
        assert train | heldout == everything
        total += len(everything)
    share = len(math_problems.split_problems("heldout")) / total
    assert 0.12 < share < 0.28


def test_math_bucket_is_a_fixed_hash():
    # Pinned values: if these change, every recorded dataset's split changes with them.
    assert [math_bucket(k) for k in ("3+4", "6/2-1", "9-9", "0*0", "5+2+1")] == [0, 5, 5, 4, 5]
    assert all(0 <= math_bucket(f"{a}+{b}") < MATH_BUCKETS for a in range(10) for b in range(10))
    assert len({math_bucket(f"{a}+{b}") for a in range(10) for b in range(10)}) == MATH_BUCKETS


def test_split_names_exist_in_their_modules():
    for spec in SPLITS.values():
        assert set(spec.fonts) <= set(fonts.MATPLOTLIB_FONTS), "splits must use matplotlib fonts only"
        assert set(spec.shapes) <= set(catalog.OBJECT_KINDS)
        assert set(spec.colours) <= set(catalog.COLOURS)
        assert set(spec.phrasings) <= set(phrasing.TEMPLATES)


def test_every_template_is_in_one_split_and_each_split_covers_every_task_and_relation():
    assigned = [t for spec in SPLITS.values() for t in spec.phrasings]
    assert sorted(assigned) == sorted(phrasing.TEMPLATES)
    for name in SPLITS:
        assert phrasing.templates_for(name, "math_matching")
        for rel in phrasing.RELATIONS + (phrasing.IN,):
            assert phrasing.templates_for(name, "toy_placement", rel), (name, rel)


def test_unknown_split_raises_with_valid_names():
    with pytest.raises(UnknownNameError) as err:
        get_split("validation")
    assert "heldout" in str(err.value) and "train" in str(err.value)
    assert isinstance(err.value, KeyError)
