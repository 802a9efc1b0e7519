"""Training data for ChatVLA-2 lite: reasoning targets, image-text VQA samples, LeRobot v3 robot demos.

Import the submodules directly (`chatvla2_lite.data.reasoning_targets`, `.image_text`,
`.lerobot_dataset`); this package imports nothing heavy on its own.
"""
