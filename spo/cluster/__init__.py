"""The Ray cluster: per-role resources (``config``, ``resources``) and connecting to Ray (``connect``)."""
