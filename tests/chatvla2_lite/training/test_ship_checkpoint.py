"""Shipping a trained model: the checkpoint folder, its card with the scores, the size cap."""

import json

import pytest

from chatvla2_lite.training.ship import scores_markdown, ship

ROWS = [
    {"model": "vlm", "ocr": 0.99, "math": 0.98, "spatial": 0.97},
    {"model": "action", "ocr": 0.98, "math": 0.97, "spatial": 0.96},
    {"model": "naive", "ocr": 0.41, "math": 0.2, "spatial": 0.5},
    {"task": "math_matching", "episodes": 100, "ocr_acc": 0.99, "math_acc": 0.98, "success_rate": 0.91},
    {"task": "math_matching", "episodes": 50, "follow_rate": 0.88},
    {"task": "toy_placement", "episodes": 100, "reasoning": "true", "success_rate": 0.93},
    {
        "task": "toy_placement",
        "episodes": 100,
        "aim_slope": [0.276, 0.333],
        "aim_steps": 8,
        "max_offset_m": 0.03,
        "expert_aim_slope": [0.968, 0.968],
        "left_m": [0.0143, 0.0132],
        "expert_left_m": [0.001, 0.001],
    },
]


def test_scores_section_puts_the_three_models_side_by_side():
    text = scores_markdown(ROWS)
    assert "| VLM stage | 0.99 | 0.98 | 0.97 |" in text and "| naive fine-tuning | 0.41 | 0.20 | 0.50 |" in text
    assert "| math_matching | 100 | math_acc 0.98, ocr_acc 0.99, success_rate 0.91 |" in text
    assert "| math_matching (counterfactual) | 50 | follow_rate 0.88 |" in text
    assert "| toy_placement (true reasoning: the arm alone) | 100 | success_rate 0.93 |" in text
    assert "| toy_placement | 100 | 0.28 / 0.33 (expert 0.97 / 0.97) | 1.43 / 1.32 (expert 0.10 / 0.10) |" in text
    assert "hovering up to 3 cm beside the object" in text and "first 8 actions" in text
    assert "Reproduce: `make nano" in text
    assert "probe --suite all` (VQA accuracy):" in text  # no question count in the rows: none claimed


def test_the_retention_table_says_how_many_questions_and_how_sure():
    rows = [dict(r, questions_per_suite=400) for r in ROWS[:3]]
    assert (
        "probe --suite all --questions 400` (VQA accuracy on 400 questions per suite; the standard error of each "
        "number is at most 2.5 points)" in scores_markdown(rows)
    )


def test_ship_copies_the_model_and_writes_the_card(nano_checkpoint, tmp_path):
    scores = tmp_path / "scores.jsonl"
    scores.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    out = tmp_path / "chatvla2-nano"
    result = ship(nano_checkpoint, scores, out, command="make nano NANO_DEMOS=3")
    assert result["scores"] == 7 and (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file()
    card = (out / "README.md").read_text()
    assert card.startswith("---\n") and "## Scores" in card and "| shipped (chatvla2 recipe) | 0.98 |" in card
    assert "Reproduce: `make nano NANO_DEMOS=3`" in card  # the budget that made it, not the defaults
    assert "$" not in card.replace("$ ", "")
    from chatvla2_lite.model.policy_chatvla2 import ChatVLA2

    ChatVLA2.from_pretrained(out)  # the shipped folder loads like a Hub repository


def test_ship_puts_the_training_record_in_the_card(nano_checkpoint, tmp_path):
    from chatvla2_lite.training.recipe import recipe_stage

    scores = tmp_path / "scores.jsonl"
    scores.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    stage = tmp_path / "runs" / "read"
    stage.mkdir(parents=True)
    (stage / "stage.json").write_text(json.dumps(recipe_stage("chatvla2", "read").to_dict()))
    (stage / "metrics.jsonl").write_text(json.dumps({"step": 8000, "loss": 0.01, "seconds": 9000.0}) + "\n")
    result = ship(nano_checkpoint, scores, tmp_path / "out", runs=tmp_path / "runs")
    card = (tmp_path / "out" / "README.md").read_text()
    assert result["curves"] == ["read"] and "## Training" in card and "| read | 8000 | 32 |" in card
    assert (tmp_path / "out" / "training" / "read.jsonl").is_file()


def test_ship_refuses_a_checkpoint_over_the_cap(nano_checkpoint, tmp_path):
    scores = tmp_path / "scores.jsonl"
    scores.write_text(json.dumps(ROWS[0]) + "\n")
    with pytest.raises(ValueError, match="over the 1 MB"):
        ship(nano_checkpoint, scores, tmp_path / "out", max_mb=1)


def test_a_warm_started_round_keeps_the_earlier_command_and_curves(nano_checkpoint, tmp_path):
    scores = tmp_path / "scores.jsonl"
    scores.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    out = tmp_path / "chatvla2-nano"
    first_runs = tmp_path / "round1"
    (first_runs / "read").mkdir(parents=True)
    (first_runs / "read" / "metrics.jsonl").write_text(json.dumps({"step": 10, "loss": 1.0}) + "\n")
    ship(nano_checkpoint, scores, out, runs=first_runs, command="make nano NANO_READ_STEPS=10")
    # the second round starts from the shipped folder and ships over it
    ship(nano_checkpoint, scores, out, command="make nano NANO_INIT=x", previous=out)
    card = (out / "README.md").read_text()
    assert "Reproduce: `make nano NANO_READ_STEPS=10`, then `make nano NANO_INIT=x`" in card
    assert (out / "training" / "previous" / "read.jsonl").read_text().startswith('{"step": 10')
    assert "the first 1 command above" in card
    # a third round of two commands: the first round's curves move one level deeper
    ship(nano_checkpoint, scores, out, command=["rm -r x/cotrain", "make nano NANO_INIT=y"], previous=out)
    card = (out / "README.md").read_text()
    assert card.count("`, then `") == 3 and "`rm -r x/cotrain`, then `make nano NANO_INIT=y`" in card
    assert "the first 2 commands above" in card
    assert (out / "training" / "previous" / "previous" / "read.jsonl").read_text().startswith('{"step": 10')


def test_a_warm_start_from_a_folder_without_a_card_is_refused(nano_checkpoint, tmp_path):
    scores = tmp_path / "scores.jsonl"
    scores.write_text(json.dumps(ROWS[0]) + "\n")
    with pytest.raises(ValueError, match="Reproduce"):
        ship(nano_checkpoint, scores, tmp_path / "out", previous=tmp_path)
