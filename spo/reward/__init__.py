"""Rewards: scorer backends and the scorer actor pool."""
