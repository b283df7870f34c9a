"""Locally built model assets (no hub access)."""
