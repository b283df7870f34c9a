"""Difficulty predictors (``difficulty.predictor``): history, learned, or both."""
