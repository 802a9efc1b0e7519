"""`chatvla2-lite eval`: run a policy closed loop in the sim and score its reasoning and its actions.

Per episode the policy reasons once on the first observation (as ChatVLA-2 does), then acts chunk
after chunk on fresh observations with that reasoning, until the sim's success check holds or the
step budget is spent. Scores:
- math_matching: ocr_acc (the reasoning reads the board's equation), math_acc (its card is the
  answer), success_rate. The steps between, so a wrong pick says where it went wrong: solve_acc (the
  solution's result is the answer), arithmetic_acc (the result is what the equation it read comes to),
  consistent_acc (it picks the card of its own result); in the row world card_list_acc (it lists the
  cards as they stand) and place_acc (it says where the answer card stands among them).
  named_lift_rate: the share of episodes where the arm lifted the card the reasoning picked, right or
  wrong: whether the arm follows its own reasoning.
- toy_placement: recognition_acc (it names the object), location_acc (where the object stands),
  spatial_acc (the relation and the target), success_rate.
- --counterfactual (math_matching): the reasoning is replaced by one that names another card on the
  table; follow_rate is the share of episodes whose tray ends up holding that card, named_lift_rate
  those where the arm lifted it.
- lift_rate (both tasks): the share of episodes where the object the task moves (the answer card, the toy)
  stood at least LIFT_M above its start after some chunk; closest_approach_m: the median over episodes of the
  gripper's closest horizontal distance to it at a chunk's end. Together they say whether the arm fails at
  reaching, at grasping, or only at placing. place_miss_m: over the episodes that lifted it, the median of the
  object's final horizontal distance from where the scripted expert puts it down (None when none lifted it): how
  well the arm carries. other_lift_rate: the share of episodes where it lifted another object of the same kind (another
  card, another toy): an arm that lifts some card often and the answer card seldom grasps well but cannot tell which.
- --true-reasoning: the reasoning is the ground truth's (what the demos were recorded with), so success_rate
  measures the action expert alone: how often the arm does what a right reasoning says.
"""

from __future__ import annotations

import time

import numpy as np
from tqdm.auto import tqdm

import sim
from chatvla2_lite.data.reasoning_targets import (
    canonical_equation,
    cards_left_to_right,
    parse_math_parts,
    parse_toy_location,
    parse_toy_reasoning,
    pick_sentences,
    reasoning_target,
    table_location,
)
from chatvla2_lite.rollout import Acted, Ended, EnvRobot, Played, PolicyActor, rollout
from sim.scripted import same_kind
from sim.tasks.math_matching import card_in_tray
from sim.tasks.math_problems import solve

LIFT_M = 0.03  # above its resting height: held off the table, not tipped or pushed


def counterfactual_reasoning(info: dict, rng: np.random.Generator) -> tuple[str, int]:
    """A math reasoning naming another card present on the table; (text, that card)."""
    others = [d for d in info["candidates"] if d != info["answer"]]
    card = int(others[int(rng.integers(len(others)))])
    return f"The board says {info['equation']}. {pick_sentences(info, card)}", card


