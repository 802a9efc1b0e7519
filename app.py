"""The Space's entry point: build the Gradio app from playground/ and launch it."""

import os

from playground.expert_viewer import build_app

if __name__ == "__main__":
    build_app().queue(default_concurrency_limit=2).launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
    )
