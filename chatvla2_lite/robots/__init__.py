"""Real robots the model can drive: the SO-100 follower arm (so100/), its cameras, and the units shared with datasets.

Nothing here imports pyserial, scservo_sdk or cv2 at module level: they load when a port or a camera is opened.
"""
