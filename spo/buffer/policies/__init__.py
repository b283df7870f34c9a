"""Prompt selection policies (``selection.prompts``), one per file, named in :data:`spo.plugins.PROMPT_POLICIES`.

Each is ``policy(prompts, cfg, scorer, ctx) -> (keep mask, reasons)`` over a prompts table; flags:
``uses_fraction`` (reads ``selection.fraction``), ``fraction_dropped`` (the fraction is the share
dropped, so 0 is allowed), ``matchable`` (keeps a fixed count, which ``random`` can match).
"""
