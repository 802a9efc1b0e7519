"""Training recipes as named data: every run of every stage, its data, its world and its model options, in one file.

A recipe is `training/recipes/<name>.toml`, the way openpi names its training configs and nanoGPT keeps a config file
per experiment:

    description = "..."
    world = { camera_size = 224, card_layout = "scattered" }   # the sim world every stage learns in
    start = "nano"                                             # optional: what runs with no init start from
    [demos]                                                    # recorded expert demos of both tasks, by name
    demos200 = 200
    [card]                                                     # what `export --to` scores and ships
    model = "r01/action"
    retention = { "VLM stage" = "r01/vlm", "naive fine-tuning" = "r01/naive" }
    [[rounds]]                                                 # runs in the order they train
    name = "r01"
    note = "..."
    runs = [
      { name = "read", stage = "read", steps = 8000 },
      { name = "vlm", stage = "vlm", init = "r01/read", steps = 3000 },
      { name = "action", stage = "action", init = "r01/vlm", demos = "demos200", near_misses = 2400,
        mix = { robot = 0.3, near_misses = 0.5 }, objective = "regression", pixel_cameras = ["wrist"] },
    ]

A run's keys are a stage kind (training/stage.py), the run it starts from (`init`; none: the recipe's `start`, which
is "nano" for the shipped checkpoint, a folder or a Hub id, and without one a fresh nano), the demos it reads, any
StageConfig field (`mix` sets some of the kind's shares and keeps the others), and the model options RunConfig names.
`--set KEY=VALUE` changes any of it from the command line: `r01/vlm.steps=10` one run's field, `steps=10` every
run's, `world.camera_size=448`, `demos.demos200=3`, `card.eval_episodes=2`. A new knob is one field and the code that
reads it.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from chatvla2_lite.training.stage import StageConfig, stage_config
from sim.conventions import TASK_NAMES
from sim.errors import UnknownNameError
from sim.world import World

RECIPES_DIR = Path(__file__).resolve().parent / "recipes"
DEFAULT_OUT = Path("outputs")  # a recipe's runs go to outputs/<recipe> unless told otherwise


@dataclass
class RunConfig:
    """One `train` stage run: a stage kind's config, where it starts, what demos it reads, what it changes in the
    model before it trains."""

    name: str  # "<round>/<run>", its folder under the recipe's output folder
    stage: StageConfig
    init: str | None = None  # the run whose model it starts from; None: a fresh nano (random weights)
    demos: str | None = None  # the recipe's demo set it reads (a stage that draws robot samples needs one)
    # the action expert's objective, switched before a stage that trains it (None: keep the model's)
    objective: str | None = None
    # cameras whose raw pixels the action expert also reads through its own conv net (model/pixel_encoder.py)
    pixel_cameras: list[str] = field(default_factory=list)
    pixel_size: int = 64  # those images' side, a multiple of 16
    # more views of the cameras for the backbone (processing_chatvla2.EXTRA_VIEWS), kept by later stages
    add_views: list[str] = field(default_factory=list)
    # the views of a fresh model (processing_chatvla2.VIEW_SETS; None: nano); a run from an init keeps its init's
    view_set: str | None = None
    # the action expert gains the geometric channel (model/geometry.py) with the recipe world's calibration: it reads
    # the reasoning's points and predicts its chunk in tool space (a world whose reasoning points)
    geometry: bool = False

    @property
    def kind(self) -> str:
        return self.stage.name

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "stage": self.stage.to_dict()}


@dataclass
class Round:
    """Runs trained together and shipped (or not) as one round; `note` says why it was run."""

    name: str
    note: str
    runs: list[RunConfig]


@dataclass
class CardSpec:
    """What `chatvla2-lite export --to` scores and ships."""

    model: str  # the run whose model is shipped
    retention: dict[str, str] = field(default_factory=dict)  # label -> run, probed beside the shipped model
    eval_episodes: int = 100
    probe_questions: int = 500  # per suite: at 500, one question is 0.2 points


@dataclass
class Recipe:
    """A named recipe: the world, the demo sets, the rounds of runs, and what its checkpoint card holds."""

    name: str
    description: str
    world: World
    demos: dict[str, int]  # demo set name -> episodes of each task
    rounds: list[Round]
    card: CardSpec
    # the model a run with no init starts from: "nano" (the shipped checkpoint), a folder or a Hub id; None: a fresh
    # nano, random weights. A lesson that fine-tunes the shipped nano, a recipe that goes on from a published model
    start: str | None = None

    @property
    def runs(self) -> list[RunConfig]:
        return [run for r in self.rounds for run in r.runs]

    def run(self, name: str) -> RunConfig:
        for run in self.runs:
            if run.name == name:
                return run
        raise UnknownNameError(f"run of recipe {self.name!r}", name, [r.name for r in self.runs])

    def to_dict(self) -> dict:
        """Every setting of every run, resolved: what `train --show` prints."""
        return {
            "name": self.name,
            "description": self.description,
            "world": self.world.to_dict(),
            "demos": self.demos,
            "rounds": [
                {"name": r.name, "note": r.note, "runs": [run.to_dict() for run in r.runs]} for r in self.rounds
            ],
            "card": dataclasses.asdict(self.card),
            "start": self.start,
        }


def recipe_names() -> list[str]:
    return sorted(p.stem for p in RECIPES_DIR.glob("*.toml"))


def load_recipe(name: str, sets: list[str] | None = None) -> Recipe:
    """The recipe called `name` (training/recipes/<name>.toml) with the `KEY=VALUE` settings of `sets` applied."""
    path = RECIPES_DIR / f"{name}.toml"
    if not path.is_file():
        raise UnknownNameError("recipe", name, recipe_names())
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    for item in sets or ():
        _apply(raw, item)
    return _build(name, raw)


def _value(text: str):
    """A --set value read as TOML (2, 0.5, true, ["wrist"], {robot = 0.3}), else as a plain string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _apply(raw: dict, item: str) -> None:
    key, sep, text = item.partition("=")
    if not sep or not key:
        raise ValueError(f"--set takes KEY=VALUE, such as steps=10 or r01/vlm.lr=1e-3, not {item!r}")
    value = _value(text)
    runs = {f"{r['name']}/{run['name']}": run for r in raw.get("rounds", []) for run in r.get("runs", [])}
    where, _, leaf = key.rpartition(".")
    if not where:  # every run
        for run in runs.values():
            run[leaf] = value
    elif where in runs:
        runs[where][leaf] = value
    elif where in ("world", "demos", "card"):
        raw.setdefault(where, {})[leaf] = value
    else:
        raise ValueError(
            f"--set {key}: no run or section {where!r}; runs are {sorted(runs)}, sections world, demos, card"
        )


