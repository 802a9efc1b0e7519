"""Where does a failed episode go wrong: reaching, closing, grasping or carrying?

    python -m experiments.act_failures --task math_matching|toy_placement [--episodes 100] [--model M] --json

`eval --true-reasoning` says how often the arm succeeds, lifts and how close it comes; this says, of the failures,
at which step of the pick and place each one first went wrong, so a next design aims at that step. Each heldout
episode is played closed loop on the true reasoning, and every control step's joints (by the arm's kinematics) and
every chunk's object pose are kept. A failure is put at its first missing step:
- `reach`: the tool never hung within GRASP_XY of the object, low enough to close on it, with its fingers open;
- `close`: it did, but the fingers never shut (under HALF_SHUT) there;
- `grasp`: they shut there, and the object never rose LIFT_M;
- `carry`: it rose, and was not left in its place (`dropped` on the way: it fell back to the table farther than
  PLACE_NEAR_M from the place; `held`: still off the table at the end; else `set_down_off`).
With each, the tool's offset from the object and its closing direction's turn from the nearest grasp yaw at the
shut (or at its closest low hover), and whether the object had been pushed PUSHED_M before the fingers shut.
"""

from __future__ import annotations

import sys
from collections import Counter

import numpy as np
from tqdm.auto import tqdm

import sim
from chatvla2_lite.data.reasoning_targets import reasoning_target
from chatvla2_lite.evaluation.closed_loop import LIFT_M
from chatvla2_lite.rollout import EnvRobot, Played, PolicyActor, rollout
from experiments import common
from sim.conventions import TASK_NAMES
from sim.expert import GRASP_XY, HALF_SHUT, ExpertConfig, grasp_height, grasp_turn

LOW_M = 0.01  # above the expert's grasp height: low enough for the fingers to close on the object
PUSHED_M = 0.01  # the object moved this far (horizontally) before the fingers shut
PLACE_NEAR_M = 0.03  # where a dropped object lands this near its place it was set down, not dropped
STEPS = ("reach", "close", "grasp", "carry")


def _tool_path(arm, joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World tool positions (N, 3) and closing yaws (N,) along a joint path (N, 6)."""
    return np.stack([arm.fk_world(q) for q in joints]), np.array([arm.closing_yaw_world(q) for q in joints])


def traced_episode(policy, env, seed: int, max_steps: int = 450) -> dict:
    """One closed-loop episode on the true reasoning, with the tool's path per control step and the object's per
    chunk: {"success", "joints" (N, 6), "tool" (N, 3), "yaw" (N,), "object" [(step, xyz)], "rest", "place", "plan"}."""
    obs, info = env.reset(seed=seed)
    policy.reset()
    body = env.scene.bodies[env.episode.pick]
    plan = env.task.expert_plan(env.scene, env.episode)
    start = np.asarray(env.scene.pose(body)[0], float)
    actor = PolicyActor(policy, "once", reasoning=reasoning_target(info), seed=seed)
    joints, objects, success = [], [], False
    for event in rollout(actor, EnvRobot(env), obs, max_steps):
        if isinstance(event, Played):
            joints.extend(np.asarray(event.info["joint_path"], float))
            objects.append((event.steps, np.asarray(env.scene.pose(body)[0], float)))
            success = bool(event.info.get("is_success"))
    joints = np.asarray(joints).reshape(-1, 6)
    tool, yaw = _tool_path(env.scene.arm, joints)
    return {
        "success": success,
        "joints": joints,
        "tool": tool,
        "yaw": yaw,
        "object": objects,
        "rest": start,
        "place": np.asarray(plan.place_xy, float),
        "plan": plan,
    }


def failed_step(trace: dict) -> dict:
    """The first step of the pick and place a traced episode missed, and how the tool stood there."""
    plan, start = trace["plan"], trace["rest"]
    tool, yaw, gripper = trace["tool"], trace["yaw"], trace["joints"][:, 5]
    low = tool[:, 2] <= grasp_height(plan, ExpertConfig()) + LOW_M
    off = np.hypot(*(tool[:, :2] - start[:2]).T)  # from where the object stood: it moves only once pushed or held
    lifted = [s for s, p in trace["object"] if p[2] > start[2] + LIFT_M]
    before = min(lifted) if lifted else len(tool)
    shut = np.flatnonzero(low[:before] & (off[:before] <= GRASP_XY) & (gripper[:before] < HALF_SHUT))
    there = np.flatnonzero(low[:before] & (off[:before] <= GRASP_XY))
    at = int(shut[0]) if len(shut) else int(there[0]) if len(there) else int(np.argmin(np.where(low, off, np.inf)))
    row = {
        "off_m": round(float(off[at]), 4) if np.isfinite(off[at]) else None,
        "turn_rad": round(grasp_turn(float(yaw[at]), plan.grasp_yaws), 3),
        "pushed": any(np.hypot(*(p[:2] - start[:2])) > PUSHED_M for s, p in trace["object"] if s <= at),
    }
    if not len(there):
        return {"step": "reach", **row, "closest_low_m": row["off_m"]}
    if not len(shut):
        return {"step": "close", **row}
    if not lifted:
        return {"step": "grasp", **row}
    final = trace["object"][-1][1]
    if final[2] > start[2] + LIFT_M:
        how = "held"
    elif any(
        p[2] <= start[2] + 0.005 and np.hypot(*(p[:2] - trace["place"])) > PLACE_NEAR_M
        for s, p in trace["object"]
        if s > before
    ):
        how = "dropped"
    else:
        how = "set_down_off"
    return {"step": "carry", "how": how, **row, "place_off_m": round(float(np.hypot(*(final[:2] - trace["place"]))), 4)}


def act_failures(policy, task: str, split: str = "heldout", episodes: int = 100, seed: int = 10_000, progress=True):
    """Over `episodes` heldout episodes on the true reasoning: the success rate, the failures' count at each step,
    how the carry failures ended, and the medians of the tool's offset and turn at the step it missed."""
    env = sim.make_env(task, split, cameras=tuple(policy.processor.camera_names), world=policy.processor.world)
    rows = []
    try:
        for s in tqdm(range(seed, seed + episodes), desc=f"act failures {task}", disable=not progress):
            trace = traced_episode(policy, env, s)
            rows.append({"seed": s, "success": True} if trace["success"] else {"seed": s, **failed_step(trace)})
    finally:
        env.close()
    failed = [r for r in rows if "step" in r]

    def median(key, of):
        values = [r[key] for r in of if r.get(key) is not None]
        return round(float(np.median(values)), 4) if values else None

    return {
        "task": task,
        "split": split,
        "episodes": episodes,
        "seed": seed,
        "success_rate": round(1 - len(failed) / max(1, episodes), 3),
        "failed_at": {step: sum(r["step"] == step for r in failed) for step in STEPS},
        "carry_ended": dict(Counter(r["how"] for r in failed if r["step"] == "carry")),
        "pushed_before_shut": sum(r["pushed"] for r in failed),
        "by_step": {
            step: {"off_m": median("off_m", of), "turn_rad": median("turn_rad", of)}
            for step in STEPS
            if (of := [r for r in failed if r["step"] == step])
        },
        "failures": failed,
    }


def main(argv: list[str] | None = None) -> int:
    p = common.parser(__doc__, "act_failures")
    p.add_argument("--task", choices=TASK_NAMES, required=True, help="which sim task")
    common.episode_options(p, episodes=100, each="one closed-loop episode each")
    args = p.parse_args(argv)
    return common.run(lambda a: act_failures(common.load(a), a.task, a.split, a.episodes, seed=a.seed), args)


if __name__ == "__main__":
    sys.exit(main())
