"""Statements about Hessian ranks, one module per source (``singh2021``, ``singh2023``, the
discussion thread ``discussion``, the approximate-chain-rule slides ``skorski2021``; bounds
exacthess proves itself in ``derived``), and the verdict rules (:mod:`.verdicts`)."""

from .registry import (REGISTRY, Context, Kind, PinnedCounterexample, Relation, Statement, get_statement,
                       known_ids, network_context, register, statements_for)

__all__ = ["REGISTRY", "Context", "Kind", "Relation", "Statement", "PinnedCounterexample", "get_statement",
           "known_ids", "network_context", "register", "statements_for", "load_all"]


def load_all() -> None:
    """Import every statement module (registration happens at import; errors propagate)."""
    from . import singh2021, singh2023, derived, discussion, skorski2021, residual, attention  # noqa: F401  (published statements first)
