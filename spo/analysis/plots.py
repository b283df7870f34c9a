"""Matplotlib helpers: a headless backend and atomic PNG writes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from spo.io import atomic_file  # noqa: E402


def new_figure(width: float = 7.0, height: float = 5.0):
    """A figure with one axes and a light grid."""
    fig, ax = plt.subplots(figsize=(width, height), dpi=110)
    ax.grid(alpha=0.3)
    return fig, ax


def save_figure(fig, path) -> None:
    """Write ``fig`` as PNG atomically and close it."""
    fig.tight_layout()
    with atomic_file(path) as fh:
        fig.savefig(fh, format="png")
    plt.close(fig)
