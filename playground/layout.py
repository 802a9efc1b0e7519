"""The page: a Playground tab (whiteboard or spatial instruction, reasoning chat, sim view, look inside),
a Probe tab, the scripted-expert tab and the Settings tab, wired to playground.handlers."""

from __future__ import annotations

from pathlib import Path

from playground import captions
from playground.handlers import EPISODE_OUTPUTS, MODES, SPATIAL, WHITEBOARD, Playground

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
EXAMPLE_EQUATIONS = ["3 + 4 = ?", "9 - 6 = ?", "2 × 3 = ?", "8 ÷ 2 - 1 = ?"]
EXAMPLE_INSTRUCTIONS = [
    "Put the duck to the left of the bowl",
    "Pick the red cube and place it in the tray",
    "Pick up the blue sphere and set it down behind the yellow cylinder",
    "Pick the green duck and place it to the right of the red cube",
]
INTRO = """# chatvla2-lite playground
A ChatVLA-2-style model reads the whiteboard or your instruction, writes its reasoning, and turns that reasoning
into joint targets for an SO-100 arm in PyBullet. **Edit the reasoning** and press *Act on this reasoning* to see the
arm follow your text instead."""


def example_boards() -> list[str]:
    """Paths of the example whiteboard images shipped in playground/examples/."""
    return sorted(str(p) for p in EXAMPLES_DIR.glob("*.png"))


