"""A checkpoint's lineage: every run that made it, with its settings, wall time and curve, as training/lineage.json.

A run folder holds stage.json (its StageConfig) and metrics.jsonl (loss lines and probe lines). A resumed run starts
its clock again, so its wall time is the sum of the last `seconds` of each of its sessions. The lineage is flat:
one entry per round, one per run, the curves at training/<round>/<run>.jsonl beside it; the card is rendered from it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from chatvla2_lite.training.recipe import Recipe

LINEAGE = "lineage.json"


def read_metrics(path: str | Path) -> list[dict]:
    """The lines of a metrics.jsonl; a line cut short by a killed run is skipped."""
    rows = []
    for line in Path(path).read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def wall_seconds(rows: list[dict]) -> float:
    """The training time of a run's loss lines, summed over its resumed sessions (each restarts its clock)."""
    total, last = 0.0, 0.0
    for row in rows:
        if "seconds" not in row:
            continue
        if row["seconds"] < last:  # a new session started here
            total += last
        last = row["seconds"]
    return total + last


def run_summary(run_dir: str | Path) -> dict | None:
    """{steps, batch_size, lr, trainable, mix, wall_s, last_probe} of a run folder; None if it never trained."""
    run_dir = Path(run_dir)
    if not (run_dir / "stage.json").is_file() or not (run_dir / "metrics.jsonl").is_file():
        return None
    config = json.loads((run_dir / "stage.json").read_text())
    rows = read_metrics(run_dir / "metrics.jsonl")
    losses = [r for r in rows if "loss" in r]
    probes = [r for r in rows if any(k.startswith("probe_") for k in r)]
    return {
        "steps": losses[-1]["step"] if losses else 0,
        "batch_size": config["batch_size"],
        "lr": config["lr"],
        "trainable": config["trainable"],
        "mix": config["mix"],
        "wall_s": round(wall_seconds(losses), 1),
        "last_probe": {
            k[len("probe_") :]: v
            for k, v in (probes[-1].items() if probes else ())
            if k.startswith("probe_") and not k.endswith(("_example", "_s"))
        },
    }


def build_lineage(recipe: Recipe, out: str | Path, commit: str, scores: list[dict]) -> dict:
    """The lineage of `recipe`'s card model from the run folders under `out`: each run's settings and figures (runs
    that never trained are left out), the scores, and the commit the recipe was at."""
    rounds = []
    for r in recipe.rounds:
        runs = []
        for run in r.runs:
            summary = run_summary(Path(out) / run.name)
            if summary is None:
                continue
            runs.append(
                {
                    "name": run.name,
                    "stage": run.kind,
                    "init": run.init,
                    "demos": run.demos,
                    **summary,
                    "curve": f"{run.name}.jsonl",
                }
            )
        if runs:
            rounds.append({"name": r.name, "note": r.note, "runs": runs})
    return {
        "recipe": recipe.name,
        "description": " ".join(recipe.description.split()),
        "commit": commit,
        "model": recipe.card.model,
        "world": recipe.world.to_dict(),
        "demos": recipe.demos,
        "rounds": rounds,
        "training_wall_s": round(sum(run["wall_s"] for r in rounds for run in r["runs"]), 1),
        "scores": scores,
    }


def write_lineage(lineage: dict, out: str | Path, dest: str | Path) -> Path:
    """dest/training/lineage.json and each run's curve at dest/training/<round>/<run>.jsonl."""
    training = Path(dest) / "training"
    for r in lineage["rounds"]:
        for run in r["runs"]:
            curve = training / run["curve"]
            curve.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(out) / run["name"] / "metrics.jsonl", curve)
    path = training / LINEAGE
    path.write_text(json.dumps(lineage, indent=2) + "\n")
    return path


def training_markdown(lineage: dict) -> str:
    """The card's training section: one row per run, its round's note above, the total wall time, the command."""
    lines = [
        "## Training",
        "",
        f"Recipe `{lineage['recipe']}` (`chatvla2_lite/training/recipes/{lineage['recipe']}.toml`) at commit "
        f"`{lineage['commit']}`, each run one `chatvla2-lite train` stage on this project's 2-core CPU; curves in "
        f"`training/<round>/<run>.jsonl`, everything below in `training/{LINEAGE}`.",
        "",
        *([lineage["description"], ""] if lineage.get("description") else []),
        "| run | stage | starts from | steps | batch | lr | trains | data | wall time |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    notes = []
    for r in lineage["rounds"]:
        notes.append(f"- **{r['name']}**: {r['note']}")
        for run in r["runs"]:
            mix = ", ".join(f"{k} {v:g}" for k, v in run["mix"].items() if v > 0)  # a source at 0 draws nothing
            lines.append(
                f"| {run['name']} | {run['stage']} | {run['init'] or 'a fresh nano'} | {run['steps']} | "
                f"{run['batch_size']} | {run['lr']:g} | {run['trainable']} | {mix} | {run['wall_s'] / 3600:.2f} h |"
            )
    hours = lineage["training_wall_s"] / 3600
    lines += [
        "",
        *notes,
        "",
        f"Reproduce: `make nano RECIPE={lineage['recipe']}` (recipe `{lineage['recipe']}` at commit "
        f"`{lineage['commit']}`). Its runs' clocks add up to {hours:.1f} h on this 2-core CPU (data made inside a "
        "run counts; recording the demos and the evaluation do not).",
        "",
    ]
    return "\n".join(lines)
