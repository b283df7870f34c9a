"""``max_mean``: max - mean."""


def max_mean(difficulty, reward_std, reward_max, reward_min, n):
    return reward_max - difficulty
