"""The Gradio event handlers: read the inputs, drive a visitor's session, and shape the outputs.

Every handler turns the project's errors into gr.Error with the error's own message, so a bad upload or
a bad model id shows a clear note in the page and the app stays up.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, fields

# Gradio finds the visitor's session through the `request: gr.Request` annotations below, which it resolves in
# this module's globals; so this module, unlike the rest of the playground, imports gradio at the top.
import gradio as gr

from chatvla2_lite.errors import ChatVLA2Error, InvalidInstructionError
from chatvla2_lite.model.reasoning_points import with_point
from playground.control_loop import Budget, act_on_text, run_episode, side_by_side
from playground.markers import clicked_point
from playground.model_cache import ModelCache
from playground.reasoning_chat import after_chunk
from playground.session import SessionRegistry
from playground.settings import DEFAULT_MODEL, AppSettings
from sim.conventions import image_key
from sim.errors import SimError
from sim.world import World

logger = logging.getLogger(__name__)
WHITEBOARD, SPATIAL = "Whiteboard", "Spatial instruction"
MODES = (WHITEBOARD, SPATIAL)
MAX_SEED = 2**31 - 1
TEXT_REFRESH_S = 0.05  # at most 20 reasoning refreshes a second


@dataclass
class EpisodeOutputs:
    """What an episode's handlers update on the page, by name; a field left out keeps what the page shows."""

    view: object = field(default_factory=gr.skip)  # the front | wrist frame
    board: object = field(default_factory=gr.skip)  # the whiteboard's picture (hidden for toys)
    scene: object = field(default_factory=gr.skip)  # the instruction and ground truth
    status: object = field(default_factory=gr.skip)  # what is happening, then the verdict
    chat: object = field(default_factory=gr.skip)  # the reasoning as a chat
    reasoning: object = field(default_factory=gr.skip)  # the edit box: the reasoning the arm follows
    action_plot: object = field(default_factory=gr.skip)
    routing_plot: object = field(default_factory=gr.skip)
    stats: object = field(default_factory=gr.skip)

    def values(self) -> tuple:
        """In EPISODE_OUTPUTS order, as Gradio hands them to the components the layout lists in that order."""
        return tuple(getattr(self, name) for name in EPISODE_OUTPUTS)


EPISODE_OUTPUTS = tuple(f.name for f in fields(EpisodeOutputs))


@contextmanager
def user_errors():
    """Re-raise the project's errors (and a handful of expected ones) as gr.Error with their message."""
    try:
        yield
    except gr.Error:
        raise
    except (ChatVLA2Error, SimError) as exc:
        raise gr.Error(str(exc), print_exception=False) from exc
    except Exception as exc:  # a bug, not bad input: log it, keep the app up, say what to try
        logger.exception("handler failed")
        raise gr.Error(
            f"something went wrong ({exc.__class__.__name__}: {exc}); press New scene and try again, "
            "and report it if it happens again",
            print_exception=False,
        ) from exc


def check_seed(seed) -> int:
    """The seed as an int in 0..2**31-1; anything else raises InvalidInstructionError."""
    try:
        value = int(seed if seed not in (None, "") else 0)
    except (TypeError, ValueError) as exc:
        raise InvalidInstructionError(f"the seed {seed!r} is not a whole number; type e.g. 0 or 42") from exc
    if not 0 <= value <= MAX_SEED:
        raise InvalidInstructionError(f"the seed must be between 0 and {MAX_SEED}, got {value}")
    return value


