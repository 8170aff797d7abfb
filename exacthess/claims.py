"""The source documents' claims, settled exactly (the discussion thread and the slides).

One function per claim, each returning a :class:`ClaimResult`; defined in
:mod:`exacthess.experiments.claims`, whose docstring lists them.

>>> import exacthess as eh
>>> r = eh.claims.perfect_fit_cross_entropy_logits([eh.FCN(2, (2,), 2)], n_samples=3)
>>> str(r.verdict), r.statement_id, r.certified
('holds', 'thread.perfect_fit.cross_entropy_logits', True)
"""

from .experiments.claims import *  # noqa: F401,F403  (the public names, listed in __all__)
from .experiments.claims import __all__  # noqa: F401
