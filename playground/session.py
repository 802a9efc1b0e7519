"""Per-visitor state: their own sim, scene, last observation and reasoning, and the actions so far.

Sessions live in a registry keyed by Gradio's session hash rather than only in gr.State, because
`demo.unload` (the browser tab closing) identifies a session by that hash alone, and the sim must be freed
then, not an hour later when Gradio expires its state.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

logger = logging.getLogger(__name__)


@dataclass
class Session:
    """One visitor's world."""

    backend: object = None  # playground.backends.pybullet_sim.SimBackend
    scenario: object = None  # playground.episodes.Scenario
    scene_key: tuple | None = None  # the inputs the scene was built from, so Run knows whether to rebuild
    scene_build: tuple | None = None  # (task, build, backend name) that made it, to make it again in another world
    fresh: bool = False  # built by New scene and not run yet: Run acts on it as it is
    observation: dict | None = None
    reasoning: object = None  # chatvla2_lite.model.policy_chatvla2.Reasoning of the last chunk
    predicted: list = field(default_factory=list)  # (16, 6) chunks, one per reason-act round
    executed: list = field(default_factory=list)  # (6,) joint states measured after each step
    chat: list = field(default_factory=list)  # chat panel messages [{"role", "content"}]
    stop: threading.Event = field(default_factory=threading.Event)
    busy: threading.Lock = field(default_factory=threading.Lock)  # one episode per visitor at a time
    last_used: float = field(default_factory=time.monotonic)

    def start_scene(self, scenario, observation: dict) -> None:
        """Forget the last episode's reasoning and actions for a fresh scene."""
        self.scenario, self.observation = scenario, observation
        self.reasoning, self.predicted, self.executed, self.chat = None, [], [], []
        self.stop.clear()

    def executed_array(self) -> np.ndarray:
        """The measured joint states so far, (N, 6) float32."""
        return np.asarray(self.executed, dtype=np.float32).reshape(-1, 6)

    def close(self, wait_s: float = 5.0) -> None:
        """Stop a running episode, give it `wait_s` to notice, then free the sim."""
        self.stop.set()
        # an episode checks Stop between steps; closing the physics server under it would fail its next step
        got = self.busy.acquire(timeout=wait_s)
        try:
            if self.backend is not None:
                self.backend.close()
                self.backend = None
        finally:
            if got:
                self.busy.release()


class SessionRegistry:
    """Sessions by id; beyond `capacity` the least recently used one is closed (it frees a physics server)."""

    def __init__(self, capacity: int = 32):
        self.capacity = capacity
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session_id: str) -> Session:
        """The visitor's session, created on first use."""
        evicted = []
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                session = self._sessions[session_id] = Session()
            self._sessions.move_to_end(session_id)
            session.last_used = time.monotonic()
            while len(self._sessions) > self.capacity:
                _, old = self._sessions.popitem(last=False)
                evicted.append(old)
        for old in evicted:
            old.close()
        return session

    def close(self, session_id: str) -> bool:
        """Close and forget one session; False if it was not there."""
        with self._lock:
            session = self._sessions.pop(session_id, None)
        if session is None:
            return False
        session.close()
        logger.info("closed session %s", session_id[:8])
        return True

    def close_all(self) -> None:
        with self._lock:
            sessions, self._sessions = list(self._sessions.values()), OrderedDict()
        for s in sessions:
            s.close()

    def __len__(self) -> int:
        return len(self._sessions)

    def __contains__(self, session_id: str) -> bool:
        return session_id in self._sessions
