"""The scripted expert: a top-down pick and place from privileged state, as joint targets at the control rate.

Phases: approach above the object, descend, close, lift, carry, descend, release, retreat, home.
Each phase moves the tool centre point along a straight line at a fixed speed; every control step
solves the IK warm-started from the last solution, so the joint targets change smoothly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.so100_description import FINGER_TIP_Y, TCP_IN_GRIPPER


@dataclass(frozen=True)
class ExpertConfig:
    """Speeds, heights and gripper settings of the scripted pick and place."""

    speed: float = 0.20  # m/s of the tool centre point along a segment
    slow_speed: float = 0.08  # m/s for the last centimetres down to a grasp or a release
    hover: float = 0.06  # m above the object's top before descending
    carry_z: float = 0.085  # m, tool height while carrying
    tip_clearance: float = 0.004  # m between the finger tips and the table at the grasp
    gripper_open: float = 1.0  # rad: the jaw tip 6 cm from the fixed finger
    gripper_closed: float = -0.15  # rad, past contact so the jaw keeps squeezing
    close_s: float = 0.45
    release_s: float = 0.35
    place_drop: float = 0.006  # m the object's bottom stays above the surface at release


@dataclass(frozen=True)
class PickPlace:
    """What the expert must do, in world terms."""

    pick_xy: tuple[float, float]
    object_height: float  # m, of the object standing on the table
    grasp_yaws: tuple[float, ...]  # world yaws of closing directions that hold the object; the expert picks one
    place_xy: tuple[float, float]
    place_surface_z: float = 0.0  # height of the surface the object is put on
    place_yaw: float | None = None  # closing direction at the release (default: same as seen from the arm)
    obstacles: tuple[tuple[float, float, float, float], ...] = ()  # other bodies' (xmin, ymin, xmax, ymax)


# How near (m, horizontally) the tool must hang above the object for a restarted expert to correct its aim on
# the way down instead of going back up to the hover pose first.
RESUME_XY = 0.025
RISE_XY = 0.06  # within this, a low tool's fingers can reach the object: it rises before it moves across
RESUME_TURN = 0.3  # rad of wrist turn a restarted expert still makes on its way down
# A tool this near the object (m, horizontally) at the grasp height with its fingers half shut is closing on it: a
# restarted expert finishes that grasp (it holds from up to 1 cm off, 8 or 9 times in 10) rather than let go halfway.
GRASP_XY = 0.01
# Gripper joint (rad) down to which fingers no longer open (under 0.8 of gripper_open) are still on their way shut and
# cannot yet touch a toy or card.
HALF_SHUT = 0.4

# Where the open fingers stand around the tool centre point, along the closing direction (m).
_JAW_REACH, _FINGER_REACH = 0.048, 0.022


def finger_clearance(pick_xy, yaw: float, obstacles) -> float:
    """Smallest distance from the open jaw's and the fixed finger's positions to any obstacle rectangle."""
    d = np.array([np.cos(yaw), np.sin(yaw)])
    points = [np.asarray(pick_xy) - d * _JAW_REACH, np.asarray(pick_xy) + d * _FINGER_REACH]
    best = np.inf
    for xmin, ymin, xmax, ymax in obstacles:
        for p in points:
            dx = max(xmin - p[0], 0.0, p[0] - xmax)
            dy = max(ymin - p[1], 0.0, p[1] - ymax)
            best = min(best, float(np.hypot(dx, dy)))
    return best


# how far the tool centre point sits above the finger tips
_TCP_ABOVE_TIPS = TCP_IN_GRIPPER[1] - FINGER_TIP_Y


def hover_height(task: PickPlace, cfg: ExpertConfig) -> float:
    """The tool's height for moving over the table: the carry height, or higher above a tall object."""
    return max(cfg.carry_z, task.object_height + cfg.hover)


def grasp_height(task: PickPlace, cfg: ExpertConfig) -> float:
    """The tool's height when the fingers close: halfway up the object, the tips clear of the table."""
    return max(cfg.tip_clearance + _TCP_ABOVE_TIPS, min(task.object_height * 0.5, task.object_height - 0.008))


def _segments(task: PickPlace, grasp_yaw: float, cfg: ExpertConfig) -> list[tuple[str, np.ndarray, float, float]]:
    """[(phase, tcp target (x, y, z, yaw), gripper target, speed or dwell s)] after the approach."""
    px, py = task.pick_xy
    grasp_z = grasp_height(task, cfg)
    above = hover_height(task, cfg)
    qx, qy = task.place_xy
    if task.place_yaw is None:  # keep the wrist roll: turn the yaw with the arm's heading
        place_yaw = grasp_yaw + np.arctan2(qy, qx) - np.arctan2(py, px)
    else:
        place_yaw = task.place_yaw
    g_open, g_closed = cfg.gripper_open, cfg.gripper_closed
    return [
        ("descend", np.array([px, py, grasp_z + 0.02, grasp_yaw]), g_open, cfg.speed),
        ("descend", np.array([px, py, grasp_z, grasp_yaw]), g_open, cfg.slow_speed),
        ("close", None, g_closed, cfg.close_s),
        ("lift", np.array([px, py, above, grasp_yaw]), g_closed, cfg.slow_speed),
        *_place_segments(task, place_yaw, grasp_z, cfg),
    ]


