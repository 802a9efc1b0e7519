"""`chatvla2-lite export --recipe NAME --to DIR`: a recipe's card model scored and shipped as a checkpoint.

The scores the card holds are measured here, each written to <out>/scores/<name>.json as it finishes so a stopped
export resumes: the retention probes of the card model and of each model it is compared with, the closed-loop
evals of both tasks, the same with the true reasoning (the arm alone), and the counterfactual follow rate. Then the
model folder is copied to DIR with training/lineage.json, the runs' curves and the card rendered from them; a
checkpoint over MAX_CHECKPOINT_MB is refused.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tqdm.auto import tqdm

from chatvla2_lite.evaluation.closed_loop import evaluate
from chatvla2_lite.evaluation.probe import probe
from chatvla2_lite.model.policy_chatvla2 import ChatVLA2
from chatvla2_lite.model_card import render_model_card
from chatvla2_lite.training.lineage import build_lineage, training_markdown, write_lineage
from chatvla2_lite.training.recipe import Recipe
from sim.conventions import TASK_NAMES

MAX_CHECKPOINT_MB = 30
SHIPPED = "shipped"  # the card model's row in the retention table


def score_jobs(recipe: Recipe) -> dict[str, tuple[str, str, dict]]:
    """{score name: (run, "probe" or "eval", its settings)} for everything the card holds."""
    card = recipe.card
    jobs = {f"probe_{SHIPPED}": (card.model, "probe", {"label": SHIPPED})}
    for label, run in card.retention.items():
        jobs[f"probe_{label.replace(' ', '_')}"] = (run, "probe", {"label": label})
    for task in TASK_NAMES:
        jobs[f"eval_{task}"] = (card.model, "eval", {"task": task})
        jobs[f"true_reasoning_{task}"] = (card.model, "eval", {"task": task, "true_reasoning": True})
    jobs["counterfactual_math_matching"] = (card.model, "eval", {"task": "math_matching", "counterfactual": True})
    return jobs


def score(recipe: Recipe, out: str | Path, progress: bool = True) -> list[dict]:
    """Every score the card holds, measuring those not in <out>/scores yet."""
    folder = Path(out) / "scores"
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, (run, kind, settings) in tqdm(score_jobs(recipe).items(), desc="scores", disable=not progress):
        path = folder / f"{name}.json"
        if not path.is_file():
            policy = ChatVLA2.from_pretrained(Path(out) / run / "model")
            if kind == "probe":
                row = {"model": settings["label"], **probe(policy, "all", recipe.card.probe_questions, progress=False)}
            else:
                episodes = recipe.card.eval_episodes // (2 if settings.get("counterfactual") else 1)
                row = evaluate(policy, episodes=episodes, progress=False, **settings)
            path.write_text(json.dumps(row, sort_keys=True) + "\n")
        rows.append(json.loads(path.read_text()))
    return rows


def scores_markdown(rows: list[dict], recipe_name: str) -> str:
    """The card's scores section: knowledge retention side by side, then the closed-loop scores."""
    probes = [r for r in rows if "model" in r]
    evals = [r for r in rows if "model" not in r]
    lines = [
        "## Scores",
        "",
        "Heldout split of the simulator (fonts, problems, toys, colours and wordings never trained on).",
        "",
    ]
    if probes:
        lines += [_retention_heading(probes), "", "| model | ocr | math | spatial |", "|---|---|---|---|"]
        for r in probes:
            label = f"shipped (recipe {recipe_name})" if r["model"] == SHIPPED else r["model"]
            lines.append(f"| {label} | {r['ocr']:.2f} | {r['math']:.2f} | {r['spatial']:.2f} |")
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
    return "\n".join(lines)


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


def git_commit() -> str:
    """The short commit of the working tree the recipe is read from, marked when the tree has changes."""
    root = Path(__file__).resolve().parents[2]
    try:
        git = ["git", "-C", str(root)]
        sha = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
        dirty = subprocess.run([*git, "status", "--porcelain", "chatvla2_lite"], capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{sha.stdout.strip()}+changes" if dirty.stdout.strip() else sha.stdout.strip()


def render_card(policy, lineage: dict, name: str = "chatvla2-nano") -> str:
    """The checkpoint's README.md: the model's facts, the scores and the training section, from its lineage."""
    sections = scores_markdown(lineage["scores"], lineage["recipe"]) + "\n" + training_markdown(lineage)
    return render_model_card(policy, name=name, scores=sections)


def ship(
    recipe: Recipe,
    out: str | Path,
    to: str | Path,
    rows: list[dict],
    commit: str | None = None,
    max_mb: float = MAX_CHECKPOINT_MB,
) -> dict:
    """Copy the card model of `recipe` (trained under `out`) to `to` with its lineage, curves and card."""
    model_dir, to = Path(out) / recipe.card.model / "model", Path(to)
    size_mb = sum(p.stat().st_size for p in model_dir.glob("*") if p.is_file()) / 2**20
    if size_mb > max_mb:
        raise ValueError(f"{model_dir} holds {size_mb:.1f} MB, over the {max_mb} MB the repo takes for a checkpoint")
    lineage = build_lineage(recipe, out, commit or git_commit(), rows)
    policy = ChatVLA2.from_pretrained(model_dir)
    if to.exists():
        shutil.rmtree(to)
    shutil.copytree(model_dir, to, ignore=shutil.ignore_patterns("*.bin", "*.pt", "*.pkl"))
    write_lineage(lineage, out, to)
    (to / "README.md").write_text(render_card(policy, lineage))
    runs = [run["name"] for r in lineage["rounds"] for run in r["runs"]]
    return {"to": str(to), "size_mb": round(size_mb, 2), "scores": len(rows), "runs": runs}
