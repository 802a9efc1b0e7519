"""The "what you are seeing" line under each panel of the page, for a visitor who has not read the paper."""

CAMERAS = (
    "_What the arm sees: the front camera (left) looks over the arm at the whiteboard and the table; the wrist camera "
    "(right) rides on the gripper. Rings mark the points the reasoning names: where the card or toy is, and where it "
    "goes. Edit a point in the reasoning and the ring moves with it._"
)
REASONING = (
    "_The model's own words before it moves: what it read, the answer and, once it is taught to point, where things "
    "are as (x, y) in thousandths of the front image. Each reasoning shows once, with the chunks of motion it drove. "
    "Change the text, or click the front camera to move a point, and press **Act on this reasoning**: the arm "
    "follows your words and points, not the model's._"
)
ACTION_CHUNK = (
    "_One chunk of motion: the joint targets the action expert made from the reasoning (dashed) and the joints the "
    "sim measured as they ran (solid), in radians. While the gripper holds something its two lines part: the command "
    "squeezes past the point where the jaw meets the object (`python -m experiments.gripper_trace`)._"
)
ROUTING = (
    "_Inside the backbone: each reasoning token is routed to a few of the experts of every mixture-of-experts layer "
    "(brighter: more weight). ChatVLA-2 keeps reading and acting apart this way, so learning to move does not erase "
    "what the model knew._"
)
STATS = "_Where the time goes on this CPU: the first reasoning token, each chunk's reasoning and acting, the sim._"
