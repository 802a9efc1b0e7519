"""The Space's entry point: build the Gradio playground from playground/ and launch it.

Settings come from environment variables (see playground/settings.py): MODEL_ID, QUANTIZATION, DEVICE,
PLAYGROUND_PUBLIC (Hugging Face Spaces also set SPACE_ID), MAX_CHUNKS, MAX_EPISODE_S, CONCURRENCY, ...
GRADIO_SERVER_NAME / GRADIO_SERVER_PORT pick where it listens (default 127.0.0.1:7860).
"""

import logging
import os


def main() -> None:
    import torch

    from playground.handlers import Playground
    from playground.layout import build_app
    from playground.settings import AppSettings

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = AppSettings.from_env()
    torch.set_num_threads(settings.torch_threads)  # the simulator needs the other core
    playground = Playground(settings)
    playground.models.get()  # load the default model before the first visitor waits for it
    demo = build_app(playground)
    demo.queue(default_concurrency_limit=settings.concurrency).launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        max_file_size=settings.max_upload_bytes,
        ssr_mode=False,  # server-side rendering would start a Node process: slower to be ready, nothing gained
        show_error=True,
    )


if __name__ == "__main__":
    main()
