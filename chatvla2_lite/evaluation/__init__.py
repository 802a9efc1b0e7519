"""Scoring a policy: closed-loop episodes in the sim (`eval`) and VQA probes of the backbone (`probe`)."""