class Playground:
    """The app's shared parts (settings, the one model, the sessions) and its handlers."""

    def __init__(self, settings: AppSettings | None = None):
        self.settings = settings or AppSettings.from_env()
        self.models = ModelCache(self.settings)
        self.sessions = SessionRegistry(self.settings.max_sessions)

    @property
    def budget(self) -> Budget:
        return Budget.of(self.settings)

    def session(self, request):
        """The visitor's own session (one per browser tab or API client)."""
        sid = getattr(request, "session_hash", None) or "local"
        return self.sessions.get(sid)

    # ---- scenes ----------------------------------------------------------------------------------------------
    def _scene_request(self, mode, photo, equation, expected, instruction, seed, allow_random: bool):
        """(key, task, build) for the scene the inputs ask for; bad inputs raise before the sim is touched."""
        from playground import episodes
        from playground.uploads import check_equation, check_expected_answer, check_instruction, load_board_photo

        seed = check_seed(seed)
        if mode == SPATIAL:
            session_text = " ".join(str(instruction or "").split())
            if not session_text and allow_random:
                return (mode, None, seed), "toy_placement", lambda env: episodes.random_spatial(env, seed)
            text = check_instruction(instruction)
            episodes.parse_spatial(text)
            return (mode, text, seed), "toy_placement", lambda env: episodes.typed_spatial(env, seed, text)
        if mode != WHITEBOARD:
            raise InvalidInstructionError(f"unknown mode {mode!r}; pick {' or '.join(MODES)}")
        if photo:
            image = load_board_photo(photo, self.settings.max_upload_bytes, self.settings.max_upload_pixels)
            answer = check_expected_answer(expected)
            return (
                (mode, str(photo), answer, seed),
                "math_matching",
                lambda env: episodes.photo_math(env, seed, image, answer),
            )
        if equation and equation.strip():
            text, answer = check_equation(equation)
            return (mode, text, seed), "math_matching", lambda env: episodes.typed_math(env, seed, text, answer)
        return (mode, None, seed), "math_matching", lambda env: episodes.random_math(env, seed)

    def scene_world(self, loaded=None):
        """The sim world scenes are built in: the one the model was trained in (its processor says), so a model of
        the row world at 448 px sees its own cards and frame size; the default world before any model is loaded."""
        loaded = loaded or self.models.loaded
        return None if loaded is None else World.of(loaded.policy.processor.world)

    def _build_scene(self, session, request_key, task, build, backend_name, world=None):
        """Build the scene in the visitor's own sim (making the sim on first use), in `world` (None: the model's)."""
        from playground.backends import SIM, make_backend

        backend_name = backend_name or SIM
        if session.backend is None or session.backend.name != backend_name:
            if session.backend is not None:
                session.backend.close()
            session.backend = make_backend(backend_name)
        scenario, obs = session.backend.new_scene(task, build, world or self.scene_world())
        session.start_scene(scenario, obs)
        session.scene_key = request_key
        session.scene_build = (task, build, backend_name)
        session.chat = [{"role": "user", "content": scenario.instruction}]
        return scenario, obs

    def _rebuild_in_world(self, session, world):
        """The session's scene made again by the same seeded build, in `world`: a scene built before a model of
        another world was loaded would show it frames of a size and cards in places it never saw."""
        task, build, backend_name = session.scene_build
        return self._build_scene(session, session.scene_key, task, build, backend_name, world)

    def new_scene(self, mode, photo, equation, expected, instruction, seed, backend_name, request: gr.Request = None):
        """Outputs for a freshly built scene (nothing run yet); a random spatial scene fills the instruction box."""
        with user_errors():
            session = self.session(request)
            if not session.busy.acquire(blocking=False):
                raise gr.Error("an episode is running in this tab; press Stop first")
            try:
                key, task, build = self._scene_request(mode, photo, equation, expected, instruction, seed, True)
                scenario, obs = self._build_scene(session, key, task, build, backend_name)
                if mode == SPATIAL and key[1] is None:  # so Run acts on this very scene
                    session.scene_key = (mode, scenario.instruction, key[2])
                    instruction = scenario.instruction
                session.fresh = True
            finally:
                session.busy.release()
            outputs = EpisodeOutputs(
                view=side_by_side(obs),
                board=_board(scenario),
                scene=scenario.describe(),
                status="_ready: press **Run the model**_",
                chat=session.chat,
                reasoning="",
                action_plot=self._action_plot(session),
                routing_plot=self._routing_plot(None),
                stats="",
            )
            return (*outputs.values(), gr.skip() if mode != SPATIAL else instruction)

    def _scene_for_run(self, session, request, backend_name, world):
        """The scene Run acts on, in `world` (the model's, resolved first): the one New scene just built for these
        inputs, else a new one from them; and whether it is the same scene built again in another world.
        `request`: _scene_request's (key, task, build)."""
        from playground import episodes

        key, task, build = request
        same = session.scene_key == key and session.scenario is not None
        if same and session.fresh and session.backend.world == world:
            session.fresh = False
            session.stop.clear()
            return session.scenario, session.observation, False
        if same and session.scenario.source == "random":  # Run again on a random scene: the same one, not a look-alike
            random_seed = session.scenario.seed
            build = (lambda env: episodes.random_spatial(env, random_seed)) if task == "toy_placement" else build
        rebuilt = same and session.backend.world != world
        scenario, obs = self._build_scene(session, key, task, build, backend_name, world)
        session.fresh = False
        return scenario, obs, rebuilt

    # ---- episodes --------------------------------------------------------------------------------------------
    def run(
        self,
        mode,
        photo,
        equation,
        expected,
        instruction,
        seed,
        backend_name,
        model_id,
        quantization,
        request: gr.Request = None,
    ):
        """Generator: resolve the model, build the scene in its world, then observe-reason-act until done, streaming
        reasoning and frames."""
        with user_errors():
            session = self.session(request)
            if not session.busy.acquire(blocking=False):
                raise gr.Error("an episode is already running in this tab; press Stop first")
            try:
                request_ = self._scene_request(mode, photo, equation, expected, instruction, seed, False)
                if self.models.loaded is None or self.models.loaded.key != self.models.key(model_id, quantization):
                    yield EpisodeOutputs(status="_loading the model..._").values()
                loaded = self.models.get(model_id, quantization)
                world = self.scene_world(loaded)
                scenario, obs, rebuilt = self._scene_for_run(session, request_, backend_name, world)
                status = (
                    f"_rebuilt the scene in the model's world: {world.describe()}_" if rebuilt else "_reasoning..._"
                )
                yield self._scene_outputs(session, scenario, obs, status).values()
                updates = run_episode(session, loaded.policy, self.models.run_lock, self.budget, seed=check_seed(seed))
                yield from self._stream(session, updates, loaded)
            finally:
                session.busy.release()

    def act(self, edited, seed, model_id, quantization, request: gr.Request = None):
        """Generator: one chunk on the current observation, following the visitor's edited reasoning."""
        with user_errors():
            session = self.session(request)
            if session.observation is None:
                raise gr.Error("there is no scene yet; press New scene or Run the model first")
            text = " ".join(str(edited or "").split())
            if not text:
                raise InvalidInstructionError("the reasoning box is empty; write the reasoning the arm should follow")
            if len(text) > 1000:
                raise InvalidInstructionError(f"the reasoning has {len(text)} characters; keep it under 1000")
            if not session.busy.acquire(blocking=False):
                raise gr.Error("an episode is already running in this tab; press Stop first")
            try:
                session.stop.clear()
                loaded = self.models.get(model_id, quantization)
                yield from self._rebuilt_for(session, loaded)
                session.chat = session.chat + [{"role": "user", "content": f"(edited reasoning) {text}"}]
                updates = act_on_text(
                    session, loaded.policy, self.models.run_lock, text, self.budget, seed=check_seed(seed)
                )
                yield from self._stream(session, updates, loaded, edited=text)
            finally:
                session.busy.release()

    def point_at(self, edited, role, event: gr.SelectData, request: gr.Request = None) -> str:
        """The edit box's reasoning with its `role` point ("place" or "object") moved to where the visitor clicked the
        front camera; Act on this reasoning then sends the arm there."""
        with user_errors():
            session = self.session(request)
            if session.observation is None:
                raise gr.Error("there is no scene yet; press New scene or Run the model first")
            try:
                point = clicked_point(event.index, session.observation[image_key("front")].shape)
                return with_point(str(edited or ""), role, point)
            except ValueError as exc:
                raise gr.Error(str(exc), print_exception=False) from exc

    def _rebuilt_for(self, session, loaded):
        """Outputs (none, or one) for the session's scene rebuilt in the loaded model's world when it was built in
        another; the arm starts over there."""
        world = self.scene_world(loaded)
        if session.backend.world == world:
            return
        scenario, obs = self._rebuild_in_world(session, world)
        status = f"_rebuilt the scene in the model's world: {world.describe()}; the arm starts over_"
        yield self._scene_outputs(session, scenario, obs, status).values()

    def _scene_outputs(self, session, scenario, obs, status: str) -> EpisodeOutputs:
        """The page for a scene just built: its frame, board and truth, the instruction in the chat."""
        return EpisodeOutputs(
            view=side_by_side(obs),
            board=_board(scenario),
            scene=scenario.describe(),
            status=status,
            chat=session.chat,
            action_plot=self._action_plot(session),
        )

    def _stream(self, session, updates, loaded, edited: str | None = None):
        """Turn control-loop Updates into the outputs tuple, skipping what did not change."""
        reasoning_chunk, last_text_yield, acting_chunk, turn = None, 0.0, -1, None
        for u in updates:
            if u.phase == "reasoning":
                if reasoning_chunk != u.chunk:
                    reasoning_chunk = u.chunk
                    session.chat = session.chat + [{"role": "assistant", "content": ""}]
                last = dict(session.chat[-1], content=session.chat[-1]["content"] + u.text)
                session.chat = session.chat[:-1] + [last]
                # every token is kept, but the page is refreshed at most every TEXT_REFRESH_S: a yield per token
                # costs the reasoning thread more than the text is worth
                if u.frame is not None:  # a point was said: its marker goes up at once
                    last_text_yield = time.perf_counter()
                    yield EpisodeOutputs(
                        view=u.frame, status=f"_reasoning: chunk {u.chunk}_", chat=session.chat
                    ).values()
                elif time.perf_counter() - last_text_yield >= TEXT_REFRESH_S:
                    last_text_yield = time.perf_counter()
                    yield EpisodeOutputs(status=f"_reasoning: chunk {u.chunk}_", chat=session.chat).values()
            elif u.phase == "acting":
                status = f"_acting: chunk {u.chunk}, step {u.timing.get('steps', 0)}_"
                new_chunk = u.chunk != acting_chunk
                acting_chunk = u.chunk
                if new_chunk:  # show the chunk's whole reasoning, in the chat and the edit box, and its routing
                    text = edited if edited is not None else (session.reasoning.text if session.reasoning else "")
                    if edited is None:  # each reasoning once in the chat, with the chunks it drove
                        session.chat, turn = after_chunk(
                            session.chat, turn, u.chunk, text, u.reasoned, reasoning_chunk == u.chunk
                        )
                    yield EpisodeOutputs(
                        view=u.frame,
                        status=status,
                        chat=session.chat,
                        reasoning=text,
                        routing_plot=self._routing_plot(session.reasoning, loaded),
                    ).values()
                else:
                    yield EpisodeOutputs(view=u.frame, status=status).values()
            else:
                stats = self._stats(u.timing, loaded)
                verdict = _verdict_markdown(u.verdict, u.timing)
                text = edited if edited is not None else (session.reasoning.text if session.reasoning else "")
                scene = session.scenario.describe() if session.scenario else gr.skip()
                yield EpisodeOutputs(
                    view=side_by_side(session.observation),
                    scene=scene,
                    status=verdict,
                    chat=session.chat,
                    reasoning=text,
                    action_plot=self._action_plot(session),
                    routing_plot=self._routing_plot(session.reasoning, loaded),
                    stats=stats,
                ).values()

    def stop(self, request: gr.Request = None) -> str:
        """Ask the visitor's running episode to stop after the current step; a real arm lets go of its torque now,
        from this thread, not at the loop's next step."""
        session = self.session(request)
        session.stop.set()
        release = getattr(session.backend, "stop", None)  # the sim has nothing to release
        if release is not None:
            release()
            return "_stopped: the arm's torque is released_"
        return "_stopping..._"

    # ---- model, probes, figures ------------------------------------------------------------------------------
    def load_model(self, model_id, quantization) -> str:
        """Load (or keep) the shared model; its description for the banner."""
        with user_errors():
            return self.models.get(model_id, quantization).describe()

    def model_banner(self) -> str:
        loaded = self.models.loaded
        if loaded is None:
            from playground.model_cache import default_model_label, nano_note, with_note

            note = nano_note() if self.settings.model_id == DEFAULT_MODEL else ""
            return with_note(f"**Model:** {default_model_label()} · loads on first use", note)
        return loaded.describe()

    def probe(self, model_id, quantization, per_suite):
        """Run the probe suite; (bar chart, table rows, summary)."""
        from playground.plots import probe_figure
        from playground.probes import run_probes

        with user_errors():
            n = int(per_suite or 4)
            if not 1 <= n <= 20:
                raise InvalidInstructionError(f"questions per suite must be 1-20, got {n}")
            loaded = self.models.get(model_id, quantization)
            scores = run_probes(loaded.policy, self.models.run_lock, n=n)
            rows = [
                [suite, expected, answer, "yes" if ok else "no", q]
                for suite, s in scores.items()
                for q, expected, answer, ok in s["rows"]
            ]
            summary = " · ".join(f"{k}: {v['correct']}/{v['total']}" for k, v in scores.items())
            note = " An untrained model scores about 0: these are exact answers." if "random" in loaded.label else ""
            return probe_figure(scores), rows, f"**{loaded.label}** — {summary}.{note}"

    def _action_plot(self, session):
        from playground.plots import action_figure

        predicted = session.predicted[-1] if session.predicted else None
        executed = session.executed_array()
        if predicted is not None:
            executed = executed[-len(predicted) :]  # the steps the last chunk ran
        return action_figure(predicted, executed)

    def _routing_plot(self, reasoning, loaded=None):
        from playground.plots import routing_figure

        experts = loaded.policy.config.moe.num_experts if loaded is not None else 8
        return routing_figure(reasoning, experts)

    def _stats(self, timing: dict, loaded) -> str:
        chunks = max(timing.get("chunks", 0), 1)
        steps, frames = timing.get("steps", 0), timing.get("frames", 0)
        rss = _rss_mb()
        rows = [
            ("first reasoning token", f"{timing['first_token_ms']:.0f} ms" if "first_token_ms" in timing else "—"),
            ("reason per chunk", f"{timing.get('reason_s', 0) / chunks * 1000:.0f} ms"),
            ("act per chunk", f"{timing.get('act_s', 0) / chunks * 1000:.0f} ms"),
            ("sim steps", f"{steps} ({steps / timing['step_s']:.1f}/s)" if timing.get("step_s") else str(steps)),
            (
                "frames streamed",
                f"{frames} ({frames / timing['step_s']:.1f}/s while acting)" if timing.get("step_s") else str(frames),
            ),
            ("episode", f"{timing.get('episode_s', 0):.1f} s, {timing.get('chunks', 0)} chunk(s)"),
            ("model memory", f"{loaded.policy.get_memory_footprint() / 2**20:.1f} MB ({loaded.key[1]})"),
            ("process memory", f"{rss:.0f} MB" if rss else "—"),
        ]
        return "| figure | value |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)

    def unload(self, request: gr.Request = None) -> None:
        """The tab closed: free its sim now."""
        sid = getattr(request, "session_hash", None)
        if sid:
            self.sessions.close(sid)


def _board(scenario):
    """The whiteboard panel: the board's picture for the whiteboard task, hidden for toys."""
    return gr.update(value=scenario.board, visible=scenario.board is not None)


def _verdict_markdown(verdict, timing: dict) -> str:
    return (
        f"### {verdict.text}\n{timing.get('episode_s', 0):.1f} s, {timing.get('chunks', 0)} chunk(s), "
        f"{timing.get('steps', 0)} control steps"
    )


def _rss_mb() -> float | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None
