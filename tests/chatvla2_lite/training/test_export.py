"""Shipping a recipe's model: the checkpoint folder, its card with the scores and the lineage, the size cap."""

import json
import shutil

import pytest

from chatvla2_lite.training.export import SHIPPED, score_jobs, scores_markdown, ship
from chatvla2_lite.training.recipe import load_recipe
from chatvla2_lite.training.stage import stage_config

ROWS = [
    {"model": SHIPPED, "ocr": 0.98, "math": 0.97, "spatial": 0.96},
    {"model": "VLM stage", "ocr": 0.99, "math": 0.98, "spatial": 0.97},
    {"model": "naive fine-tuning", "ocr": 0.41, "math": 0.2, "spatial": 0.5},
    {"task": "math_matching", "episodes": 100, "ocr_acc": 0.99, "math_acc": 0.98, "success_rate": 0.91},
    {"task": "math_matching", "episodes": 50, "follow_rate": 0.88},
    {"task": "toy_placement", "episodes": 100, "reasoning": "true", "success_rate": 0.93},
]


def test_scores_section_puts_the_models_side_by_side():
    text = scores_markdown(ROWS, "chatvla2")
    assert "| shipped (recipe chatvla2) | 0.98 | 0.97 | 0.96 |" in text
    assert "| VLM stage | 0.99 | 0.98 | 0.97 |" in text and "| naive fine-tuning | 0.41 | 0.20 | 0.50 |" in text
    assert "| math_matching | 100 | math_acc 0.98, ocr_acc 0.99, success_rate 0.91 |" in text
    assert "| math_matching (counterfactual) | 50 | follow_rate 0.88 |" in text
    assert "| toy_placement (true reasoning: the arm alone) | 100 | success_rate 0.93 |" in text
    assert "probe --suite all` (VQA accuracy):" in text  # no question count in the rows: none claimed


def test_the_retention_table_says_how_many_questions_and_how_sure():
    rows = [dict(r, questions_per_suite=400) for r in ROWS[:3]]
    assert (
        "probe --suite all --questions 400` (VQA accuracy on 400 questions per suite; the standard error of each "
        "number is at most 2.5 points)" in scores_markdown(rows, "chatvla2")
    )


def test_the_card_scores_the_shipped_model_and_each_it_is_compared_with():
    jobs = score_jobs(load_recipe("chatvla2"))
    assert jobs["probe_shipped"][:2] == ("r01/action", "probe") and jobs["probe_VLM_stage"][0] == "r01/vlm"
    assert jobs["probe_naive_fine-tuning"][0] == "r01/naive"
    assert jobs["counterfactual_math_matching"][2] == {"task": "math_matching", "counterfactual": True}
    assert {k for k in jobs if k.startswith(("eval_", "true_reasoning_"))} == {
        "eval_math_matching",
        "eval_toy_placement",
        "true_reasoning_math_matching",
        "true_reasoning_toy_placement",
    }


def _trained(out, nano_checkpoint):
    """The chatvla2 recipe's runs as if trained: the read run's curve and the card model's folder."""
    for name, kind in (("read", "read"), ("action", "action")):
        folder = out / "r01" / name
        folder.mkdir(parents=True)
        (folder / "stage.json").write_text(json.dumps(stage_config(kind).to_dict()))
        (folder / "metrics.jsonl").write_text(json.dumps({"step": 8000, "loss": 0.01, "seconds": 9000.0}) + "\n")
    shutil.copytree(nano_checkpoint, out / "r01" / "action" / "model")


def test_ship_copies_the_model_with_its_lineage_and_card(nano_checkpoint, tmp_path):
    from chatvla2_lite.model.policy_chatvla2 import ChatVLA2

    out, to = tmp_path / "chatvla2", tmp_path / "chatvla2-nano"
    _trained(out, nano_checkpoint)
    result = ship(load_recipe("chatvla2"), out, to, ROWS, commit="abc1234")
    assert result["scores"] == 6 and result["runs"] == ["r01/read", "r01/action"]
    assert (to / "model.safetensors").is_file() and (to / "tokenizer.json").is_file()
    card = (to / "README.md").read_text()
    assert card.startswith("---\n") and "## Scores" in card and "| shipped (recipe chatvla2) | 0.98 |" in card
    assert "## Training" in card and "| r01/read | read | a fresh nano | 8000 | 32 |" in card
    assert "Reproduce: `make nano RECIPE=chatvla2` (recipe `chatvla2` at commit `abc1234`)" in card
    assert "$" not in card.replace("$ ", "") and str(tmp_path) not in card
    lineage = json.loads((to / "training" / "lineage.json").read_text())
    assert lineage["recipe"] == "chatvla2" and lineage["scores"] == ROWS
    assert (to / "training" / "r01" / "read.jsonl").is_file()
    ChatVLA2.from_pretrained(to)  # the shipped folder loads like a Hub repository


def test_ship_refuses_a_checkpoint_over_the_cap(nano_checkpoint, tmp_path):
    _trained(tmp_path / "out", nano_checkpoint)
    with pytest.raises(ValueError, match="over the 1 MB"):
        ship(load_recipe("chatvla2"), tmp_path / "out", tmp_path / "to", ROWS, max_mb=1)
