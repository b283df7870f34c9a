"""Informativeness signals (``selection.signal``), one per file, named in :data:`spo.plugins.SIGNALS`.

Each maps a prompt's reward statistics (arrays ``difficulty`` = mean, ``reward_std``, ``reward_max``,
``reward_min``, ``n`` = samples) to one informativeness value per prompt; higher is more informative.
"""
