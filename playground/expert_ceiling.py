"""The page's ceiling: the sim's scripted expert through the app's own control loop, backend and episode budget.

No policy can solve on the page what the expert cannot solve there; an episode budget the expert does not fit in
shows "out of budget" for a model that does everything right. `expert_solved` measures it for the app benchmark and
the test that holds the default budget to it.
"""

from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor

from playground.backends.pybullet_sim import SimBackend
from playground.control_loop import Budget, run_expert
from playground.episodes import random_math, random_spatial
from playground.session import Session
from sim.conventions import TASK_NAMES

SCENES = {"math_matching": random_math, "toy_placement": random_spatial}


def expert_episode(task: str, seed: int, budget: Budget, split: str = "heldout", world=None) -> dict:
    """One scene of `task` (seeded as the page builds it) played by the expert through the app's loop."""
    session = Session(backend=SimBackend(split=split))
    try:
        scenario, obs = session.backend.new_scene(task, lambda env: SCENES[task](env, seed), world)
        session.start_scene(scenario, obs)
        start, last = time.perf_counter(), None
        for update in run_expert(session, budget):
            last = update
        return {
            "task": task,
            "seed": seed,
            "solved": bool(last.verdict.success),
            "verdict": last.verdict.text,
            "steps": last.timing.get("steps", 0),
            "chunks": last.timing.get("chunks", 0),
            "episode_s": round(time.perf_counter() - start, 2),
        }
    finally:
        session.close()


def _task_episodes(task: str, seeds: list[int], budget: Budget, split: str, world) -> list[dict]:
    return [expert_episode(task, s, budget, split, world) for s in seeds]


def expert_solved(
    episodes: int, budget: Budget, split: str = "heldout", seed: int = 10_000, world=None, workers: int = 2
) -> dict:
    """Share of `episodes` scenes of each task the expert solves within `budget` through the app's loop; a process a
    task (up to `workers`), each on its own physics server, with the seeds that failed and their verdicts."""
    seeds = list(range(seed, seed + episodes))
    with ProcessPoolExecutor(max_workers=max(1, min(workers, len(TASK_NAMES)))) as pool:
        runs = {t: pool.submit(_task_episodes, t, seeds, budget, split, world) for t in TASK_NAMES}
        rows = {t: f.result() for t, f in runs.items()}
    result: dict = {"episodes": episodes, "split": split, "seed": seed, "max_chunks": budget.max_chunks}
    for task, task_rows in rows.items():
        result[f"{task}_solved"] = sum(r["solved"] for r in task_rows) / len(task_rows)
        result[f"{task}_steps_max"] = max(r["steps"] for r in task_rows)
        result[f"{task}_episode_s_max"] = max(r["episode_s"] for r in task_rows)
        result[f"{task}_failed"] = {r["seed"]: r["verdict"] for r in task_rows if not r["solved"]}
    result["expert_solved"] = sum(result[f"{t}_solved"] for t in TASK_NAMES) / len(TASK_NAMES)
    return result
