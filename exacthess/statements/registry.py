"""The registry of statements exacthess checks.

A :class:`Statement` is data: an id, the quantity it speaks about, its :class:`Kind`, its
:class:`Relation`, its condition, its citation (an entry of ``docs/references.md``), a function
that computes the predicted value from the exact context of one network (:class:`Context`), and
the counterexamples found so far (:class:`PinnedCounterexample`). A statement found false is a
result to report, never an exception; the verdict rules are in :mod:`exacthess.statements.verdicts`.

>>> Kind.CONJECTURE.value, str(Relation.LE), Kind.EXACT_GENERIC.binding
('conjecture', '<=', True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Callable

from ..core.errors import InvalidTypeError, UnknownStatementError, describe
from ..models.architectures import CNN

__all__ = ["ALL", "Kind", "Relation", "Statement", "Context", "network_context", "PinnedCounterexample", "REGISTRY",
           "register", "get_statement", "statements_for", "known_ids"]


class Kind(str, Enum):
    """What kind of claim a statement is; decides whether a false one is ``VIOLATED`` or ``refuted``.

    * ``exact (generic)``: a published equality for generic parameters (a theorem);
    * ``proven upper bound``: a published, proven bound;
    * ``claimed equality``: an equality stated with a condition in the source but not proven there;
    * ``derived``: exacthess's own reading of a source, labelled as such;
    * ``conjecture``: an empirical fit, not from a paper.

    The first three are *binding*: when false the verdict is ``VIOLATED`` (a published or proven
    statement is false); the last two are ``refuted``.
    """

    EXACT_GENERIC = "exact (generic)"
    PROVEN_BOUND = "proven upper bound"
    CLAIMED_EQUALITY = "claimed equality"
    DERIVED = "derived"
    CONJECTURE = "conjecture"

    def __str__(self) -> str:
        return self.value

    @property
    def binding(self) -> bool:
        """Published or proven: a false instance is ``VIOLATED`` (else ``refuted``)."""
        return self in (Kind.EXACT_GENERIC, Kind.PROVEN_BOUND, Kind.CLAIMED_EQUALITY)


class Relation(str, Enum):
    """How the rank compares with the prediction: ``==`` or ``<=``."""

    EQ = "=="
    LE = "<="

    def __str__(self) -> str:
        return self.value


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
        p: number of parameters. ranks: exact ranks computed so far (ints; a statement whose
            prediction uses them is evaluated at their lower and at their upper bounds).
        bias: whether the network has biases.
        extra: further exact quantities: ``rank_T_2_L1`` and ``rank_T_L_1`` (ranks of
            T^{(2:L+1)} and T^{(L:1)}), ``weights_per_layer``, ``live_widths`` (per hidden layer,
            the number of coordinates that are not identically zero: zero padding creates
            positions no input reaches).
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
    activation: str = "linear"
    loss: str = "mse"
    activation_name: str = "linear"


def network_context(arch, *, r: int, s: int, r_aug: int | None = None, ranks: dict | None = None,
                    loss: str = "mse", extra: dict | None = None) -> Context:
    """The statements' :class:`Context` of one network: the one constructor.

    Everything the architecture determines is read from ``arch`` here (family, ``d``, ``K``,
    ``L``, widths, ``p``, activation, live widths, and for CNNs channels, kernel taps, spatial
    sizes and weights per layer); the numbers of the data are given: ``r = rank Sigma_xx``,
    ``s = rank Omega`` and ``r_aug`` (the rank of the data with a column of ones; ``r`` when
    omitted), certified at a point by :func:`exacthess.verify` or their generic values
    ``min(n, d)``, ``min(r, K)`` in :func:`exacthess.generic.prove_generic`. ``ranks`` are the
    exact ranks computed so far, ``extra`` further exact quantities (``rank_T_2_L1`` ...).
    """
    cnn = isinstance(arch, CNN)
    ctx = Context(arch=arch, family="cnn" if cnn else "fcn", d=arch.input_dim, K=arch.output_dim, L=arch.depth,
                  widths=arch.hidden_sizes, r=r, s=s, p=arch.n_params, bias=arch.bias, ranks=dict(ranks or {}),
                  activation=arch.activation.kind, activation_name=arch.activation.name, loss=loss)
    ctx.extra["live_widths"] = arch.live_hidden_sizes
    ctx.extra["r_aug"] = r if r_aug is None else r_aug
    if cnn:
        ctx.channels = arch.channels
        ctx.spatial = arch.spatial_sizes
        ctx.kernels = tuple(l.kernel[0] * l.kernel[1] for l in arch.layers[:-1])
        ctx.extra["weights_per_layer"] = tuple(l.c_out * l.c_in * l.kernel[0] * l.kernel[1] for l in arch.layers)
    ctx.extra.update(extra or {})
    return ctx


@dataclass(frozen=True)
class PinnedCounterexample:
    """A minimal counterexample kept in the registry, with the exact ranks it produces.

    Attributes:
        spec: the architecture as ``arch.to_spec()``.
        n_samples, seed: the seeded point (parameters, data and targets drawn by
            :func:`exacthess.hessian.problem.make_problem` from ``seed``).
        ranks: the certified exact ranks at that point (``{"H_o": 3, ...}``).
        verdict: the verdict the statement gets there (``"VIOLATED"`` or ``"refuted"``).
        note: one line on why it fails.
    """

    spec: dict
    n_samples: int
    seed: int
    ranks: dict
    verdict: str
    note: str = ""
    point: str = "seeded"

    @property
    def command(self) -> str:
        """The ``exacthess verify ...`` command line that reproduces it."""
        from ..models.commands import verify_command
        return verify_command(self.spec, samples=self.n_samples, seed=self.seed)

    def to_dict(self) -> dict:
        return {"architecture": dict(self.spec), "n_samples": self.n_samples, "seed": self.seed,
                "point": self.point, "ranks": dict(self.ranks), "verdict": self.verdict, "note": self.note,
                "command": self.command}


@dataclass(frozen=True)
class Statement:
    """One checkable statement about a Hessian rank.

    Attributes:
        id: e.g. ``"singh2021.H_o"``.
        quantity: the key of ``Report.ranks`` it is about (``"H_o"``, ``"H_f[:,2]"`` ...);
            ``{l}`` in it is expanded per layer by ``layers``.
        kind: a :class:`Kind`.
        relation: a :class:`Relation`.
        formula: the formula as text.
        condition: when the statement is claimed to hold.
        citation: the source, as a key of ``docs/references.md`` and where in it.
        predict: ``Context -> int`` (or ``Context, l -> int`` when ``layers`` is set).
        applies: ``Context -> str | None``: None when the condition holds, else why not.
        family: the network families it speaks about.
        layers: ``Context -> iterable of l`` for per-block-column statements.
        generic: an equality about *generic* parameters and targets whose prediction depends
            only on the architecture and the data: a rank below it at one point refutes
            nothing, and is judged at random points modulo primes
            (:mod:`exacthess.statements.verdicts`).
        keep_residual_rank: with ``generic``: the claim is about generic points of the set
            ``rank Omega = s`` (the value of ``s`` at the user's point), which the random points
            then sample.
        generic_bound: an upper bound proven at every point whose prediction depends only on
            the architecture and the data: it bounds the generic rank too, and can prove a
            generic equality false.
        counterexamples: pinned :class:`PinnedCounterexample` s; non-empty means refuted.
        activations: the activation kinds it speaks about (``"linear"``, ``"piecewise"`` for
            ReLU-type, ``"poly"``); ``ALL`` for any.
        losses: the loss names it speaks about (``"mse"``, ``"cross_entropy"``, ...; ``"weighted_mse"``
            matches every weighting); ``ALL`` for any.
        needs: further quantities the statement reads besides the Hessian ranks (``"J_f"``: rank of
            the stacked output Jacobian, ``"J_p"``: of the softmax probabilities' Jacobian,
            ``"C_act"``, ``"C_within"``: ranks of the activation part and of the within-layer blocks of
            ``H_f``); computed by :mod:`exacthess.verification.point_ranks` only when asked for.
        point: ``"any"``, or ``"perfect_fit"``: the statement is about perfect fits (every output
            gradient exactly 0); ``exacthess search`` then draws perfect-fit points for it.
    """

    id: str
    quantity: str
    kind: Kind
    relation: Relation
    formula: str
    condition: str
    citation: str
    predict: Callable
    applies: Callable = lambda ctx: None
    family: tuple = ("fcn",)
    layers: Callable | None = None
    generic: bool = False
    keep_residual_rank: bool = False
    generic_bound: bool = False
    counterexamples: tuple = ()
    activations: tuple = ("linear",)
    losses: tuple = ("mse",)
    needs: tuple = ()
    point: str = "any"

    def __post_init__(self):
        object.__setattr__(self, "kind", Kind(self.kind))
        object.__setattr__(self, "relation", Relation(self.relation))

    def scope(self, ctx: Context) -> str | None:
        """None when the statement speaks about this network's activation and loss, else why not
        (:meth:`scope_of` on the context's activation and loss)."""
        return self.scope_of(ctx.activation, ctx.loss, ctx.activation_name)

    def scope_of(self, activation: str, loss: str, activation_name: str | None = None) -> str | None:
        """The scope rule: None when ``activation`` (a kind: ``"linear"``, ``"piecewise"``, ``"poly"``)
        is among :attr:`activations` and ``loss`` (a loss name; ``"weighted_mse(1, 1/2)"`` matches
        ``"weighted_mse"``) among :attr:`losses` (``ALL`` matches anything), else why not."""
        if ALL not in self.activations and activation not in self.activations:
            what = "linear networks" if self.activations == ("linear",) else f"{'/'.join(self.activations)} activations"
            return f"about {what}; this network's activation is {activation_name or activation}"
        if ALL not in self.losses and loss not in self.losses and loss.split("(")[0] not in self.losses:
            return f"about the {'/'.join(self.losses)} loss; this report uses {loss}"
        return None

    @property
    def binding(self) -> bool:
        """Whether a false instance is ``VIOLATED`` (published or proven) rather than ``refuted``."""
        return self.kind.binding

    @property
    def status(self) -> str:
        """``"refuted"`` when a counterexample is pinned, else ``"holds on every case tried"``."""
        return "refuted" if self.counterexamples else "holds on every case tried"


#: ``activations``/``losses`` value meaning "any"
ALL = "*"

REGISTRY: dict[str, Statement] = {}


def register(stmt: Statement) -> Statement:
    if stmt.id in REGISTRY:
        raise ValueError(f"statement id {stmt.id!r} registered twice")  # a programming error, at import
    REGISTRY[stmt.id] = stmt
    return stmt


def known_ids() -> list[str]:
    """Every registered statement id, sorted."""
    from . import load_all
    load_all()
    return sorted(REGISTRY)


def get_statement(statement_id: str) -> Statement:
    """Look up a statement; unknown ids raise :class:`UnknownStatementError` listing the known ones."""
    from . import load_all
    load_all()
    if not isinstance(statement_id, str):
        raise InvalidTypeError(f"statement id {describe(statement_id)} has type {type(statement_id).__name__}; "
                               "expected a str such as 'singh2021.H_o'")
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
