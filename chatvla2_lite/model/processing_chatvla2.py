"""ChatVLA2Processor: camera images + instruction (+ reasoning) -> the backbone's chat-format tensors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from chatvla2_lite.errors import InvalidInstructionError, InvalidObservationError
from chatvla2_lite.model.configuration_chatvla2 import CAMERA_NAMES
from sim.conventions import image_key

DEFAULT_SYSTEM_PROMPT = "You control a robot arm. Read the images, reason, then act."
MIN_IMAGE_SIDE = 28  # one merged patch (14 px x 2) per side: smaller images cannot be tokenized
MAX_IMAGE_SIDE = 4096
PROCESSOR_CONFIG = "processor_config.json"
IGNORE_INDEX = -100
PATCH_FACTOR = 28  # a merged Qwen2-VL token covers 28x28 pixels: view sizes are multiples of it

# The nano model's views of the cameras. The whiteboard fills only a strip of the front camera, and
# its digits are about 10 px tall there: the board view crops that strip and enlarges it, so each
# 14-px patch sees about one character. The table view keeps the workspace (cards, toys, tray, the
# arm) at the camera's own resolution: a card's digit is about 6 px there, and shrinking the whole
# frame to 168 px, as an earlier layout did, left it a blur. The wrist view watches the grasp.
NANO_VIEWS = (
    {"name": "board", "camera": "front", "box": (0.20, 0.10, 0.80, 0.36), "size": (224, 112)},
    {"name": "table", "camera": "front", "box": (0.05, 0.38, 0.95, 1.0), "size": (224, 140)},
    {"name": "wrist", "camera": "wrist", "box": (0.0, 0.0, 1.0, 1.0), "size": (112, 112)},
)
# The same views at the front camera's own resolution in a 448-px world (sim/world.py): each box is its size's share
# of a 448-px frame, so nothing is enlarged. A digit card is 25 to 37 px wide in the table view (12 to 18 in
# NANO_VIEWS' at 224 px), the board's face 255 px wide in the board view. 147 image tokens against NANO_VIEWS' 88.
SHARP_VIEWS = (
    {"name": "board", "camera": "front", "box": (0.1875, 0.115, 0.8125, 0.365), "size": (280, 112)},
    {"name": "table", "camera": "front", "box": (0.09375, 0.45, 0.90625, 0.8875), "size": (364, 196)},
    {"name": "wrist", "camera": "wrist", "box": (0.0, 0.0, 1.0, 1.0), "size": (112, 112)},
)
VIEW_SETS = {"nano": NANO_VIEWS, "sharp": SHARP_VIEWS}  # what a fresh model sees, by name (a recipe's view_set)
# Views a model can be given on top of NANO_VIEWS (`train --add-views`). The cards view is the band where the row
# world lays its cards out (sim/world.py), at about the native resolution of a 448-px front camera: a card's digit
# is about 20 px tall there, against 6 px in the table view.
EXTRA_VIEWS = {
    "cards": {"name": "cards", "camera": "front", "box": (0.17, 0.50, 0.83, 0.83), "size": (280, 140)},
}


def check_views(views, camera_names) -> tuple[dict, ...]:
    """The views as validated dicts: a known camera, a box of fractions inside the image, a size in whole tokens."""
    out = []
    for view in views:
        view = {
            "name": str(view["name"]),
            "camera": str(view["camera"]),
            "box": tuple(float(v) for v in view["box"]),
            "size": tuple(int(v) for v in view["size"]),
        }
        x0, y0, x1, y1 = view["box"]
        if view["camera"] not in camera_names:
            raise ValueError(f"view {view['name']!r} uses camera {view['camera']!r}; cameras are {list(camera_names)}")
        if not (0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1):
            raise ValueError(f"view {view['name']!r} box {view['box']} must be fractions with x0 < x1 and y0 < y1")
        if any(v <= 0 or v % PATCH_FACTOR for v in view["size"]):
            raise ValueError(f"view {view['name']!r} size {view['size']} must be positive multiples of {PATCH_FACTOR}")
        out.append(view)
    return tuple(out)


def check_added_views(names) -> None:
    """Refuse names that are not EXTRA_VIEWS (or none at all), naming the known ones."""
    unknown = [n for n in names if n not in EXTRA_VIEWS]
    if unknown or not names:
        raise ValueError(f"no view {unknown or list(names)} to add; known: {sorted(EXTRA_VIEWS)}")


def views_image_processor(views):
    """The Qwen2-VL image processor for these views: they are already sized in whole tokens, so its pixel range
    spans exactly their areas and it never resizes one again."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    areas = [v["size"][0] * v["size"][1] for v in views]
    return Qwen2VLImageProcessorPil(min_pixels=min(areas), max_pixels=max(areas))


