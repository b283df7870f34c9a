"""Rollout: engines that sample responses, and the generator actor pool."""
