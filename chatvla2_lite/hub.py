"""Find a checkpoint on disk or download it from the Hub, safetensors only, and check what arrived.

Settings are read from the environment at call time (HF_ENDPOINT, HF_HUB_OFFLINE, HF_HUB_CACHE / HF_HOME,
HF_TOKEN), not at import time as `huggingface_hub.constants` does, so a process can change them between loads.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from chatvla2_lite.errors import CheckpointError, CorruptCheckpointError, UnsafeWeightsError

logger = logging.getLogger(__name__)

# The project's own nano checkpoint, laid out as a Hub repository inside the repo: the model when none is named.
NANO_CHECKPOINT = Path(__file__).resolve().parent.parent / "checkpoints" / "chatvla2-nano"

# Everything a ChatVLA2 or a Qwen2-VL-family repo needs, and nothing that could be unpickled.
ALLOW_PATTERNS = [
    "*.safetensors",
    "*.safetensors.index.json",
    "*.json",
    "*.jinja",
    "*.txt",
    "README.md",
]
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_verified: set[tuple[str, int, int]] = set()  # (blob path, size, mtime) already hashed in this process


@dataclass(frozen=True)
class HubSettings:
    endpoint: str | None
    cache_dir: str | None
    offline: bool
    token: str | None

    @classmethod
    def from_env(cls) -> HubSettings:
        env = os.environ
        cache = env.get("HF_HUB_CACHE") or (os.path.join(env["HF_HOME"], "hub") if env.get("HF_HOME") else None)
        offline = (env.get("HF_HUB_OFFLINE") or env.get("TRANSFORMERS_OFFLINE") or "").upper() in (
            "1",
            "ON",
            "YES",
            "TRUE",
        )
        return cls(endpoint=env.get("HF_ENDPOINT") or None, cache_dir=cache, offline=offline, token=env.get("HF_TOKEN"))


def is_local(id_or_path: str | os.PathLike) -> bool:
    return Path(id_or_path).expanduser().is_dir()


def resolve_checkpoint(id_or_path: str | os.PathLike, revision: str | None = None) -> Path:
    """A local folder holding config.json and checked safetensors weights for a Hub id or a local path."""
    if is_local(id_or_path):
        folder = Path(id_or_path).expanduser()
        check_checkpoint(folder, in_cache=False)
        return folder
    repo_id = str(id_or_path)
    settings = HubSettings.from_env()
    folder = Path(_download(repo_id, revision, settings))
    if not any(folder.glob("*.safetensors")):
        _refuse_without_safetensors(repo_id, revision, settings, folder)
    check_checkpoint(folder, in_cache=True)
    return folder


def _download(repo_id: str, revision: str | None, settings: HubSettings) -> str:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    where = f"{repo_id!r}" + (f" at revision {revision!r}" if revision else "")
    try:
        return snapshot_download(
            repo_id,
            revision=revision,
            allow_patterns=ALLOW_PATTERNS,
            cache_dir=settings.cache_dir,
            endpoint=settings.endpoint,
            local_files_only=settings.offline,
            token=settings.token,
        )
    except RevisionNotFoundError as exc:
        raise CheckpointError(f"{where}: no such branch, tag or commit; check the revision") from exc
    except RepositoryNotFoundError as exc:
        raise CheckpointError(
            f"{where}: no such model repository (or it is private); check the id, or log in with `hf auth login`"
        ) from exc
    except LocalEntryNotFoundError as exc:
        if settings.offline:
            raise CheckpointError(
                f"{where} is not in the local Hugging Face cache and HF_HUB_OFFLINE=1 forbids downloading; "
                "run once with network access to fill the cache, or unset HF_HUB_OFFLINE"
            ) from exc
        raise CheckpointError(
            f"{where} could not be downloaded and is not cached ({exc.__class__.__name__}); check the network "
            "connection and HF_ENDPOINT, then retry"
        ) from exc
    except EntryNotFoundError as exc:
        raise CheckpointError(
            f"{where}: a file listed by the repository is missing on the server ({exc}); retry later "
            "or pin another revision"
        ) from exc
    except HfHubHTTPError as exc:
        raise CheckpointError(f"{where}: the Hub answered with an error ({exc}); retry later") from exc


def _refuse_without_safetensors(repo_id: str, revision: str | None, settings: HubSettings, folder: Path) -> None:
    """Raise UnsafeWeightsError if the repo has only pickled weights, CheckpointError if it has none."""
    files: list[str] = []
    if not settings.offline:
        from huggingface_hub import HfApi

        try:
            files = HfApi(endpoint=settings.endpoint, token=settings.token).list_repo_files(repo_id, revision=revision)
        except Exception as exc:  # the listing only improves the message
            logger.info("could not list %s: %s", repo_id, exc)
    pickled = [f for f in files if f.endswith(PICKLE_SUFFIXES)]
    if pickled:
        raise UnsafeWeightsError(
            f"{repo_id!r} offers only pickled weights ({', '.join(sorted(pickled)[:3])}); chatvla2-lite loads "
            "safetensors only and never unpickles downloaded files. Use a repo or revision with *.safetensors, or "
            "convert the weights yourself from a source you trust"
        )
    raise CheckpointError(f"{repo_id!r} has no *.safetensors weights in {folder}; it is not a loadable model repo")


def check_checkpoint(folder: Path, in_cache: bool) -> None:
    """Check config.json and every safetensors file; a damaged file in the Hub cache is evicted first."""
    if not (folder / "config.json").is_file():
        raise CheckpointError(f"{folder} has no config.json; point at a ChatVLA2 or Qwen2-VL-family model folder")
    weights = sorted(folder.glob("*.safetensors"))
    if not weights:
        pickled = sorted(p.name for p in folder.iterdir() if p.name.endswith(PICKLE_SUFFIXES))
        if pickled:
            raise UnsafeWeightsError(
                f"{folder} holds only pickled weights ({', '.join(pickled[:3])}); chatvla2-lite loads safetensors "
                "only. Convert them with safetensors.torch.save_file from a source you trust"
            )
        raise CheckpointError(f"{folder} has no *.safetensors weights")
    for index in folder.glob("*.safetensors.index.json"):
        shards = set(json.loads(index.read_text()).get("weight_map", {}).values())
        missing = sorted(s for s in shards if not (folder / s).is_file())
        if missing:
            raise CheckpointError(f"{index.name} lists shards that are not there: {missing}; download again")
    for path in weights:
        problem = safetensors_problem(path)
        if problem:
            if in_cache:
                _evict(path)
            raise CorruptCheckpointError(
                f"{path.name} is damaged ({problem}). "
                + (
                    "It was removed from the cache: retry, and if it fails again the file on the Hub is broken."
                    if in_cache
                    else "Replace the file with a good copy."
                )
            )


def safetensors_problem(path: Path) -> str | None:
    """None if the file's header parses and (for a cached LFS blob) its sha256 matches its name; else why not."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            f.keys()
    except Exception as exc:
        return f"unreadable safetensors: {exc}"
    blob = path.resolve()
    if _SHA256.match(blob.name):
        stat = blob.stat()
        key = (str(blob), stat.st_size, stat.st_mtime_ns)
        if key not in _verified:
            digest = hashlib.sha256()
            with open(blob, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
            if digest.hexdigest() != blob.name:
                return f"sha256 {digest.hexdigest()[:12]}... does not match the Hub's {blob.name[:12]}..."
            _verified.add(key)
    return None


def _evict(path: Path) -> None:
    """Delete a cached file and the blob behind it, so the next download fetches it again."""
    blob = path.resolve()
    for p in {path, blob}:
        try:
            p.unlink()
        except FileNotFoundError:
            pass
    logger.warning("removed damaged %s from the Hugging Face cache", path)
