"""Generic ranks: Hessian ranks for generic weights, data and targets, proven by bounds that meet.

``generic_rank(arch, quantity)`` bounds the rank over the field of rational functions in every
weight, input and target from below (a rank modulo p at a random point) and from above (explicit
null vectors proven in a polynomial ring); ``prove_generic(arch)`` does it for every quantity and
compares the results with the registered statements. See :mod:`exacthess.generic.rank`,
:mod:`exacthess.generic.prover`, :mod:`exacthess.generic.nullvectors` and
:mod:`exacthess.generic.lemma` for the mathematics.
"""

from .compare import GenericProof, StatementCheck, prove_generic
from .rank import GenericRank, generic_rank

__all__ = ["generic_rank", "GenericRank", "prove_generic", "GenericProof", "StatementCheck"]
