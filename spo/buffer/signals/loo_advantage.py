"""``loo_advantage``: the best sample's reward minus the mean of the others, ``n/(n-1) (max - mean)``."""

import numpy as np


def loo_advantage(difficulty, reward_std, reward_max, reward_min, n):
    if n is None:
        raise KeyError("selection.signal=loo_advantage: the prompts table has no n_samples column")
    return np.where(n > 1, n / np.maximum(n - 1, 1) * (reward_max - difficulty), 0.0)