def run_episode(policy, env, seed: int, reasoning=None, max_steps: int = 450) -> dict:
    """One closed-loop episode (chatvla2_lite.rollout, the policy reasoning once); the reasoning used, the final
    info, the step count, and what the arm did: lifted the object or another of its kind, how close it came, how far
    from its place the object ended. `reasoning`: None (the policy reasons), a text to act on, or a function of the
    episode's reset info (its ground truth included) giving one."""
    obs, info = env.reset(seed=seed)
    start_info = dict(info)  # the scene as it was laid out: where each object stood, before anything moved
    policy.reset()
    if callable(reasoning):
        reasoning = reasoning(info)
    pick = env.episode.pick  # what the task asks the arm to move: the answer card, or the toy
    body = env.scene.bodies[pick]
    place = np.asarray(env.task.expert_plan(env.scene, env.episode).place_xy)  # before anything is pushed
    # resting heights of the object and the others of its kind ("card_7" and the other cards), by name
    names = {b: name for name, b in env.scene.bodies.items()}
    rest = {names[b]: env.scene.pose(b)[0][2] for b in [body, *same_kind(env.scene.bodies, pick)]}
    actor = PolicyActor(policy, "once", reasoning=reasoning, seed=seed)
    raised, closest, plays = set(), float("inf"), 0
    for event in rollout(actor, EnvRobot(env), obs, max_steps):
        if isinstance(event, Acted):
            plays = max(plays, len(event.actions))
        elif isinstance(event, Played):
            raised |= {n for n, z in rest.items() if env.scene.pose(env.scene.bodies[n])[0][2] > z + LIFT_M}
            position = env.scene.pose(body)[0]
            closest = min(closest, float(np.linalg.norm(env.scene.arm.tcp_world()[:2] - position[:2])))
        elif isinstance(event, Ended):
            steps, info = event.steps, event.info or info
    place_off = float(np.linalg.norm(env.scene.pose(body)[0][:2] - place))
    return {
        "reasoning": actor.text,
        "info": info,
        "steps": steps,
        "start_info": start_info,
        "lifted": pick in raised,
        "lifted_other": bool(raised - {pick}),
        "lifted_names": sorted(raised),
        "closest_m": closest,
        "place_off_m": place_off,
        "action_steps": plays,
    }


def play_scene(policy, env, observation: dict, reasoning=None, max_steps: int = 450, seed: int = 0) -> dict:
    """The closed loop (chatvla2_lite.rollout) from the scene as it stands, one a caller built or edited (a typed
    equation, a typed instruction): the reasoning followed (None: the policy reasons once; or a text to act on), each
    chunk's (H, 6) actions, the observation after each chunk, the final info and the step count."""
    policy.reset()
    actor = PolicyActor(policy, "once", reasoning=reasoning, seed=seed)
    chunks, observations, info, steps = [], [], {}, 0
    for event in rollout(actor, EnvRobot(env), observation, max_steps):
        if isinstance(event, Acted):
            chunks.append(event.actions)
        elif isinstance(event, Played):
            observations.append(event.observation)
        elif isinstance(event, Ended):
            steps, info = event.steps, event.info
    return {"reasoning": actor.text, "chunks": chunks, "observations": observations, "info": info, "steps": steps}


def score_math(reasoning: str, truth: dict) -> dict:
    """Whether a math reasoning read the board right and picked the answer, and each step between (truth: the
    episode's reset info): solve (its result is the answer), arithmetic (its result is what the board it read
    gives, read right or not), consistent (it picks the card of its own result); in the row world also card_list
    (it lists the cards as they stand) and place (it says where the answer card stands among them)."""
    parts = parse_math_parts(reasoning)
    answer = int(truth["answer"])
    read = _value(parts["equation"])
    scores = {
        "ocr": parts["equation"] == canonical_equation(truth["equation"]),
        "math": parts["card"] == answer,
        "solve": parts["result"] == answer,
        "arithmetic": read is not None and parts["result"] == read,
        "consistent": parts["card"] is not None and parts["card"] == parts["result"],
    }
    if truth.get("card_layout") == "row":
        order = cards_left_to_right(truth)
        scores["card_list"] = parts["cards"] == order
        scores["place"] = parts["place"] == order.index(answer)
    return scores


def _value(equation: str | None) -> int | None:
    """What an equation a reasoning read comes to, or None where it is no problem the sim can pose."""
    try:
        return solve(equation) if equation else None
    except ValueError:
        return None


def score_toy(reasoning: str, truth: dict) -> dict:
    """Whether a toy reasoning named the object, where it stands (location), and the relation and target the
    instruction asked for."""
    obj, relation, target = parse_toy_reasoning(reasoning)
    return {
        "recognition": obj == truth["object"].lower(),
        "location": parse_toy_location(reasoning) == table_location(truth["positions"]["toy_0"]),
        "spatial": relation == truth["relation"] and target == str(truth["target"]).lower(),
    }