_RUN_KEYS = {f.name for f in dataclasses.fields(RunConfig)} - {"name", "stage"}
_STAGE_KEYS = {f.name for f in dataclasses.fields(StageConfig)} - {"name"}


def _build(name: str, raw: dict) -> Recipe:
    unknown = sorted(set(raw) - {"description", "world", "demos", "card", "rounds", "start"})
    if unknown:
        raise ValueError(f"recipe {name!r}: unknown settings {unknown}")
    demos = {str(k): int(v) for k, v in raw.get("demos", {}).items()}
    rounds, names = [], []
    for r in raw.get("rounds", []):
        runs = []
        for spec in r.get("runs", []):
            run = _run(name, f"{r['name']}/{spec.get('name', '')}", spec, set(names), demos)
            names.append(run.name)
            runs.append(run)
        rounds.append(Round(r["name"], r.get("note", ""), runs))
    if not names:
        raise ValueError(f"recipe {name!r} has no runs")
    if len(set(names)) < len(names):
        raise ValueError(f"recipe {name!r} names a run twice: {sorted(n for n in names if names.count(n) > 1)}")
    card = CardSpec(**{"model": names[-1], **raw.get("card", {})})
    missing = sorted({card.model, *card.retention.values()} - set(names))
    if missing:
        raise ValueError(f"recipe {name!r}: its card names runs {missing} it does not have")
    world = World.from_dict(raw.get("world"))
    for run in (run for r in rounds for run in r.runs if run.geometry and not world.points):
        raise ValueError(f"run {run.name!r} acts on the reasoning's points: recipe {name!r} needs world.points = true")
    start = raw.get("start")
    if start is not None and not isinstance(start, str):
        raise ValueError(f"recipe {name!r}: start names a model (a folder or Hub id), not {start!r}")
    return Recipe(name, raw.get("description", ""), world, demos, rounds, card, start)


def _run(recipe: str, name: str, spec: dict, earlier: set[str], demos: dict[str, int]) -> RunConfig:
    """One run of the recipe, checked: its keys known, its init an earlier run, its demos a set the recipe has."""
    spec = dict(spec)
    spec.pop("name", None)
    kind = spec.pop("stage", None)
    unknown = sorted(set(spec) - _RUN_KEYS - _STAGE_KEYS)
    if unknown:
        raise ValueError(f"run {name!r} of recipe {recipe!r}: unknown settings {unknown}")
    if kind is None:
        raise ValueError(f'run {name!r} of recipe {recipe!r} names no stage kind (stage = "read", ...)')
    try:
        stage = stage_config(kind, **{k: spec[k] for k in spec if k in _STAGE_KEYS})
    except ValueError as e:  # a --set on every run can break one the command did not name: say which
        raise ValueError(f"run {name!r} of recipe {recipe!r}: {e}") from e
    run = RunConfig(name, stage, **{k: spec[k] for k in spec if k in _RUN_KEYS})
    if run.init is not None and run.init not in earlier:
        raise ValueError(f"run {name!r} starts from {run.init!r}, which is not an earlier run of the recipe")
    if run.demos is not None and run.demos not in demos:
        raise ValueError(f"run {name!r} reads demos {run.demos!r}; the recipe records {sorted(demos)}")
    if stage.mix.get("robot", 0) > 0 and run.demos is None:
        raise ValueError(f"run {name!r} trains on robot demos: give it demos = one of {sorted(demos)}")
    if run.view_set is not None and run.view_set not in _view_sets():
        raise ValueError(f"run {name!r}: view_set must be one of {_view_sets()}, got {run.view_set!r}")
    if run.init is not None and run.view_set is not None:
        raise ValueError(f"run {name!r} starts from {run.init!r} and keeps its views: view_set is for a fresh model")
    if run.objective is not None and run.objective not in _objectives():
        raise ValueError(f"run {name!r}: objective must be one of {_objectives()}, got {run.objective!r}")
    if (run.objective is not None or run.pixel_cameras) and stage.trainable == "backbone":
        raise ValueError(
            f"run {name!r} does not train the action expert; switch its objective or give it pixels in a run that does"
        )
    return run


def _view_sets() -> list[str]:
    from chatvla2_lite.model.processing_chatvla2 import VIEW_SETS  # loads torch: only when a run names one

    return sorted(VIEW_SETS)


def _objectives() -> tuple[str, ...]:
    from chatvla2_lite.model.configuration_chatvla2 import OBJECTIVES  # loads transformers: only when one is named

    return OBJECTIVES


def demo_dirs(out: Path, demos: str) -> list[Path]:
    """The dataset folders of a demo set, one per task, under a recipe's output folder."""
    return [Path(out) / "demos" / demos / task for task in TASK_NAMES]
