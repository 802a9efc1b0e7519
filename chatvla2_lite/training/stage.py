"""One training stage as data: its budget, optimiser settings, data mix and which parameters learn.

The stage kinds are ChatVLA-2's staged recipe at nano size, and the naive baseline:
- `read`: a reading warm-up before the VLM stage, board questions (and phone photos of boards) on the board view
  alone (a third of the image tokens), so the from-scratch vision tower gets past the plateau training-notes.md
  measured, at a fraction of the cost;
- `vlm`: the backbone on image-text questions made from the sim, the stand-in for its pretraining;
- `cotrain`: the whole model with the dynamic MoE on image-text questions and robot demos;
- `action`: the VLM frozen while the action expert and the reasoning-following module learn;
- `naive`: the baseline, the whole model fine-tuned on robot data alone, with no MoE (its experts stay at their zero
  start) and nothing frozen.
A recipe (training/recipe.py) names each run's kind and sets any field of its StageConfig.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from sim.errors import UnknownNameError

# Which parameters a stage trains; the rest are frozen.
TRAINABLE = ("backbone", "all", "action", "all_but_moe")
# Scene and board questions a stage renders once and reuses (a scene sample keeps about 0.3 MB of frames).
IMAGE_TEXT_CACHE = 16384
# What each kind sets beyond StageConfig's defaults.
STAGE_KINDS = {
    "read": dict(
        # photo_text: phone photos of a whiteboard through the playground's photo path (data/photo_boards.py)
        mix={"board_text": 1.0, "photo_text": 0.0},
        trainable="backbone",
        views=("board",),
        batch_size=32,
        steps=8000,
        cache=49152,
    ),
    "vlm": dict(mix={"image_text": 1.0}, trainable="backbone", cache=IMAGE_TEXT_CACHE),
    "cotrain": dict(
        mix={"image_text": 0.5, "robot": 0.5}, trainable="all", cache=IMAGE_TEXT_CACHE, reword=0.5, rename=0.25
    ),
    # the backbone is frozen, so each demo frame is read by it once (cache: frames) and a step costs only the action
    # expert's: far more steps, on bigger batches
    "action": dict(
        mix={"robot": 0.5, "rollouts": 0.5, "near_misses": 0.5},
        trainable="action",
        lr=1e-3,
        probe_every=0,
        reword=0.5,
        rename=0.25,
        batch_size=64,
        cache=1_000_000,
    ),
    "naive": dict(mix={"robot": 1.0}, trainable="all_but_moe", reword=0.5, rename=0.25),
}
STAGES = tuple(STAGE_KINDS)


@dataclass
class StageConfig:
    """One training stage: budget, optimiser settings, data mix and what learns."""

    name: str
    steps: int = 2000
    batch_size: int = 16
    lr: float = 5e-4  # training-notes.md: 2e-3 kept the nano VLM on its plateau, 5e-4 left it
    warmup_steps: int = 100
    # the cosine decays to this share of lr, not to 0: a short run keeps learning through a late break-out
    lr_floor: float = 0.0
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    mix: dict[str, float] = field(default_factory=lambda: {"image_text": 1.0})  # source -> share of samples
    # the image-text questions' kinds and their relative weights (data.image_text.KINDS); None: every kind alike
    kinds: dict[str, float] | None = None
    trainable: str = "backbone"
    views: tuple[str, ...] | None = None  # the processor views the backbone sees while training; None: all
    log_every: int = 10
    save_every: int = 500
    probe_every: int = 250  # heldout VQA by generation every so many steps (0: never): the loss hides reading
    probe_questions: int = 16  # per suite and probe: enough to see the break-out, cheap next to 250 steps
    # image-text (or board) samples rendered once up front by two processes and reused every epoch, so training
    # takes both cores (0: rendered on the fly by a worker on the second core)
    cache: int = 0
    # share of robot samples whose instruction is reworded (chatvla2_lite.data.paraphrase): the recorded demos hold
    # the train split's few wordings, and a model trained on those alone derails on any other
    reword: float = 0.0
    # share of toy demos whose toys get made-up names in instruction and reasoning (paraphrase.renamed): the model
    # learns to copy the instruction's name rather than write one of the train split's
    rename: float = 0.0
    # scenes of scripted-expert rollouts (data.expert_rollouts) the action stage reads besides the demos: many
    # scenes at one render per chunk, where recorded demos cost a render per step (0: none, the mix's share dropped)
    rollouts: int = 0
    # scenes where a decoy expert aims beside the object and a restarted one labels the way back at each look
    # (data.expert_near_misses): steering by what the cameras show, which the expert's own path never needs
    near_misses: int = 0
    # share of the near misses' math scenes whose decoy heads for another card (data.expert_near_misses): which card
    # to reach for, read on the way down from the wrist camera, where the front camera shows digits too small to read
    wrong_picks: float = 0.0
    # the wrong picks' decoy, stopped over the other card, hands over to the true expert, which takes the answer card
    # to its place: steering and grasping in one scene, where the wrong picks alone taught no grasp (docs/experiments)
    recover_picks: bool = False
    # share of the near-miss scenes whose decoy also hovers with its wrist turned off the grasp: squaring up to what the
    # wrist camera shows, where the expert's own looks are always squared up (experiments.act_failures)
    turn_misses: float = 0.0
    # share of the rollouts' math scenes where the expert takes another card than the answer, with a reasoning that
    # comes to that card (data.expert_rollouts): in the demos the named card is always the answer the board gives,
    # so an expert can take it from the board and never read the reasoning (the shipped nano follows
    # another card's reasoning in 0.10 of episodes)
    follow_picks: float = 0.0

    def __post_init__(self):
        if self.trainable not in TRAINABLE:
            raise ValueError(f"trainable must be one of {TRAINABLE}, got {self.trainable!r}")
        total = sum(self.mix.values())
        if total <= 0 or any(v < 0 for v in self.mix.values()):
            raise ValueError(f"the data mix needs non-negative shares that add up to more than 0, got {self.mix}")
        shares = (
            ("reword", "the demos"),
            ("rename", "the demos"),
            ("wrong_picks", "the near misses' math scenes"),
            ("turn_misses", "the near-miss scenes"),
            ("follow_picks", "the rollouts' math scenes"),
        )
        for share, of in shares:
            if not 0.0 <= getattr(self, share) <= 1.0:
                raise ValueError(f"{share} is a share of {of}, between 0 and 1, got {getattr(self, share)}")

    def to_dict(self) -> dict:
        return asdict(self)


def stage_config(stage: str, mix: dict[str, float] | None = None, **fields) -> StageConfig:
    """The StageConfig of kind `stage` with any field set; `mix` sets some of the kind's data mix's shares and keeps
    the others. Sources the stage draws none of (rollouts or near misses at 0 scenes) leave the mix."""
    if stage not in STAGE_KINDS:
        raise UnknownNameError("stage", stage, STAGES)
    base = {**STAGE_KINDS[stage], **fields}
    base["mix"] = dict(base["mix"])  # the kind's own stays as it is
    if mix:
        unknown = sorted(set(mix) - set(base["mix"]))
        if unknown:
            raise ValueError(f"stage {stage!r} draws no {unknown}; its sources are {sorted(base['mix'])}")
        base["mix"] = {**base["mix"], **mix}
    config = StageConfig(name=stage, **base)
    for source in ("rollouts", "near_misses"):
        if not getattr(config, source):
            config.mix.pop(source, None)
        elif config.trainable != "action" or source not in config.mix:
            raise ValueError(f"{source} are read once through a frozen backbone: only the action stage takes them")
    if (config.rollouts or config.near_misses) and not config.cache:  # their samples carry features, not images
        raise ValueError("rollouts and near misses are read through the frozen backbone: so must the demos be (cache)")
    if config.kinds and not config.mix.get("image_text"):
        raise ValueError(
            f"kinds weigh the image-text questions; stage {stage!r} draws none (its sources are {sorted(config.mix)})"
        )
    if config.wrong_picks and not config.near_misses:
        raise ValueError("wrong_picks is a share of the near-miss scenes: set near_misses too")
    if config.turn_misses and not config.near_misses:
        raise ValueError("turn_misses is a share of the near-miss scenes: set near_misses too")
    if config.follow_picks and not config.rollouts:
        raise ValueError("follow_picks is a share of the rollout scenes: set rollouts too")
    if config.recover_picks and not config.wrong_picks:
        raise ValueError("recover_picks goes on from the wrong picks: set wrong_picks too")
    return config


def set_trainable(model, trainable: str) -> list[str]:
    """Freeze all of `model` but the `trainable` group; returns the names of the parameters left trainable."""
    moe_params = {
        id(p) for moe in model.moe_layers.values() for n, p in moe.named_parameters() if not n.startswith("shared.")
    }
    action_params = {id(p) for part in (model.action_expert, model.reasoning_following) for p in part.parameters()}
    vlm_params = {id(p) for p in model.vlm.parameters()}
    chosen = []
    for name, p in model.named_parameters():
        if trainable == "all":
            on = True
        elif trainable == "action":
            on = id(p) in action_params
        elif trainable == "backbone":  # the VLM's own weights; the MoE's added experts wait for co-training
            on = id(p) in vlm_params and id(p) not in moe_params
        else:  # all_but_moe
            on = id(p) not in moe_params
        p.requires_grad_(on)
        if on:
            chosen.append(name)
    return chosen