def crop_view(image: np.ndarray, box, size) -> np.ndarray:
    """The fractional `box` (x0, y0, x1, y1) of an image, resized to `size` (w, h); uint8 (h, w, 3)."""
    from PIL import Image

    h, w = image.shape[:2]
    x0, y0, x1, y1 = box
    pixels = (
        round(x0 * w),
        round(y0 * h),
        max(round(x1 * w), round(x0 * w) + 1),
        max(round(y1 * h), round(y0 * h) + 1),
    )
    return np.asarray(Image.fromarray(image).crop(pixels).resize(tuple(size), Image.BILINEAR))


def check_image(name: str, image) -> np.ndarray:
    """The image as uint8 (H, W, 3) numpy, or InvalidObservationError saying what to pass instead."""
    try:
        from PIL import Image

        if isinstance(image, Image.Image):
            image = np.asarray(image.convert("RGB"))
    except ImportError:  # pragma: no cover - pillow is a core dependency
        pass
    if not isinstance(image, np.ndarray):
        raise InvalidObservationError(
            f"image {name!r} is a {type(image).__name__}; pass a uint8 numpy array of shape (H, W, 3) or a PIL image"
        )
    if image.ndim != 3 or image.shape[-1] != 3:
        raise InvalidObservationError(
            f"image {name!r} has shape {image.shape}; pass an RGB image of shape (H, W, 3) (drop alpha, add color)"
        )
    if image.dtype != np.uint8:
        raise InvalidObservationError(
            f"image {name!r} has dtype {image.dtype}; pass uint8 pixels 0..255 (e.g. (img * 255).astype(np.uint8))"
        )
    h, w = image.shape[:2]
    if min(h, w) < MIN_IMAGE_SIDE or max(h, w) > MAX_IMAGE_SIDE:
        raise InvalidObservationError(
            f"image {name!r} is {h}x{w}; each side must be between {MIN_IMAGE_SIDE} and {MAX_IMAGE_SIDE} pixels"
        )
    return image


