"""The model card (the Hub README.md) written by `save_pretrained`, from the template in hub_cards/chatvla2/."""

from __future__ import annotations

import string
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent.parent / "hub_cards" / "chatvla2" / "README.md"
FALLBACK = (
    "---\nlibrary_name: chatvla2-lite\npipeline_tag: robotics\n---\n\n"
    "# $name\n\nA ChatVLA-2-style model ($params parameters).\n"
)
DEFAULT_LIMITATIONS = (
    "Trained on a simulated tabletop only; the reasoning and the actions have not been checked on a real arm. "
    "Random-weight checkpoints (no training) produce meaningless text and actions."
)


def render_model_card(
    policy, name: str = "ChatVLA2", repo_id: str | None = None, limitations: str | None = None, scores: str = ""
) -> str:
    """The card's text for a `ChatVLA2` policy, numbers taken from its config; `scores` is a Markdown section.
    `repo_id`: the Hub id its usage snippet loads; None: the project's nano checkpoint, which loads without one."""
    config = policy.config
    text, expert = config.text_config, config.action_expert
    values = {
        "name": name,
        "load_args": f'"{repo_id}", quantization="4bit"' if repo_id else 'quantization="4bit"',
        "params": f"{policy.num_parameters():,}",
        "backbone": config.vlm_config.model_type,
        "vlm_layers": text.num_hidden_layers,
        "hidden_size": text.hidden_size,
        "num_experts": config.moe.num_experts,
        "top_k": config.moe.top_k,
        "moe_layers": ", ".join(map(str, config.moe_layers)),
        "expert_layers": expert.num_layers,
        "expert_hidden": expert.hidden_size,
        "objective": expert.objective.replace("_", " ")
        + (
            f"; its own conv net over the {', '.join(expert.pixel_cameras)} camera at {expert.pixel_size} px"
            if expert.pixel_cameras
            else ""
        ),
        "chunk_size": expert.chunk_size,
        "cameras": ", ".join(config.camera_names),
        "joints": ", ".join(config.joint_names),
        "limitations": limitations or DEFAULT_LIMITATIONS,
        "scores": scores,
    }
    template = TEMPLATE.read_text() if TEMPLATE.is_file() else FALLBACK
    return string.Template(template).safe_substitute(values)
