"""What a public Space lets visitors load: Hub ids only, safetensors under a size cap, no remote code.

The pure checks take what the Hub reports (file names and sizes, config.json) so tests run them offline;
`check_public_model` asks the Hub and turns every failure into a CheckpointError the UI can show.
"""

from __future__ import annotations

import re

from chatvla2_lite.errors import CheckpointError, UnsafeWeightsError

_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")


def check_hub_id(model_id: str) -> str:
    """`model_id` if it looks like "owner/name" and not like a path; else CheckpointError."""
    clean = model_id.strip()
    if clean.startswith(("/", ".", "~")) or "\\" in clean or ".." in clean or not _HUB_ID.match(clean):
        raise CheckpointError(
            f"{clean[:80]!r} is not a Hub model id; on this public Space type an id like 'owner/model-name' "
            "(local folders can only be loaded when you run the app yourself)"
        )
    return clean


def check_repo_files(model_id: str, files: dict[str, int | None], config: dict, max_bytes: int) -> None:
    """Refuse a repo without safetensors, with more safetensors than `max_bytes`, or that needs remote code.

    `files`: name -> size in bytes as the Hub lists them; `config`: the repo's config.json.
    """
    weights = {n: s for n, s in files.items() if n.endswith(".safetensors")}
    if not weights:
        pickled = [n for n in files if n.endswith((".bin", ".pt", ".pth", ".ckpt", ".pkl"))]
        if pickled:
            raise UnsafeWeightsError(
                f"{model_id!r} offers only pickled weights ({pickled[0]}, ...); this Space loads "
                "safetensors only. Pick a repo that has *.safetensors"
            )
        raise CheckpointError(f"{model_id!r} has no *.safetensors weights; pick a ChatVLA2 or Qwen2-VL model repo")
    total = sum(s or 0 for s in weights.values())
    if total > max_bytes:
        raise CheckpointError(
            f"{model_id!r} has {total / 2**30:.1f} GB of weights, more than the {max_bytes / 2**30:.1f} "
            "GB this Space loads; pick a smaller model or run the app on your own machine"
        )
    if config.get("auto_map") or config.get("trust_remote_code"):
        raise CheckpointError(
            f"{model_id!r} needs trust_remote_code (its config.json has auto_map); this Space never "
            "runs code from a model repo. Pick a ChatVLA2 or Qwen2-VL model"
        )


def check_public_model(model_id: str, max_bytes: int) -> None:
    """Ask the Hub about `model_id` and apply the public Space's rules; every failure is a CheckpointError."""
    import json

    from huggingface_hub import HfApi, hf_hub_download

    from chatvla2_lite.hub import HubSettings

    model_id = check_hub_id(model_id)
    settings = HubSettings.from_env()
    try:
        info = HfApi(endpoint=settings.endpoint, token=settings.token).model_info(model_id, files_metadata=True)
        files = {s.rfilename: s.size for s in (info.siblings or [])}
        config_path = hf_hub_download(
            model_id,
            "config.json",
            revision=info.sha,
            endpoint=settings.endpoint,
            token=settings.token,
            cache_dir=settings.cache_dir,
        )
        with open(config_path) as fh:
            config = json.load(fh)
    except CheckpointError:
        raise
    except Exception as exc:  # offline, no such repo, no config.json, Hub errors: one clear message each way
        raise CheckpointError(
            f"could not look up {model_id!r} on the Hub ({exc.__class__.__name__}); check the id "
            "and that the Space can reach huggingface.co, then try again"
        ) from exc
    check_repo_files(model_id, files, config, max_bytes)
