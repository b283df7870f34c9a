"""``variance``: the reward variance."""


def variance(difficulty, reward_std, reward_max, reward_min, n):
    return reward_std**2
