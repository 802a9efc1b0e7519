"""Ship a trained model as the project's nano checkpoint: copy it, write its card with the scores, check its size.

    python -m chatvla2_lite.training.ship --model outputs/nano/action/model --scores outputs/nano/scores.jsonl \
        --runs outputs/nano

`scores.jsonl` is what `make nano` writes: one probe line per model (vlm, action, naive) and the eval lines.
`--runs` is the folder of the stages: their settings and wall times go into the card, their curves beside it.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

from chatvla2_lite.hub import NANO_CHECKPOINT

MAX_CHECKPOINT_MB = 30
REPRODUCE = "make nano"  # its last step runs this module
PROBE_NAMES = {"vlm": "VLM stage", "action": "shipped (chatvla2 recipe)", "naive": "naive fine-tuning"}


def scores_markdown(rows: list[dict], commands: tuple[str, ...] = (REPRODUCE,)) -> str:
    """The card's scores section: knowledge retention side by side, then the closed-loop scores, then the commands
    that made the model, in order (more than one where a round continued an earlier one)."""
    probes = [r for r in rows if "model" in r]
    aims = [r for r in rows if "aim_slope" in r]
    evals = [r for r in rows if "model" not in r and "aim_slope" not in r]
    lines = [
        "## Scores",
        "",
        "Heldout split of the simulator (fonts, problems, toys, colours and wordings never trained on).",
        "",
    ]
    if probes:
        lines += [_retention_heading(probes), "", "| model | ocr | math | spatial |", "|---|---|---|---|"]
        for r in probes:
            lines.append(
                f"| {PROBE_NAMES.get(r['model'], r['model'])} | {r['ocr']:.2f} | {r['math']:.2f} | {r['spatial']:.2f} |"
            )
        lines.append("")
    if evals:
        lines += ["Closed loop, `chatvla2-lite eval`:", "", "| task | episodes | scores |", "|---|---|---|"]
        for r in evals:
            scores = ", ".join(f"{k} {v:.2f}" for k, v in sorted(r.items()) if k.endswith(("_acc", "_rate")))
            label = (
                r["task"]
                + (" (counterfactual)" if "follow_rate" in r else "")
                + (" (true reasoning: the arm alone)" if r.get("reasoning") == "true" else "")
            )
            lines.append(f"| {label} | {r['episodes']} | {scores} |")
        lines.append("")
    if aims:
        lines += [
            _aim_heading(aims[0]),
            "",
            "| task | episodes | steered x / y | left x / y (cm) |",
            "|---|---|---|---|",
        ]
        for r in aims:
            lines.append(
                f"| {r['task']} | {r['episodes']} | {_pair(r['aim_slope'])} (expert {_pair(r['expert_aim_slope'])}) "
                f"| {_pair(r['left_m'], 100)} (expert {_pair(r['expert_left_m'], 100)}) |"
            )
        lines.append("")
    lines += ["Reproduce: " + ", then ".join(f"`{c}`" for c in commands), ""]
    return "\n".join(lines)


def _aim_heading(row: dict) -> str:
    """What `eval --aim` measured, in the words of its row."""
    return (
        f"Steering from a near miss, `chatvla2-lite eval --aim` (the arm hovering up to "
        f"{100 * row['max_offset_m']:g} cm beside the object, the true reasoning; the share of the offset the chunk's "
        f"first {row['aim_steps']} actions steer away, per table axis, and the rms offset they leave; a scripted "
        f"expert restarted there beside it):"
    )


def _pair(values: list[float], scale: float = 1.0) -> str:
    return " / ".join(f"{scale * v:.2f}" for v in values)


def _retention_heading(probes: list[dict]) -> str:
    """What the retention table measured: the probe command and, when known, how many questions and so how sure."""
    counts = {r.get("questions_per_suite") for r in probes}
    if len(counts) != 1 or None in counts:
        return "Knowledge retention, `chatvla2-lite probe --suite all` (VQA accuracy):"
    n = counts.pop()
    return (
        f"Knowledge retention, `chatvla2-lite probe --suite all --questions {n}` (VQA accuracy on {n} questions per "
        f"suite; the standard error of each number is at most {50 / n**0.5:.1f} points):"
    )


def earlier_round(previous: str | Path) -> tuple[list[str], dict[str, bytes]]:
    """What a warm start continues: the commands that made `previous` (from its card) and its training curves."""
    card = Path(previous) / "README.md"
    found = re.search(r"^Reproduce: (.*)$", card.read_text(), re.MULTILINE) if card.is_file() else None
    if found is None:
        raise ValueError(f"{previous} has no card with a 'Reproduce:' line; a warm start must say what it continues")
    curves = {str(p.relative_to(previous)): p.read_bytes() for p in Path(previous).glob("training/**/*.jsonl")}
    return re.findall(r"`([^`]+)`", found.group(1)), curves


def ship(
    model_dir: str | Path,
    scores_file: str | Path,
    out: str | Path = NANO_CHECKPOINT,
    max_mb: float = MAX_CHECKPOINT_MB,
    runs: str | Path | None = None,
    command: str | list[str] = REPRODUCE,
    previous: str | Path | None = None,
) -> dict:
    """Copy the model folder to `out` with a card holding the scores, `command` (what made them: one command line,
    or a list run one after the other) and, from `runs`,
    how each stage trained; refuses a checkpoint over `max_mb`. `previous`: the checkpoint the run was warm-started
    from (it may be `out` itself); its reproduce line comes first in the card and its curves go to
    training/previous/, so the card still tells the whole way from scratch."""
    from chatvla2_lite.model.policy_chatvla2 import ChatVLA2
    from chatvla2_lite.model_card import render_model_card
    from chatvla2_lite.training.training_record import copy_curves, training_markdown

    model_dir, out = Path(model_dir), Path(out)
    size_mb = sum(p.stat().st_size for p in model_dir.glob("*") if p.is_file()) / 2**20
    if size_mb > max_mb:
        raise ValueError(f"{model_dir} holds {size_mb:.1f} MB, over the {max_mb} MB the repo takes for a checkpoint")
    rows = [json.loads(line) for line in Path(scores_file).read_text().splitlines() if line.strip()]
    earlier_commands, earlier_curves = earlier_round(previous) if previous else ([], {})
    policy = ChatVLA2.from_pretrained(model_dir)
    commands = [command] if isinstance(command, str) else list(command)
    sections = scores_markdown(rows, (*earlier_commands, *commands)) + ("\n" + training_markdown(runs) if runs else "")
    if previous:
        n = len(earlier_commands)
        sections += (
            f"\nThis round continued earlier ones (the first {n} command{'s' if n > 1 else ''} above): their "
            "curves are in `training/previous/`, older rounds nested deeper, their cards in this repository's "
            "history.\n"
        )
    card = render_model_card(policy, name="chatvla2-nano", repo_hint=str(out), scores=sections)
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(model_dir, out, ignore=shutil.ignore_patterns("*.bin", "*.pt", "*.pkl"))
    (out / "README.md").write_text(card)
    curves = copy_curves(runs, out) if runs else []
    for name, data in earlier_curves.items():  # training/x.jsonl -> training/previous/x.jsonl, nesting older rounds
        path = out / "training" / "previous" / Path(name).relative_to("training")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return {"out": str(out), "size_mb": round(size_mb, 2), "scores": len(rows), "curves": curves}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="the model folder to ship (the action stage's model/)")
    parser.add_argument("--scores", required=True, help="scores.jsonl from make nano")
    parser.add_argument("--out", default=str(NANO_CHECKPOINT), help="where the checkpoint goes")
    parser.add_argument("--runs", default=None, help="the folder holding the stages (read/, vlm/, ...) of make nano")
    parser.add_argument(
        "--command",
        action="append",
        default=None,
        help="the command line that made the model, for the card (repeat for several, in order)",
    )
    parser.add_argument("--previous", default=None, help="the checkpoint the run was warm-started from (NANO_INIT)")
    args = parser.parse_args(argv)
    print(
        json.dumps(
            ship(
                args.model,
                args.scores,
                args.out,
                runs=args.runs,
                command=args.command or REPRODUCE,
                previous=args.previous,
            )
        )
    )


if __name__ == "__main__":
    main()
