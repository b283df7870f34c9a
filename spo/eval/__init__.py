"""Evaluation of the policy on held-out prompts."""
