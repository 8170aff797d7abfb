r"""``exacthess.generic_rank``: the rank of a Hessian for generic weights, data and targets.

The *generic rank* of :math:`H_o`, :math:`H_f`, :math:`H_L` or a block column
:math:`H_f[:, l]` is its rank over the field :math:`\mathbb Q(\theta, X, Y)` of rational
functions in every weight, input and target (``n`` samples): the rank at almost every point,
which is what the published formulas are about. :func:`generic_rank` returns proven bounds:

* ``lower``: the rank modulo a prime at random integer points (:mod:`~exacthess.generic.prover`);
* ``upper``: the number of columns minus the number of explicit null vectors proven in a
  polynomial ring and independent at a point (:mod:`~exacthess.generic.nullvectors`).

``proven`` is True exactly when they meet. Sizes whose polynomials would not fit are refused up
front (:class:`~exacthess.core.errors.ProblemTooLargeError`); :func:`exacthess.verify` gives
exact ranks at one point for any size.

>>> import exacthess as eh
>>> r = generic_rank(eh.FCN(4, (3,), 2), "H_o", n_samples=8)
>>> r.lower, r.upper, r.proven
(8, 8, True)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..core.errors import InvalidArchitectureError, InvalidDataError, InvalidTypeError, ProblemTooLargeError, describe
from ..core.progress import Tracker, check_progress, open_progress
from ..core.validate import check_int, check_option
from ..models.architectures import Architecture
from ..models.quantities import MATRICES, block_column

__all__ = ["GenericRank", "generic_rank", "quantities", "default_samples", "symbolic_size", "check_size", "paths",
           "MAX_VARIABLES", "MAX_GIGABYTES", "BYTES_PER_TERM_VARIABLE"]

#: refuse problems whose polynomial ring would have more variables than this
MAX_VARIABLES = 3000
#: ... or whose estimated memory (below) exceeds this many gigabytes
MAX_GIGABYTES = 2.5
#: measured peak memory per (monomial of <Omega, mu>) x (ring variable): FLINT stores one byte per
#: variable and monomial, and the Hessian entries and products hold about 24 such copies
#: (FCN(25, (5, 10), 10) with biases and 10 samples: 1.3e5 monomials, 686 variables, 2.1 GB)
BYTES_PER_TERM_VARIABLE = 24.0


@dataclass
class GenericRank:
    """Proven bounds on the generic rank of one quantity of one architecture.

    Attributes:
        arch: the architecture; quantity: ``"H_o"``, ``"H_f"``, ``"H_L"`` or ``"H_f[:,l]"``.
        n_samples: the number of samples the statement is about.
        lower, upper: proven bounds (``lower <= generic rank <= upper``).
        how: how each bound was obtained, in words.
        seconds: wall time.
        null_vectors: number of proven, independent null vectors (``cols - upper``).
        families: proven null vectors per family (symmetry, rank-one kernel, ...).
        primes: the primes of the evaluation points.
        shape: ``(rows, cols)`` of the matrix.
    """

    arch: Architecture
    quantity: str
    n_samples: int
    lower: int
    upper: int
    how: str
    seconds: float
    null_vectors: int = 0
    families: dict = field(default_factory=dict)
    primes: tuple = ()
    shape: tuple = ()

    @property
    def proven(self) -> bool:
        """True when the generic rank is known exactly (both bounds proven and equal)."""
        return self.lower == self.upper

    @property
    def value(self) -> int | None:
        """The generic rank when proven, else None."""
        return self.lower if self.proven else None

    def to_dict(self) -> dict:
        return {"architecture": repr(self.arch), "spec": self.arch.to_spec(), "quantity": self.quantity,
                "n_samples": self.n_samples, "lower": self.lower, "upper": self.upper, "proven": self.proven,
                "how": self.how, "seconds": self.seconds, "null_vectors": self.null_vectors,
                "families": dict(self.families), "primes": list(self.primes), "shape": list(self.shape)}

    def __str__(self) -> str:
        val = str(self.lower) if self.proven else f"in [{self.lower}, {self.upper}]"
        return f"generic rank {self.quantity} of {self.arch!r}, n = {self.n_samples}: {val} ({self.how})"


def quantities(arch: Architecture) -> list[str]:
    """The quantities :func:`generic_rank` accepts for ``arch``."""
    return list(MATRICES) + [block_column(l) for l in range(1, len(arch.layers) + 1)]


def default_samples(arch: Architecture) -> int:
    """``2 d`` samples, as :func:`exacthess.verify` (full-rank data: ``r = d``)."""
    return 2 * arch.input_dim


def paths(arch: Architecture) -> int:
    r"""Monomials of the end-to-end matrix: paths through the 0/1 pattern of the operators,
    from the layer sizes alone (no operator is built, so any size is cheap).

    Every output of layer ``l`` reads ``t_l = c_in k_h k_w`` inputs (plus the constant through the
    bias), so with :math:`m_0 = 1` the paths into any unit satisfy
    :math:`m_l \le t_l m_{l-1} + b` and the end-to-end matrix has at most :math:`K m_{L+1}`
    monomials. Equality holds for dense layers and for convolutions without zero padding (every
    output reads ``t_l`` real inputs); zero padding makes it an upper bound.

    >>> import exacthess as eh
    >>> paths(eh.FCN(4, (3,), 2, bias=True))   # 2 * (3 * (4 + 1) + 1)
    32
    """
    aug = int(arch.bias)
    m = 1
    for layer in arch.layers:
        m = (layer.n_taps - int(layer.bias)) * m + aug
    return arch.output_dim * m


def symbolic_size(arch: Architecture, n_samples: int) -> dict:
    r"""Estimated size of the symbolic objects: ring variables, monomials of
    :math:`\langle\tilde\Omega, \tilde\mu\rangle` (every Hessian entry is a derivative of it)
    and the memory they would take (gigabytes)."""
    aug = int(arch.bias)
    d, K = arch.input_dim, arch.output_dim
    moments = n_samples >= d + aug
    data = K * (d + aug) if moments else n_samples * d + K * n_samples
    extra = max(l.n_out for l in arch.layers) + max(l.n_in for l in arch.layers) + aug
    variables = arch.n_params + data + extra
    terms = float(paths(arch)) * (1 if moments else n_samples)
    return {"variables": variables, "terms": terms,
            "gigabytes": BYTES_PER_TERM_VARIABLE * terms * variables / 1e9}


def check_size(arch: Architecture, n_samples: int) -> dict:
    """Raise :class:`ProblemTooLargeError` when the symbolic route would not fit."""
    size = symbolic_size(arch, n_samples)
    if size["variables"] > MAX_VARIABLES or size["gigabytes"] > MAX_GIGABYTES:
        text = (f"{arch!r} with n_samples = {n_samples} is too large for the symbolic route: its polynomial "
                f"ring would have {size['variables']} variables and the loss polynomial about "
                f"{size['terms']:.3g} terms, about {size['gigabytes']:.3g} GB in memory (limits "
                f"{MAX_VARIABLES} variables, {MAX_GIGABYTES} GB); ")
        raise ProblemTooLargeError(
            text + f"exacthess.verify(arch, n_samples={n_samples}) gives certified exact ranks at one point instead",
            cli=text + "exacthess verify with the same network and --samples gives certified exact ranks at one "
                       "point instead")
    return size


def validate(arch, quantity: str | None, n_samples) -> int:
    """Check the arguments; return the number of samples."""
    if not isinstance(arch, Architecture):
        raise InvalidTypeError(f"arch = {describe(arch)} has type {type(arch).__name__}; expected FCN(...) or CNN(...)")
    if not arch.activation.is_linear:
        raise InvalidArchitectureError(
            f"activation = {arch.activation.name!r} is not supported by the generic prover; expected "
            "'linear' (it proves generic ranks of linear networks with the MSE loss only); "
            f"verify (exacthess.verify or `exacthess verify`) gives certified exact ranks at one point for "
            f"{arch.activation.name!r}")
    if quantity is not None:
        check_option(quantity, "quantity", quantities(arch))
    if n_samples is None:
        return default_samples(arch)
    return check_int(n_samples, "n_samples", minimum=1, error=InvalidDataError)


PROOF_WORDS = {"expanded": "expanded in the ring", "lemma": "rank-one lemma with free u, a + cofactor identity",
               "laplace": "Laplace on an H_f block column",
               "cramer": "compensated by the last layer, Cramer's rule + last-layer lemma"}


def describe_how(b: dict, primes: tuple, regime: str) -> str:
    """The ``how`` text of a result from the prover's bounds."""
    ring = "ZZ[theta, Omega]" if regime == "moments" else "ZZ[theta, X, Z]"
    low = f"lower: rank mod p at {len(primes)} random integer points"
    if b["null_vectors"] == 0:
        up = "upper: number of columns (no null vector needed)" if b["upper"] == b["lower"] else \
            "upper: number of columns (no null vector found)"
    else:
        fams = ", ".join(f"{n} {name}" for name, n in b["families"].items())
        kinds = ", ".join(f"{n} {PROOF_WORDS[k]}" for k, n in b.get("proof_kinds", {}).items())
        up = (f"upper: {b['cols']} - {b['null_vectors']} null vectors proven in {ring} ({kinds}) and "
              f"independent mod p; families: {fams}")
    text = f"{low}; {up}"
    if b["lower"] != b["upper"]:
        text += (f"; OPEN: {b['upper'] - b['lower']} null vectors are missing from the known families "
                 "(symmetries, rank-one kernels of dense layers, block-column cofactors, last-layer "
                 "compensations, dead taps) for "
                 "this architecture")
    if b["failed"]:
        text += f"; {b['failed']} candidate vectors failed their proof and were dropped"
    return text