def evaluate(
    policy,
    task: str,
    split: str = "heldout",
    episodes: int = 100,
    seed: int = 10_000,
    counterfactual: bool = False,
    max_steps: int = 450,
    progress: bool = True,
    true_reasoning: bool = False,
) -> dict:
    """The task's scores over `episodes` seeded episodes (seeds from `seed`), as one flat dict; `solved_seeds` names
    the episodes that succeeded (and, with `counterfactual`, `followed_seeds` those that followed). With
    `true_reasoning` the policy acts on the ground truth's reasoning and only success_rate is scored."""
    if counterfactual and task != "math_matching":
        raise ValueError("--counterfactual replaces the card a math reasoning names; use --task math_matching")
    if counterfactual and true_reasoning:
        raise ValueError("--counterfactual and --true-reasoning each replace the reasoning: pick one")
    env = sim.make_env(task, split, cameras=tuple(policy.processor.camera_names), world=policy.processor.world)
    rng = np.random.default_rng(seed)
    rows, started = [], time.perf_counter()
    try:
        for s in tqdm(range(seed, seed + episodes), desc=f"eval {task}", disable=not progress):
            named = []

            def rewrite(truth, named=named):  # the false reasoning needs the episode's cards, known once it is built
                text, card = counterfactual_reasoning(truth, rng)
                named.append(card)
                return text

            given = rewrite if counterfactual else reasoning_target if true_reasoning else None
            out = run_episode(policy, env, s, given, max_steps)
            truth = out["start_info"]
            row = {
                "seed": s,
                "success": bool(out["info"]["is_success"]),
                **{k: out[k] for k in ("lifted", "lifted_other", "closest_m", "place_off_m", "action_steps")},
            }
            if counterfactual:
                row["followed"] = card_in_tray(env.scene, named[0]) and not card_in_tray(
                    env.scene, int(truth["answer"])
                )
            elif not true_reasoning:  # with the true reasoning only the arm is scored
                scores = score_math if task == "math_matching" else score_toy
                row["scores"] = scores(out["reasoning"], truth)
                named = [parse_math_parts(out["reasoning"])["card"]] if task == "math_matching" else []
            if named:  # the card the reasoning picked, right or wrong: did the arm go for it?
                row["named_lifted"] = f"card_{named[0]}" in out["lifted_names"]
            rows.append(row)
    finally:
        env.close()
    result = {
        "task": task,
        "split": split,
        "episodes": episodes,
        "seed": seed,
        "world": env.world.to_dict(),
        "action_steps": max((r["action_steps"] for r in rows), default=0),  # actions played a chunk
        "seconds_per_episode": round((time.perf_counter() - started) / max(1, episodes), 2),
    }
    if any("named_lifted" in r for r in rows):
        result["named_lift_rate"] = float(np.mean([r.get("named_lifted", False) for r in rows]))
    if counterfactual:
        result["follow_rate"] = float(np.mean([r["followed"] for r in rows]))
        result["followed_seeds"] = [r["seed"] for r in rows if r["followed"]]
        return result
    if true_reasoning:
        result["reasoning"] = "true"
    for key in rows[0].get("scores", {}) if rows else ():  # the reasoning's parts: ocr_acc, math_acc, ...
        result[f"{key}_acc"] = float(np.mean([r["scores"][key] for r in rows]))
    result["success_rate"] = float(np.mean([r["success"] for r in rows]))
    result["lift_rate"] = float(np.mean([r["lifted"] for r in rows]))
    result["other_lift_rate"] = float(np.mean([r["lifted_other"] for r in rows]))
    result["closest_approach_m"] = round(float(np.median([r["closest_m"] for r in rows])), 4)
    carried = [r["place_off_m"] for r in rows if r["lifted"]]
    result["place_miss_m"] = round(float(np.median(carried)), 4) if carried else None
    result["solved_seeds"] = [r["seed"] for r in rows if r["success"]]
    return result
