"""Diagnostics: one module per question about the model, run as `python -m experiments.NAME ... --json`.

Each module's docstring says its question; experiments/README.md lists every module with its question, command,
result and the decision it led to. Nothing in the product (chatvla2_lite, playground) imports from here.
"""
