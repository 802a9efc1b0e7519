"""Staged training (ChatVLA-2's recipe and the naive baseline): recipes, sample streams, the trainer."""
