"""``reward_gap``: max - min."""


def reward_gap(difficulty, reward_std, reward_max, reward_min, n):
    return reward_max - reward_min