class ChatVLA2Processor:
    """Builds the Qwen2-VL chat prompt with the camera images, the instruction and optionally the reasoning."""

    def __init__(
        self,
        tokenizer,
        image_processor,
        camera_names=CAMERA_NAMES,
        system_prompt: str = DEFAULT_SYSTEM_PROMPT,  # "" for none
        max_length: int = 1024,
        views=None,
        world=None,
    ):
        """`views`: crops of the cameras the model sees (see NANO_VIEWS); None feeds each camera whole and lets the
        image processor resize it. `world`: the sim world the model is trained for (sim/world.py: its camera size and
        card layout), kept as plain data, which eval, probe and the data makers give the sim; None or {}: the
        default world."""
        self.world = dict(world or {})
        self.tokenizer = tokenizer
        self.image_processor = image_processor
        self.camera_names = tuple(camera_names)
        self.views = None if views is None else check_views(views, self.camera_names)
        self.system_prompt = system_prompt
        self.max_length = max_length
        vocab = tokenizer.get_vocab()
        self.special = {
            tok: vocab[tok]
            for tok in ("<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>")
        }
        self.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.special["<|im_end|>"]

    @classmethod
    def nano(cls, max_length: int = 1024, views=NANO_VIEWS) -> ChatVLA2Processor:
        """The nano model's processor: character tokenizer and NANO_VIEWS (board 32, table 40, wrist 16 tokens).

        `views=None` gives the plain layout instead: each camera resized to 112x112 (16 tokens).
        """
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

        from chatvla2_lite.model.tokenizer_nano import build_nano_tokenizer

        if views is None:
            side = 112
            image_processor = Qwen2VLImageProcessorPil(min_pixels=side * side, max_pixels=side * side)
        else:
            image_processor = views_image_processor(views)
        # No system turn: the nano tokenizer spells text a character a token, and the system prompt was 60% of a
        # board question's text tokens (a third of a training step) while saying the same thing every time.
        return cls(build_nano_tokenizer(), image_processor, system_prompt="", max_length=max_length, views=views)

    def with_views(self, names) -> ChatVLA2Processor:
        """A copy that feeds the backbone only the named views (in this processor's order) and needs only their
        cameras: a training stage that reads the board alone costs a third of the image tokens."""
        if self.views is None:
            raise ValueError("this processor feeds whole cameras; it has no views to choose from")
        known = [v["name"] for v in self.views]
        unknown = [n for n in names if n not in known]
        if unknown or not names:
            raise ValueError(f"unknown views {unknown or list(names)}; this processor has {known}")
        views = [v for v in self.views if v["name"] in names]
        cameras = [c for c in self.camera_names if any(v["camera"] == c for v in views)]
        return type(self)(
            self.tokenizer, self.image_processor, cameras, self.system_prompt, self.max_length, views, self.world
        )

    def with_added_views(self, names) -> ChatVLA2Processor:
        """A copy that also feeds the backbone the named EXTRA_VIEWS, after its own: the backbone reads them as more
        image tokens, so a model learns them in the next stage it trains its backbone in. A view it already has is
        kept where it is, so every stage of a recipe can name the same views."""
        if self.views is None:
            raise ValueError("this processor feeds whole cameras; views can be added only to a processor with views")
        check_added_views(names)
        have = {v["name"] for v in self.views}
        new = [EXTRA_VIEWS[n] for n in dict.fromkeys(names) if n not in have]
        views = check_views(list(self.views) + new, self.camera_names)
        return type(self)(
            self.tokenizer,
            views_image_processor(views),
            self.camera_names,
            self.system_prompt,
            self.max_length,
            views,
            self.world,
        )

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> ChatVLA2Processor:
        """Load tokenizer.json, preprocessor_config.json and processor_config.json (if any) from a local folder."""
        from transformers import PreTrainedTokenizerFast
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

        directory = Path(directory)
        tokenizer = PreTrainedTokenizerFast.from_pretrained(directory)
        image_processor = Qwen2VLImageProcessorPil.from_pretrained(directory)
        settings = {}
        if (directory / PROCESSOR_CONFIG).is_file():
            settings = json.loads((directory / PROCESSOR_CONFIG).read_text())
        known = ("camera_names", "system_prompt", "max_length", "views", "world")
        settings = {k: v for k, v in settings.items() if k in known}
        return cls(tokenizer, image_processor, **settings)

    def save_pretrained(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.tokenizer.save_pretrained(directory)
        self.image_processor.save_pretrained(directory)
        settings = {
            "processor_class": type(self).__name__,
            "camera_names": list(self.camera_names),
            "system_prompt": self.system_prompt,
            "max_length": self.max_length,
            "views": None
            if self.views is None
            else [dict(v, box=list(v["box"]), size=list(v["size"])) for v in self.views],
            "world": self.world,
        }
        (directory / PROCESSOR_CONFIG).write_text(json.dumps(settings, indent=2) + "\n")

    def clean_instruction(self, instruction) -> str:
        """The instruction stripped of whitespace and special tokens; empty or non-text is an error."""
        if not isinstance(instruction, str):
            raise InvalidInstructionError(f"the instruction is a {type(instruction).__name__}; pass a str")
        for token in self.special:
            instruction = instruction.replace(token, "")
        instruction = instruction.strip()
        if not instruction:
            raise InvalidInstructionError("the instruction is empty; say what the robot should do, e.g. 'pick the 7'")
        return instruction

    def images_from(self, observation: dict) -> list[np.ndarray]:
        """The camera images in `camera_names` order, checked."""
        if not isinstance(observation, dict):
            raise InvalidObservationError(f"the observation is a {type(observation).__name__}; pass a dict")
        images = []
        for cam in self.camera_names:
            key = image_key(cam)
            if key not in observation:
                raise InvalidObservationError(f"the observation has no {key!r}; keys are {sorted(observation)}")
            images.append(check_image(key, observation[key]))
        return images

    def model_images(self, observation: dict) -> list[np.ndarray]:
        """What the backbone sees: the views cut from the checked camera images (or the cameras themselves)."""
        images = self.images_from(observation)
        if self.views is None:
            return images
        by_camera = dict(zip(self.camera_names, images))
        return [crop_view(by_camera[v["camera"]], v["box"], v["size"]) for v in self.views]

    def __call__(
        self, observation: dict, instruction: str, reasoning: str | None = None, reserve_tokens: int = 0
    ) -> dict[str, torch.Tensor]:
        """Tensors for one sample (batch of 1); `reserve_tokens` keeps room in the context for generation.

        With `reasoning`, the assistant's turn holds it: `reasoning_mask` marks its tokens and `labels` holds the
        language-model targets (the reasoning and the closing <|im_end|>, -100 elsewhere).
        """
        instruction = self.clean_instruction(instruction)
        images = self.model_images(observation)
        vision = self.image_processor(images=images, return_tensors="pt")
        grid = vision["image_grid_thw"]  # (num_images, 3)
        merge = self.image_processor.merge_size**2
        tok = self.special
        ids: list[int] = []
        types: list[int] = []  # 1 on image tokens: M-RoPE needs them (mm_token_type_ids)

        def text(s: str) -> None:
            new = self.tokenizer(s, add_special_tokens=False)["input_ids"]
            ids.extend(new)
            types.extend([0] * len(new))

        if self.system_prompt:
            text(f"<|im_start|>system\n{self.system_prompt}<|im_end|>\n")
        text("<|im_start|>user\n")
        for thw in grid:
            n = int(thw.prod()) // merge
            ids.extend([tok["<|vision_start|>"]] + [tok["<|image_pad|>"]] * n + [tok["<|vision_end|>"]])
            types.extend([0] + [1] * n + [0])
        instruction_start = len(ids)
        text(instruction)
        instruction_tokens = len(ids) - instruction_start
        text("<|im_end|>\n<|im_start|>assistant\n")
        prompt_len = len(ids)
        if reasoning is not None:
            text(reasoning.strip())
            ids.append(tok["<|im_end|>"])
            types.append(0)
        if len(ids) + reserve_tokens > self.max_length:
            room = self.max_length - reserve_tokens - (len(ids) - instruction_tokens)
            raise InvalidInstructionError(
                f"the prompt needs {len(ids)} tokens plus {reserve_tokens} for the reasoning, more than the model's "
                f"context of {self.max_length}; shorten the instruction to at most {max(room, 0)} tokens"
            )
        input_ids = torch.tensor([ids])
        prompt_mask = torch.zeros_like(input_ids, dtype=torch.bool)
        prompt_mask[0, :prompt_len] = True
        reasoning_mask = torch.zeros_like(input_ids, dtype=torch.bool)
        labels = torch.full_like(input_ids, IGNORE_INDEX)
        if reasoning is not None:
            reasoning_mask[0, prompt_len:-1] = True
            labels[0, prompt_len:] = input_ids[0, prompt_len:]
        return {
            "input_ids": input_ids,  # (1, T)
            "attention_mask": torch.ones_like(input_ids),
            "mm_token_type_ids": torch.tensor([types]),
            "pixel_values": vision["pixel_values"],  # (num_patches, C * t * p * p)
            "image_grid_thw": grid,
            "prompt_mask": prompt_mask,  # (1, T) True on the prompt (system, images, instruction)
            "reasoning_mask": reasoning_mask,  # (1, T) True on reasoning tokens
            "labels": labels,
        }

    def decode(self, ids) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)


def collate(samples: list[dict[str, torch.Tensor]], pad_token_id: int) -> dict[str, torch.Tensor]:
    """Right-pad a list of single-sample encodings into one batch (images concatenated in order)."""
    length = max(s["input_ids"].shape[1] for s in samples)
    fill = {
        "input_ids": pad_token_id,
        "attention_mask": 0,
        "mm_token_type_ids": 0,
        "prompt_mask": False,
        "reasoning_mask": False,
        "labels": IGNORE_INDEX,
    }
    batch = {}
    for key, value in fill.items():
        rows = [torch.nn.functional.pad(s[key][0], (0, length - s[key].shape[1]), value=value) for s in samples]
        batch[key] = torch.stack(rows)
    batch["pixel_values"] = torch.cat([s["pixel_values"] for s in samples])
    batch["image_grid_thw"] = torch.cat([s["image_grid_thw"] for s in samples])
    return batch
