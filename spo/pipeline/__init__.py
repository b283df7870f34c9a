"""How the stages of successive self-play iterations overlap (``pipeline.mode``)."""
