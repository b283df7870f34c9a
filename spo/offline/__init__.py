"""Offline mode: pair metrics, selection and training on existing preference datasets."""
