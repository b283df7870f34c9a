"""Preference losses as pure functions of sequence log-probs, one per file (``learner.loss``).

Every loss takes :class:`~spo.learner.losses.base.LossInputs` (summed log-probs of the chosen and
rejected responses under the policy and the reference, their token counts, and for KTO the
log-probs of mismatched prompt/response pairs) plus :class:`~spo.learner.config.LossParams`, and
returns per-pair losses and the implicit rewards used for logging. Each file's docstring gives
its formula; :func:`~spo.learner.losses.base.compute_loss` adds the optional chosen-NLL term.
"""
