"""Shared fixtures: the playground app running in a subprocess on a free 127.0.0.1 port, with a small budget."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from playground.bench_app import free_port, stop_process, wait_ready

ROOT = Path(__file__).resolve().parents[2]
# A 2-core box shared with other suites: one intra-op thread keeps the in-process model tests predictable.
torch.set_num_threads(1)
# Small enough that the whole tests/playground run stays within a few minutes on 2 cores.
APP_ENV = {
    "MAX_CHUNKS": "2",
    "MAX_EPISODE_S": "10",
    # frames go out at most MAX_FPS a second of wall time, and an idle box plays the 2 chunks in about half a second:
    # at the default 15 the tests that watch frames stream saw 8 and 9; at 60 every control step is a frame
    "MAX_FPS": "60",
    "CONCURRENCY": "2",
    "TORCH_THREADS": "1",
    "HF_HUB_OFFLINE": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "PLAYGROUND_PUBLIC": "0",
}


@contextlib.contextmanager
def running_app(log_dir: Path):
    """Start app.py on a free 127.0.0.1 port with the small test budget; yields its URL, stops it after."""
    port = free_port()
    log = log_dir / "app.log"
    env = {
        **os.environ,
        **APP_ENV,
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "HF_HUB_CACHE": str(log_dir / "hf-cache"),
    }
    env.pop("SPACE_ID", None)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc)
    except Exception:
        proc.kill()
        raise RuntimeError(f"app did not start; its log:\n{log.read_text()[-3000:]}") from None
    try:
        yield url
    finally:
        stop_process(proc)


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    """URL of a running playground (app.py) with a 2-chunk episode budget, shared by the API tests."""
    with running_app(tmp_path_factory.mktemp("app")) as url:
        yield url


@pytest.fixture(scope="module")
def browser_app_url(tmp_path_factory):
    """An app of its own for the browser test: the shared one may still be busy with the API tests' sessions."""
    with running_app(tmp_path_factory.mktemp("browser-app")) as url:
        yield url


@pytest.fixture
def client(app_url):
    """A gradio_client for the app: a session of its own."""
    from gradio_client import Client

    return Client(app_url, verbose=False, download_files=False)


@pytest.fixture(scope="session")
def nano_policy():
    from chatvla2_lite.model.policy_chatvla2 import ChatVLA2

    return ChatVLA2.from_config(seed=0)


@pytest.fixture(scope="session")
def bad_files(tmp_path_factory) -> dict[str, Path]:
    """A text file named .png, a 40-megapixel PNG, a PNG with a broken checksum, and a truncated PNG."""
    import io

    from PIL import Image

    d = tmp_path_factory.mktemp("bad-uploads")
    files = {
        "not_image": d / "notes.png",
        "huge": d / "huge.png",
        "corrupt": d / "corrupt.png",
        "truncated": d / "truncated.png",
    }
    files["not_image"].write_text("this is not an image, just text")
    Image.new("RGB", (8000, 5000), (250, 250, 247)).save(files["huge"])  # 40 MP, a small file
    buf = io.BytesIO()
    Image.new("RGB", (300, 200), (200, 10, 10)).save(buf, "PNG")
    data = buf.getvalue()
    files["corrupt"].write_bytes(data[:60] + bytes(len(data) - 60))  # header intact, pixel data zeroed
    files["truncated"].write_bytes(data[: len(data) // 2])
    return files