def _place_segments(task: PickPlace, place_yaw: float, tool_above_bottom: float, cfg: ExpertConfig) -> list:
    """The segments from the carry height on: across to the place point, down until the held object's bottom hangs
    place_drop above the surface (the tool `tool_above_bottom` m above it), release, retreat."""
    qx, qy = task.place_xy
    above = hover_height(task, cfg)
    place_z = tool_above_bottom + task.place_surface_z + cfg.place_drop
    return [
        ("carry", np.array([qx, qy, above, place_yaw]), cfg.gripper_closed, cfg.speed),
        ("lower", np.array([qx, qy, place_z + 0.02, place_yaw]), cfg.gripper_closed, cfg.speed),
        ("lower", np.array([qx, qy, place_z, place_yaw]), cfg.gripper_closed, cfg.slow_speed),
        ("release", None, cfg.gripper_open, cfg.release_s),
        ("retreat", np.array([qx, qy, above, place_yaw]), cfg.gripper_open, cfg.slow_speed),
    ]


def grasp_turn(yaw: float, grasp_yaws) -> float:
    """How far (rad) a closing direction at world `yaw` is turned from the nearest of `grasp_yaws`."""
    return min(abs(_wrapped(g - yaw)) for g in grasp_yaws)


def _wrapped(angle: float) -> float:
    """`angle` (rad) wrapped to (-pi, pi]."""
    return float(np.angle(np.exp(1j * angle)))