def build_app(playground: Playground | None = None):
    """The whole Gradio app (gr.Blocks), not yet launched or queued."""
    import gradio as gr

    from playground.backends import BACKENDS, REAL_ARM_NOTE, SIM
    from playground.expert_viewer import build_expert_tab
    from playground.settings import QUANTIZATIONS

    pg = playground or Playground()
    s = pg.settings
    # every streamed frame is a file in Gradio's cache: sweep files older than 30 min every 10 min
    with gr.Blocks(title="chatvla2-lite playground", delete_cache=(600, 1800)) as demo:
        gr.Markdown(INTRO)
        banner = gr.Markdown(pg.model_banner(), elem_id="model-banner")
        with gr.Tab("Playground"):
            with gr.Row():
                with gr.Column(scale=1, min_width=300):
                    mode = gr.Radio(list(MODES), value=WHITEBOARD, label="Task", elem_id="mode")
                    with gr.Group(visible=True) as board_inputs:
                        photo = gr.File(
                            label=f"Whiteboard photo (PNG/JPEG, up to {s.max_upload_mb:.0f} MB)",
                            file_types=["image"],
                            type="filepath",
                            elem_id="photo",
                        )
                        equation = gr.Textbox(
                            label="...or type an equation to draw on the sim's board",
                            placeholder="3 + 4 = ?",
                            elem_id="equation",
                        )
                        expected = gr.Textbox(
                            label="Expected answer for a photo (optional, 0-9)",
                            max_lines=1,
                            placeholder="leave empty: no ground truth",
                            elem_id="expected",
                        )
                    with gr.Group(visible=False) as spatial_inputs:
                        instruction = gr.Textbox(
                            label="Instruction", placeholder=EXAMPLE_INSTRUCTIONS[0], elem_id="instruction"
                        )
                    seed = gr.Number(value=0, precision=0, label="Seed", minimum=0, elem_id="seed")
                    with gr.Row():
                        new_btn = gr.Button("New scene", elem_id="new-scene")
                        run_btn = gr.Button("Run the model", variant="primary", elem_id="run")
                        stop_btn = gr.Button("Stop", variant="stop", elem_id="stop")
                    with gr.Accordion("Examples", open=False):
                        if example_boards():
                            gr.Examples(example_boards(), inputs=[photo], label="Whiteboard photos")
                        gr.Examples([[e] for e in EXAMPLE_EQUATIONS], inputs=[equation], label="Equations")
                        gr.Examples([[e] for e in EXAMPLE_INSTRUCTIONS], inputs=[instruction], label="Instructions")
                with gr.Column(scale=2):
                    view = gr.Image(
                        label="sim: front | wrist camera",
                        type="numpy",
                        format="jpeg",
                        height=300,
                        interactive=False,
                        elem_id="sim-view",
                    )
                    gr.Markdown(captions.CAMERAS, elem_classes=["caption"])
                    verdict = gr.Markdown("_press **New scene** or **Run the model**_", elem_id="verdict")
                    scene_md = gr.Markdown(elem_id="scene")
                    board = gr.Image(label="the whiteboard", type="pil", height=120, interactive=False, elem_id="board")
            with gr.Row():
                with gr.Column(scale=1):
                    chat = gr.Chatbot(label="Reasoning (streams token by token)", height=260, elem_id="chat")
                    gr.Markdown(captions.REASONING, elem_classes=["caption"])
                    edit = gr.Textbox(label="Edit the reasoning, then act on it", lines=3, elem_id="edit")
                    point_role = gr.Radio(
                        ["place", "object"],
                        value="place",
                        label="A click on the front camera moves the reasoning's point of",
                        elem_id="point-role",
                    )
                    act_btn = gr.Button("Act on this reasoning", elem_id="act")
                with gr.Column(scale=1):
                    with gr.Tab("Action chunk"):
                        action_plot = gr.Plot(label="joints over the horizon: predicted vs executed")
                        gr.Markdown(captions.ACTION_CHUNK, elem_classes=["caption"])
                    with gr.Tab("MoE experts"):
                        routing_plot = gr.Plot(label="which experts each reasoning token used")
                        gr.Markdown(captions.ROUTING, elem_classes=["caption"])
                    with gr.Tab("Latency and memory"):
                        stats = gr.Markdown(elem_id="stats")
                        gr.Markdown(captions.STATS, elem_classes=["caption"])
        with gr.Tab("Probe"):
            gr.Markdown("OCR, math and spatial questions generated from the simulator, scored on exact answers.")
            with gr.Row():
                per_suite = gr.Slider(1, 12, value=4, step=1, label="questions per suite")
                probe_btn = gr.Button("Run the probe suite", variant="primary")
            probe_md = gr.Markdown()
            probe_plot = gr.Plot()
            probe_table = gr.Dataframe(headers=["suite", "expected", "answer", "correct", "question"], wrap=True)
        with gr.Tab("Scripted expert"):
            gr.Markdown(
                "The scripted expert that makes the training demos, in the same simulator and the loaded model's world."
            )
            build_expert_tab(pg.scene_world)
        with gr.Tab("Settings"):
            model_id = gr.Textbox(
                value=s.model_id,
                label="Model: 'nano' (the shipped one) or a Hub id" + ("" if s.public else " or a local folder"),
                elem_id="model-id",
            )
            quantization = gr.Radio(list(QUANTIZATIONS), value=s.quantization, label="Quantization")
            backend = gr.Radio(list(BACKENDS), value=SIM, label="Robot backend")
            gr.Markdown(
                f"_{REAL_ARM_NOTE}_  \nDevice: `{s.device}`"
                + (f" · public Space: Hub ids only, at most {s.max_model_gb:g} GB of safetensors" if s.public else "")
            )
            load_btn = gr.Button("Load the model")

        scene_inputs = [mode, photo, equation, expected, instruction, seed, backend]
        named = dict(
            view=view,
            board=board,
            scene=scene_md,
            status=verdict,
            chat=chat,
            reasoning=edit,
            action_plot=action_plot,
            routing_plot=routing_plot,
            stats=stats,
        )
        episode_outputs = [named[name] for name in EPISODE_OUTPUTS]
        mode.change(
            lambda m: (gr.update(visible=m == WHITEBOARD), gr.update(visible=m == SPATIAL)),
            inputs=[mode],
            outputs=[board_inputs, spatial_inputs],
            api_name=False,
        )
        backend.change(_only_sim, inputs=[backend], outputs=[backend], api_name=False)
        new_btn.click(
            pg.new_scene,
            inputs=scene_inputs,
            outputs=episode_outputs + [instruction],
            api_name="new_scene",
            concurrency_limit=4,
            concurrency_id="sim",
        )
        run_event = run_btn.click(
            pg.run,
            inputs=scene_inputs + [model_id, quantization],
            outputs=episode_outputs,
            api_name="run",
            concurrency_limit=s.concurrency,
            concurrency_id="model",
        )
        act_event = act_btn.click(
            pg.act,
            inputs=[edit, seed, model_id, quantization],
            outputs=episode_outputs,
            api_name="act",
            concurrency_id="model",
        )
        view.select(pg.point_at, inputs=[edit, point_role], outputs=[edit], api_name=False)
        # Stop must not wait in the episodes' queue: it has its own unlimited lane
        stop_btn.click(pg.stop, outputs=[verdict], api_name="stop", concurrency_limit=None)
        for event in (run_event, act_event):
            event.then(pg.model_banner, outputs=[banner], api_name=False)
        load_btn.click(
            pg.load_model,
            inputs=[model_id, quantization],
            outputs=[banner],
            api_name="load_model",
            concurrency_id="model",
        )
        probe_btn.click(
            pg.probe,
            inputs=[model_id, quantization, per_suite],
            outputs=[probe_plot, probe_table, probe_md],
            api_name="probe",
            concurrency_id="model",
        )
        demo.load(pg.model_banner, outputs=[banner], api_name=False)
        demo.unload(pg.unload)
    demo.playground = pg  # the bench and tests reach the shared state through the app
    return demo


def _only_sim(choice):
    import gradio as gr

    from playground.backends import REAL_ARM_NOTE, REAL_SO100, SIM

    if choice == REAL_SO100:
        gr.Warning(REAL_ARM_NOTE)
        return SIM
    return choice
