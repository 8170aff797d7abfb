r"""Certificates of rank bounds: plain data that :mod:`exacthess.certify.checker` verifies.

A rank is *certified* only when a lower and an upper bound meet **and** a small checker that
shares no code with the code that proposed them has verified both against the matrix. The
structure of the Hessians (layer chains, null vectors, factorisations) only *proposes*; what it
proposes is written down here, in a form that can be saved with a report and checked again
later (``exacthess check REPORT.json``).

A :class:`RankCertificate` speaks about one matrix, named as the matrix source resolves it
(``"H_L"``, ``"H_f"``, a block column ``"H_f[:,2]"``, a factor such as ``"P1,3"``), optionally
restricted to ``rows`` and ``cols``. Its parts:

* **lower bound** -- a :class:`Minor`: rows and columns of a square submatrix that is
  nonsingular modulo a prime. A minor mod ``p`` is the image of the same minor over
  :math:`\mathbb Q`, so :math:`\mathrm{rank} \ge k`.
* **upper bound** -- one of

  - :class:`Trivial`: :math:`\mathrm{rank} \le \min(m, n)`;
  - :class:`Zero`: the matrix is exactly zero;
  - :class:`NullVectors`: exact rational vectors ``v`` with ``M v = 0``, independent (a
    nonsingular minor modulo a prime), so :math:`\mathrm{rank} \le n - k`; with a ``core``
    certificate of :math:`M[I, I]` (``M`` symmetric, ``I`` the coordinates outside the
    vectors' pivots), :math:`\mathrm{rank}\,M = \mathrm{rank}\,M[I, I]`;
  - :class:`Hadamard`: ranks modulo primes whose product exceeds Hadamard's bound on every
    minor of the next order;
  - :class:`Theorem`: a proven identity (named; its statement and proof are in
    ``docs/certificates.md``) applied to certified ranks of named factors, with premises the
    checker verifies;
  - :class:`Exact`: the checker's own exact elimination over :math:`\mathbb Q` (few rows or
    columns);
  - :class:`Assumed`: a bound supplied by a caller without a proof (never certified).

* **equal** -- optionally a :class:`Theorem` saying ``rank M = rank N`` (e.g. ``rank H_o = rank
  (C J)``); both bounds then come from the certificate of ``N``.

Every record converts to and from plain JSON data (:func:`to_data`, :func:`from_data`);
rationals are written as ``"p/q"`` strings.

>>> c = RankCertificate(matrix="H_o", value=1, lower=Minor(prime=7, rows=(0,), cols=(0,)), upper=Trivial())
>>> from_data(to_data(c)) == c
True
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
from flint import fmpq

__all__ = ["Minor", "Trivial", "Zero", "NullBlock", "NullVectors", "Hadamard", "Theorem", "Exact", "Assumed",
           "RankCertificate", "to_data", "from_data", "describe_upper"]


@dataclass(frozen=True)
class Minor:
    """Lower bound ``len(rows)``: the submatrix ``M[rows, cols]`` is nonsingular modulo ``prime``.

    Attributes:
        prime: the prime.
        rows, cols: indices (within the certificate's matrix) of a square submatrix.
        inverse: optionally (in memory only, never saved) the inverse of ``M[rows, cols]`` modulo
            ``prime`` as found by the proposer; the checker then verifies one product instead of
            an elimination.
    """

    prime: int
    rows: tuple
    cols: tuple
    inverse: np.ndarray | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Trivial:
    """Upper bound ``min(rows, cols)``."""


@dataclass(frozen=True)
class Zero:
    """Upper bound 0: every entry is exactly zero."""


@dataclass(frozen=True)
class NullBlock:
    """Exact null vectors supported on some coordinates.

    Attributes:
        rows: the columns of the matrix (coordinates) the vectors live on.
        vectors: object array ``(len(rows), k)`` of exact rationals (``fmpq``).
    """

    rows: tuple
    vectors: np.ndarray = field(compare=False)

    def __eq__(self, other):
        return (isinstance(other, NullBlock) and self.rows == other.rows
                and self.vectors.shape == other.vectors.shape and bool((self.vectors == other.vectors).all()))

    __hash__ = None


@dataclass(frozen=True)
class NullVectors:
    r"""Upper bound from exact null vectors: :math:`\mathrm{rank}\,M \le n - k`.

    ``pivots`` are ``k`` coordinates where the vectors (all blocks together, ``N``) form a
    nonsingular ``k x k`` matrix modulo ``prime``: so they are independent. With ``core`` (a
    :class:`RankCertificate` of the symmetric ``M`` restricted to the coordinates ``I`` outside
    the pivots), the bound is the core's: :math:`M[:, P] = -M[:, I]\,N[I]\,N[P]^{-1}` gives
    :math:`\mathrm{rank}\,M = \mathrm{rank}\,M[:, I] = \mathrm{rank}\,M[I, I]`.

    Attributes:
        prime: the prime of the pivots.
        blocks: :class:`NullBlock` records.
        pivots: ``k`` coordinates (columns of the matrix), one per vector.
        core: optional certificate of ``M[I, I]``.
        how: where the vectors come from (for messages).
    """

    prime: int
    blocks: tuple
    pivots: tuple
    core: RankCertificate | None = None
    how: str = ""


@dataclass(frozen=True)
class Hadamard:
    r"""Upper bound ``k``: the integer matrix (rows scaled by their denominators) has rank at most
    ``k`` modulo every prime, and the product of the primes exceeds Hadamard's bound on every
    :math:`(k+1)`-minor, so every such minor is zero over :math:`\mathbb Q`."""

    primes: tuple


@dataclass(frozen=True)
class Theorem:
    """A proven identity applied to certified ranks of named factors (``docs/certificates.md``).

    Attributes:
        name: the theorem (a key of the checker's table).
        args: plain data the theorem's formula reads (ints, strings, lists).
        parts: :class:`RankCertificate` of the factors, in the theorem's order.
        how: one line for messages.
    """

    name: str
    args: dict = field(default_factory=dict, compare=False)
    parts: tuple = ()
    how: str = ""

    def __eq__(self, other):
        return (isinstance(other, Theorem) and (self.name, self.parts, self.how) == (other.name, other.parts, other.how)
                and _plain(self.args) == _plain(other.args))

    __hash__ = None


@dataclass(frozen=True)
class Exact:
    """Both bounds: the rank computed by exact elimination over Q (FLINT's fraction-free elimination
    of the rows scaled to integers), by the checker itself -- for matrices with few rows or columns,
    whatever the size of their entries."""


@dataclass(frozen=True)
class Assumed:
    """An upper bound a caller supplied without a proof: reported, never certified."""

    value: int
    reason: str


@dataclass(frozen=True)
class RankCertificate:
    """Everything needed to check the rank of one matrix.

    Attributes:
        matrix: the matrix's name for the matrix source.
        value: the claimed rank.
        lower: a :class:`Minor`, or None (lower bound 0).
        upper: :class:`Trivial`, :class:`Zero`, :class:`NullVectors`, :class:`Hadamard`,
            :class:`Theorem`, :class:`Assumed`, or None (no upper bound below the trivial one).
        rows, cols: the certificate is about ``matrix[rows, cols]`` (None: all of it).
        equal: a :class:`Theorem` stating ``rank = rank`` of its single part (then ``lower`` and
            ``upper`` are unused).
    """

    matrix: str
    value: int
    lower: Minor | None = None
    upper: object = None
    rows: tuple | None = None
    cols: tuple | None = None
    equal: Theorem | None = None


def describe_upper(node) -> str:
    """A short name of an upper-bound record (for ``how`` texts)."""
    if isinstance(node, Theorem):
        return node.how or node.name
    if isinstance(node, NullVectors):
        k = len(node.pivots)
        return f"{k} exact null vectors" + (f" ({node.how})" if node.how else "")
    if isinstance(node, Hadamard):
        return f"{len(node.primes)} primes > Hadamard bound"
    return {Trivial: "min(rows, cols)", Zero: "zero matrix", Assumed: "assumed",
            Exact: "exact elimination over Q"}.get(type(node), type(node).__name__)


# ----- plain data -------------------------------------------------------------------------------
_KINDS = {cls.__name__: cls for cls in (Minor, Trivial, Zero, NullBlock, NullVectors, Hadamard, Theorem, Exact,
                                        Assumed, RankCertificate)}


def _plain(value):
    """``value`` as JSON data (records tagged with ``kind``)."""
    if type(value).__name__ in _KINDS and hasattr(value, "__dataclass_fields__"):
        out = {"kind": type(value).__name__}
        for f in fields(value):
            if f.name == "inverse":
                continue
            out[f.name] = _plain(getattr(value, f.name))
        return out
    if isinstance(value, np.ndarray):
        return {"shape": list(value.shape), "entries": [str(v) for v in value.flat]}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, fmpq):
        return str(value)
    return value


def to_data(cert) -> dict:
    """A certificate (or any record above) as JSON-serialisable data."""
    return _plain(cert)


def _rational(text) -> fmpq:
    num, _, den = str(text).partition("/")
    return fmpq(int(num), int(den or 1))


def from_data(data):
    """Rebuild a record from :func:`to_data` output (raises ``KeyError``/``ValueError``/``TypeError``
    on malformed data; :func:`exacthess.check` turns those into one clear error)."""
    if isinstance(data, list):
        return tuple(from_data(v) for v in data)
    if not isinstance(data, dict) or "kind" not in data:
        return data
    cls = _KINDS[data["kind"]]
    kw = {}
    for f in fields(cls):
        if f.name == "inverse" or f.name not in data:
            continue
        v = data[f.name]
        if f.name == "vectors":
            shape = tuple(int(s) for s in v["shape"])
            arr = np.empty(shape, dtype=object)
            arr.ravel()[:] = [_rational(t) for t in v["entries"]] if arr.size else []
            kw[f.name] = arr
        elif f.name == "args":
            kw[f.name] = dict(v)
        elif isinstance(v, (dict, list)):
            kw[f.name] = from_data(v)
        else:
            kw[f.name] = v
    for key in ("rows", "cols", "pivots", "primes"):
        if key in kw and kw[key] is not None:
            kw[key] = tuple(int(i) for i in kw[key])
    for key in ("prime", "value"):
        if key in kw:
            kw[key] = int(kw[key])
    return cls(**kw)