class ScriptedExpert:
    """Emits one (6,) joint-target action per control step until the pick and place is done."""

    def __init__(self, arm, task: PickPlace, control_hz: int, q_start, config: ExpertConfig | None = None):
        self.arm, self.task, self.dt = arm, task, 1.0 / control_hz
        self.config = config or ExpertConfig()
        self.q = np.asarray(q_start, float).copy()
        self.gripper = float(self.q[5])
        self.index, self.elapsed = 0, 0.0
        self.home = np.asarray(arm.config.home, float)
        # The approach is a joint-space move to a hover pose above the object, solved once from seeds;
        # of the closing directions that hold the object, take one whose open fingers clear the other
        # bodies, and among those the one that turns the wrist least.
        above = hover_height(task, self.config)
        best = None
        for yaw in task.grasp_yaws:
            q5, residual = arm.ik_top_down((*task.pick_xy, above), yaw, self.q[:5], multistart=True)
            crowding = max(0.0, 0.012 - finger_clearance(task.pick_xy, yaw, task.obstacles))
            score = residual * 100 + crowding * 1000 + abs(q5[4])
            if best is None or score < best[0]:
                best = (score, yaw, q5, residual)
        _, self.grasp_yaw, q5, self.max_ik_residual = best
        self.segments = _segments(task, self.grasp_yaw, self.config)
        self.tcp = np.array([*task.pick_xy, above, self.grasp_yaw])
        self.hover_q = np.concatenate([q5, [self.config.gripper_open]])
        self.approached = False
        self.phase = "approach"

    def restart_here(self) -> str:
        """Plan from where the tool is now, for an expert started in the middle of someone else's attempt:
        - "descend": the tool hangs below the hover height within RESUME_XY of the object, fingers open, turned less
          than RESUME_TURN from a grasp direction: it corrects its aim on the way down, where going back up first
          would teach a policy to flinch from a good grasp pose;
        - "rise": it hangs low within RISE_XY of the object otherwise: straight up with the fingers as they are,
          then across at the hover height while opening and turning, then the usual descent (opening or turning
          down there sweeps the fingers into the object, and the joint-space approach can drag them through it);
        - "grasp": it hangs at the grasp height within GRASP_XY of the object with its fingers half shut (HALF_SHUT): it
          shuts them, lifts straight up and carries on; a demo shows that at the same look, and a "rise" there taught
          a policy to reopen and lift off from a good grasp;
        - "approach": above the hover height or farther away (the home pose, the expert's own way out of it): the
          usual joint-space approach, nothing changed."""
        tcp, yaw = self._tool_now()
        cfg, task = self.config, self.task
        above = hover_height(task, cfg)
        off = float(np.hypot(*(tcp[:2] - np.asarray(task.pick_xy))))
        if tcp[2] > above + 0.01 or off > RISE_XY:
            return "approach"
        turns = [(_wrapped(g - yaw), g) for g in task.grasp_yaws]
        turn, grasp_yaw = min(turns, key=lambda t: abs(t[0]))
        near = off <= RESUME_XY
        opened = self.gripper >= 0.8 * cfg.gripper_open
        self.grasp_yaw, self.approached = grasp_yaw, True
        self.tcp = np.array([*tcp, grasp_yaw - turn])  # the present yaw, unwrapped next to the grasp's
        self.segments = _segments(task, grasp_yaw, cfg)
        closing = not opened and self.gripper >= HALF_SHUT and abs(tcp[2] - grasp_height(task, cfg)) <= 0.01
        if closing and off <= GRASP_XY and abs(turn) <= RESUME_TURN:  # from the close on, lifting from where it is
            _descend, _slowly, close, lift, *place = self.segments
            # straight up from here, the wrist keeping its turn while the fingers hold
            self.segments = [close, ("lift", np.array([*tcp[:2], above, self.tcp[3]]), *lift[2:]), *place]
            self.phase = "close"
            return "grasp"
        if near and opened and abs(turn) <= RESUME_TURN:
            self.phase = "descend"
            return "descend"
        self.segments[:0] = [
            ("rise", np.array([tcp[0], tcp[1], above, self.tcp[3]]), self.gripper, cfg.slow_speed),
            ("approach", np.array([*task.pick_xy, above, grasp_yaw]), cfg.gripper_open, cfg.speed),
        ]
        self.phase = "rise"
        return "rise"

    def restart_holding(self, tool_above_bottom: float) -> str:
        """Plan the rest from a tool that holds the object off the table, for an expert started after someone else's
        grasp: straight up (or down) to the carry height with the fingers shut, across to the place point, down,
        release, retreat, home. `tool_above_bottom` (m): the tool centre point's height above the held object's
        bottom, as that grasp left it, so the object is set down on the surface wherever the fingers hold it.
        Returns "carry"."""
        tcp, yaw = self._tool_now()
        cfg, task = self.config, self.task
        if task.place_yaw is None:  # keep the wrist roll as held: turn the yaw with the arm's heading
            qx, qy = task.place_xy
            place_yaw = yaw + _wrapped(np.arctan2(qy, qx) - np.arctan2(tcp[1], tcp[0]))
        else:  # the nearest turn to the task's yaw
            place_yaw = yaw + _wrapped(task.place_yaw - yaw)
        self.approached, self.grasp_yaw, self.gripper = True, yaw, cfg.gripper_closed
        self.tcp = np.array([*tcp, yaw])
        segments = _place_segments(task, place_yaw, tool_above_bottom, cfg)
        above = hover_height(task, cfg)
        if np.hypot(*(tcp[:2] - np.asarray(task.place_xy))) <= RESUME_XY:  # over the place point: on down from here
            segments = segments[1:]
            if tcp[2] <= segments[0][1][2] + 1e-3:  # already below the fast part of the way down
                segments = segments[1:]
        elif tcp[2] < above - 0.005:  # low and away: straight up first, not dragged across the table
            segments.insert(0, ("lift", np.array([tcp[0], tcp[1], above, yaw]), cfg.gripper_closed, cfg.slow_speed))
        self.segments = segments
        self.phase = segments[0][0]
        return "carry"

    def _tool_now(self) -> tuple[np.ndarray, float]:
        """The tool centre point (x, y, z) in the world and its closing direction's world yaw at the present joints."""
        return self.arm.fk_world(self.q), self.arm.closing_yaw_world(self.q)

    @property
    def done(self) -> bool:
        """True once every phase, the return home included, has finished."""
        return self.index > len(self.segments)

    def _joint_move(self, goal: np.ndarray) -> bool:
        """Step the joint targets toward goal at half the speed cap; True once there."""
        step = self.arm.config.max_joint_speed * 0.5 * self.dt
        self.q = self.q + np.clip(goal - self.q, -step, step)
        return bool(np.max(np.abs(goal - self.q)) < 1e-3)

    def act(self) -> np.ndarray:
        """The next action: six joint targets in radians, shape (6,)."""
        if not self.approached:
            self.approached = self._joint_move(self.hover_q)
            self.gripper = float(self.q[5])
            return self.q.copy()
        if self.index >= len(self.segments):
            self.phase = "home"
            if self._joint_move(self.home):
                self.index += 1
            return self.q.copy()
        phase, target, gripper, rate = self.segments[self.index]
        self.phase = phase
        self.gripper = gripper if target is None else self.gripper + np.clip(gripper - self.gripper, -0.25, 0.25)
        if target is None:  # dwell: hold the pose while the gripper moves
            self.elapsed += self.dt
            if self.elapsed >= rate:
                self.index, self.elapsed = self.index + 1, 0.0
        else:
            delta = target - self.tcp
            dist = float(np.linalg.norm(delta[:3]))
            step = rate * self.dt
            if dist <= step:
                self.tcp = target.copy()
                if abs(self.gripper - gripper) < 1e-6:
                    self.index += 1
            else:
                frac = step / dist
                self.tcp = self.tcp + delta * frac
            q5, residual = self.arm.ik_top_down(self.tcp[:3], float(self.tcp[3]), self.q[:5])
            self.max_ik_residual = max(self.max_ik_residual, residual)
            self.q[:5] = q5
        self.q[5] = self.gripper
        return self.q.copy()
