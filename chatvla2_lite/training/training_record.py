"""What a run of `make nano` leaves for the card: each stage's settings, steps and wall time, and its curves.

A stage folder holds stage.json (its StageConfig) and metrics.jsonl (loss lines and probe lines). A
resumed stage starts its clock again, so its wall time is the sum of the last `seconds` of each run.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from chatvla2_lite.training.recipe import STAGES

RUN_STAGES = STAGES + ("naive",)  # the folders `make nano` writes, in the order they run


def run_folders(run_dir: str | Path) -> list[str]:
    """The stage folders of a run in the order they ran: each stage, then its continuations `<stage>_2`, `<stage>_3`
    ... (a second call of the same stage on the first one's model)."""
    names = []
    for stage in RUN_STAGES:
        names += [stage] if (Path(run_dir) / stage).is_dir() else []
        k = 2
        while (Path(run_dir) / f"{stage}_{k}").is_dir():
            names.append(f"{stage}_{k}")
            k += 1
    return names


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
    """The training time of a stage's loss lines, summed over its resumed runs (each restarts its clock)."""
    total, last = 0.0, 0.0
    for row in rows:
        if "seconds" not in row:
            continue
        if row["seconds"] < last:  # a new run started here
            total += last
        last = row["seconds"]
    return total + last


def stage_summary(stage_dir: str | Path) -> dict | None:
    """{stage, steps, batch_size, lr, trainable, wall_s, last probes} of a stage folder, None if it never ran."""
    stage_dir = Path(stage_dir)
    if not (stage_dir / "stage.json").is_file() or not (stage_dir / "metrics.jsonl").is_file():
        return None
    config = json.loads((stage_dir / "stage.json").read_text())
    rows = read_metrics(stage_dir / "metrics.jsonl")
    losses = [r for r in rows if "loss" in r]
    probes = [r for r in rows if any(k.startswith("probe_") for k in r)]
    return {
        "stage": stage_dir.name,
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


def training_markdown(run_dir: str | Path) -> str:
    """The card's training section: one row per stage that ran, and the total wall time."""
    summaries = [s for s in (stage_summary(Path(run_dir) / name) for name in run_folders(run_dir)) if s]
    if not summaries:
        return ""
    lines = [
        "## Training",
        "",
        "Each stage is one `chatvla2-lite train --stage ...` call on this project's CPU "
        "(2 cores); curves in `training/<stage>.jsonl`.",
        "",
        "| stage | steps | batch | lr | trains | data | wall time |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        mix = ", ".join(f"{k} {v:g}" for k, v in s["mix"].items())
        lines.append(
            f"| {s['stage']} | {s['steps']} | {s['batch_size']} | {s['lr']:g} | {s['trainable']} | {mix} | "
            f"{s['wall_s'] / 3600:.2f} h |"
        )
    total = sum(s["wall_s"] for s in summaries)
    lines += [
        "",
        f"Training time, the stages' wall times added up: {total / 3600:.2f} h (recording and evaluation not "
        "included; `make -j2 nano` runs some stages side by side, so the run itself took less).",
        "",
    ]
    return "\n".join(lines)


def copy_curves(run_dir: str | Path, out: str | Path) -> list[str]:
    """Copy each stage's metrics.jsonl to out/training/<stage>.jsonl; returns the stages copied."""
    copied = []
    for name in run_folders(run_dir):
        src = Path(run_dir) / name / "metrics.jsonl"
        if src.is_file():
            (Path(out) / "training").mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, Path(out) / "training" / f"{name}.jsonl")
            copied.append(name)
    return copied
