"""The robot's conventions, defined once for the whole project: LeRobot's SO-100 joint names and observation keys,
the cameras, the tasks and the splits. Pure data: the model imports these and nothing else of the simulator."""

JOINT_NAMES = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper")
CAMERA_NAMES = ("front", "wrist")  # front: the board and the table from behind the arm; wrist: on the gripper
TASK_NAMES = ("math_matching", "toy_placement")
SPLIT_NAMES = ("train", "heldout")

IMAGE_KEY = "observation.images."  # + camera name: uint8 (H, W, 3)
STATE_KEY = "observation.state"  # (6,) joint positions in radians, JOINT_NAMES order
TASK_KEY = "task"  # the instruction text
ACTION_KEY = "action"  # (6,) joint targets in radians, or (H, 6) a chunk of them


def image_key(camera: str) -> str:
    """The observation key of `camera`'s image: "front" -> "observation.images.front"."""
    return IMAGE_KEY + camera
