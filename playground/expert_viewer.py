"""A Gradio page that runs the scripted expert in the simulator and streams both cameras.

It is the playground's first tab: it shows the world the model acts in, with the ground truth
of each episode, before any model is loaded.
"""

from __future__ import annotations

import sim
from chatvla2_lite.rollout import EnvRobot, Played, ScriptActor, rollout
from playground.control_loop import side_by_side

FRAME_EVERY = 2  # control steps between streamed frames (30 Hz control -> 15 fps view)


def run_expert_stream(task: str, split: str, seed: int, world=None):
    """Yield (frame, status markdown) while the scripted expert runs one episode in `world` (sim.world.World; None:
    the default one)."""
    env = sim.make_env(task, split, cameras=("front", "wrist"), world=world)
    try:
        obs, info = env.reset(seed=int(seed))
        truth = ", ".join(
            f"{k}: {info[k]}" for k in ("equation", "answer", "relation", "target", "object") if k in info
        )
        header = f"**Instruction:** {info['instruction']}  \n**Ground truth:** {truth}"
        yield side_by_side(obs), header + "  \n_running the scripted expert..._"
        expert = env.expert()
        actor = ScriptActor(expert.act, every=1)  # the project's one closed loop, a step a look
        for event in rollout(actor, EnvRobot(env), obs, env.max_steps):
            if isinstance(event, Played):
                obs, info = event.observation, event.info
                if info["step"] % FRAME_EVERY == 0:
                    yield side_by_side(obs), header + f"  \nstep {info['step']}, phase: {expert.phase}"
        verdict = "success" if info["is_success"] else "not solved"
        yield (
            side_by_side(obs),
            header + f"  \n**{verdict}** after {info['step']} control steps ({info['step'] / 30:.1f} s of sim time)",
        )
    finally:
        env.close()


def build_expert_tab(world_now=None):
    """The expert-viewer controls and outputs, inside the caller's gr.Blocks; `world_now()` gives the world to run
    in at each click (the playground's: the loaded model's), None the default one."""
    import gradio as gr

    with gr.Row():
        task = gr.Dropdown(["math_matching", "toy_placement"], value="math_matching", label="Task")
        split = gr.Dropdown(["train", "heldout"], value="train", label="Split")
        seed = gr.Number(value=0, precision=0, label="Seed")
        run = gr.Button("Run the scripted expert", variant="primary")
    view = gr.Image(label="front | wrist", type="numpy", height=300)
    status = gr.Markdown()

    def stream(task, split, seed):
        yield from run_expert_stream(task, split, seed, world_now() if world_now else None)

    run.click(stream, inputs=[task, split, seed], outputs=[view, status])
    return run


def build_app():
    """The whole Gradio app (gr.Blocks), not yet launched."""
    import gradio as gr

    with gr.Blocks(title="chatvla2-lite") as demo:
        gr.Markdown(
            "# chatvla2-lite\nAn SO-100 arm in PyBullet. This tab runs the scripted expert that makes the "
            "training demos; pick a task, a split and a seed."
        )
        build_expert_tab()
    return demo
