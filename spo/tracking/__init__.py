"""Metric trackers (``tracking.backends``), one per file, named in :data:`spo.plugins.TRACKERS`."""
