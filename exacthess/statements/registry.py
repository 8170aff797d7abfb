"""The registry of statements exacthess checks.

A :class:`Statement` is data: an id, the quantity it speaks about, its kind, its condition,
its citation and a function that computes the predicted value from the exact context of one
network (:class:`Context`). A statement found false is a result to report, never an exception.

Kinds:
    ``exact (generic)``: claimed equality for generic parameters (a published theorem);
    ``proven upper bound``; ``claimed equality`` (equality stated with a condition in the
    source but not proven there); ``derived`` (exacthess's own reading of a source);
    ``conjecture`` (empirical fits, not from a paper: reported, but a refutation does not make
    a report fail).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..core.errors import UnknownStatementError

__all__ = ["Statement", "Context", "REGISTRY", "register", "get_statement", "statements_for"]


@dataclass
class Context:
    """Exact quantities a statement may use.

    Attributes:
        arch: the architecture; ``family`` is ``"fcn"`` or ``"cnn"``.
        d: input dimension d_0 (flattened, times input channels); K: outputs; L: hidden layers.
        widths: flattened hidden sizes (m_l for FCNs, m_l d_l for CNNs).
        channels, kernels, spatial: CNN filters m_l, kernel sizes k_l (taps) and spatial sizes d_l.
        r: rank of Sigma_xx = sum_i x_i x_i^T (no bias column).
        s: rank of Omega = sum_i delta_i x_i^T (no bias column).
        p: number of parameters. ranks: exact ranks computed so far (ints).
        bias: whether the network has biases.
        rank_products: ranks of T^{(2:L+1)} and T^{(L:1)} (CNN theorem 1), when computed.
    """

    arch: object
    family: str
    d: int
    K: int
    L: int
    widths: tuple
    r: int
    s: int
    p: int
    bias: bool
    channels: tuple = ()
    kernels: tuple = ()
    spatial: tuple = ()
    ranks: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Statement:
    """One checkable statement about a Hessian rank.

    Attributes:
        id: e.g. ``"singh2021.H_o"``.
        quantity: the key of ``Report.ranks`` it is about (``"H_o"``, ``"H_f[:,2]"`` ...);
            ``{l}`` in it is expanded per layer by ``layers``.
        kind: see the module docstring.
        relation: ``"=="`` or ``"<="``.
        formula: the formula as text.
        condition: when the statement is claimed to hold.
        citation: source (paper and reference file).
        predict: ``Context -> int`` (or ``Context, l -> int`` when ``layers`` is set).
        applies: ``Context -> str | None``: None when the condition holds, else why not.
        layers: ``Context -> iterable of l`` for per-block-column statements.
    """

    id: str
    quantity: str
    kind: str
    relation: str
    formula: str
    condition: str
    citation: str
    predict: Callable
    applies: Callable = lambda ctx: None
    family: tuple = ("fcn",)
    layers: Callable | None = None

    @property
    def binding(self) -> bool:
        """Whether a violation makes a report fail (conjectures do not)."""
        return self.kind != "conjecture"


REGISTRY: dict[str, Statement] = {}


def register(stmt: Statement) -> Statement:
    if stmt.id in REGISTRY:
        raise ValueError(f"statement id {stmt.id!r} registered twice")
    REGISTRY[stmt.id] = stmt
    return stmt


def get_statement(statement_id: str) -> Statement:
    """Look up a statement; unknown ids raise :class:`UnknownStatementError` listing the known ones."""
    from . import load_all
    load_all()
    try:
        return REGISTRY[statement_id]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise UnknownStatementError(
            f"statement id {statement_id!r} is not known; expected one of: {known}") from None


def statements_for(family: str) -> list[Statement]:
    from . import load_all
    load_all()
    return [s for s in REGISTRY.values() if family in s.family]