def generic_rank(arch: Architecture, quantity: str, *, n_samples: int | None = None, seed: int = 0,
                 progress="auto") -> GenericRank:
    """Proven bounds on the generic rank of ``quantity`` of ``arch``.

    Args:
        arch: :class:`~exacthess.FCN` or :class:`~exacthess.CNN` with the linear activation (the
            statements are about the MSE loss); any other activation raises
            :class:`~exacthess.core.errors.InvalidArchitectureError`. A polynomial
            :class:`~exacthess.models.graph.Graph` (self-attention) for ``"H_o"`` only: the
            symmetry vectors above, the Jacobian's rank at a point below
            (:mod:`exacthess.generic.graph`).
        quantity: ``"H_o"``, ``"H_f"``, ``"H_L"`` or ``"H_f[:,l]"`` (block column, l = 1..L+1).
        n_samples: number of samples ``n`` (default ``2 d``, as :func:`exacthess.verify`);
            inputs and targets are generic.
        seed: seed of the random evaluation points (the bounds are proven for any seed).
        progress: ``"auto"`` (default): a live display of the stage (null vectors proven of
            those needed) in a terminal or a notebook, nothing otherwise; True: always; False or
            None: never; or a callable receiving the messages (:mod:`exacthess.core.progress`).

    Returns:
        a :class:`GenericRank`; ``.proven`` tells whether ``lower == upper``.

    Raises:
        InvalidArchitectureError: a non-linear activation (ReLU, leaky ReLU, polynomial): the
            polynomial network behind the null vectors is the linear one.
        ProblemTooLargeError: the polynomial objects would be too large (see :func:`check_size`).
    """
    if getattr(arch, "family", None) == "graph":  # H_o of a polynomial graph (self-attention): exacthess.generic.graph
        return _graph_rank(arch, quantity, n_samples, seed)
    from .prover import GenericProver
    n = validate(arch, quantity, n_samples)
    check_int(seed, "seed", minimum=0)
    check_size(arch, n)
    check_progress(progress)
    t0 = time.perf_counter()
    with open_progress(progress, f"the generic rank of {quantity} of {arch!r}") as channel:
        prover = GenericProver(arch, n, seed=seed, progress=Tracker(channel) if channel else None)
        return result_from(prover, quantity, t0)


def _graph_rank(graph, quantity, n_samples, seed) -> GenericRank:
    from .graph import graph_generic_bounds
    n = 2 * graph.input_dim if n_samples is None else check_int(n_samples, "n_samples", minimum=1, error=InvalidDataError)
    check_int(seed, "seed", minimum=0)
    b = graph_generic_bounds(graph, quantity, n, seed)
    return GenericRank(graph, quantity, n, b["lower"], b["upper"], b["how"], b["seconds"], b["null_vectors"],
                       b["families"], b["primes"], (b["rows"], b["cols"]))


def result_from(prover, quantity: str, t0: float) -> GenericRank:
    """A :class:`GenericRank` from a :class:`~exacthess.generic.prover.GenericProver`."""
    b = prover.bounds(quantity)
    return GenericRank(prover.arch, quantity, prover.n_samples, b["lower"], b["upper"],
                       describe_how(b, prover.primes, prover.net.regime), time.perf_counter() - t0,
                       b["null_vectors"], b["families"], prover.primes, (b["rows"], b["cols"]))
