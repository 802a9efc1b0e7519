"""Where each image token sits: the (view, row, col) the action expert's place embeddings read."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from chatvla2_lite.model.modeling_chatvla2 import image_token_grid
from chatvla2_lite.model.processing_chatvla2 import collate


def test_every_image_token_gets_its_view_row_and_column_and_text_gets_none(nano_policy, observation_maker):
    processor, config = nano_policy.processor, nano_policy.config.vlm_config
    merge = config.vision_config.spatial_merge_size
    long = processor(observation_maker(), "Pick the card with the answer, please, and nothing else")
    short = processor(observation_maker(), "Pick it")
    batch = collate([long, short], processor.pad_token_id)  # unequal lengths: padding must not shift the places
    grid = image_token_grid(batch["input_ids"], batch["image_grid_thw"], config.image_token_id, merge)
    shapes = [(h // merge, w // merge) for _, h, w in batch["image_grid_thw"].tolist()]
    views = len(shapes) // 2
    for b in range(2):
        is_image = batch["input_ids"][b] == config.image_token_id
        assert torch.all(grid[b][~is_image] == 0)
        for v, (rows, cols) in enumerate(shapes[b * views : (b + 1) * views], start=1):
            cells = grid[b][grid[b, :, 0] == v]
            assert len(cells) == rows * cols
            # row-major, as the merged patches are laid out in the sequence
            expected = [(r, c) for r in range(1, rows + 1) for c in range(1, cols + 1)]
            assert [tuple(x) for x in cells[:, 1:].tolist()] == expected
    assert np.all(grid[..., 0].max(dim=1).values.numpy() == views)


def test_image_tokens_that_do_not_match_the_images_are_refused():
    ids = torch.tensor([[5, 9, 9, 9, 9, 5]])  # 4 image tokens, but the image has 2x2 merged cells twice over (t=2)
    with pytest.raises(ValueError, match="4 image tokens for images of \\[8\\] merged cells"):
        image_token_grid(ids, torch.tensor([[2, 4, 4]]), image_token_id=9, merge=2)
