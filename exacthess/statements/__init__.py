"""Statements about Hessian ranks, one module per source (``singh2021``, ``singh2023``)."""

from .registry import REGISTRY, Context, Statement, get_statement, register, statements_for

__all__ = ["REGISTRY", "Context", "Statement", "get_statement", "register", "statements_for", "load_all"]


def load_all() -> None:
    """Import every statement module (registration happens at import)."""
    from . import singh2021  # noqa: F401
    try:
        from . import singh2023  # noqa: F401
    except ImportError:  # pragma: no cover - added by a later issue
        pass
