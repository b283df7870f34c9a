"""The difficulty-aware replay buffer: pure Arrow functions and a thin actor."""
