r"""Test a curvature library against the exact matrix: :func:`compare`.

``compare(exact, theirs)`` puts another library's matrix ``T`` (an array, a tensor, an operator
or a callable, :mod:`exacthess.oracle.theirs`; an operator costs ``p`` products) next to the
exact one ``M`` (``p x p``, rationals) and reports, in a frozen :class:`Comparison`:

* **errors, exactly**: every float of ``T`` is read as the rational it is
  (``float.as_integer_ratio``), subtracted from ``M`` over Q, and only the results are rounded
  for the report: ``max_abs_error`` :math:`= \max_{ij} |T_{ij} - M_{ij}|` (at ``worst``),
  ``max_rel_error`` :math:`=` ``max_abs_error`` :math:`/ \max_{ij} |M_{ij}|`, and ``eps_units``
  :math:`=` ``max_abs_error`` :math:`/ (\varepsilon \max_{ij}|M_{ij}|)` with
  :math:`\varepsilon` the machine epsilon of their dtype (``np.finfo(dtype).eps``);
* **the bound and** ``ok``: ``ok`` is ``max_abs_error <= bound`` with
  ``bound`` :math:`= p \, \varepsilon \max_{ij}|M_{ij}|` (``eps_units <= p``), the a-priori
  float error of a Hessian-vector product: each entry is a sum of about ``p`` rounded products of
  the entries' scale (sums over samples and outputs take the place of ``p`` when they are longer,
  so the bound is a yardstick, not a theorem). Measured: torch's ``torch.func.hessian`` of small
  MLPs and CNNs is within 0.5 to 5 units in float32 and float64. It decides only ``ok``, never a
  rank;
* **ranks**: numpy's ``matrix_rank(T, hermitian=True)`` in their precision (the eigenvalues of
  ``eigvalsh`` above :math:`|\lambda|_{\max} \, p \, \varepsilon`; float16 and bfloat16 are
  widened to float32 for ``eigvalsh``, their own :math:`\varepsilon` in the tolerance) against
  the exact rank, certified (:meth:`Curvature.rank <exacthess.oracle.operator.Curvature.rank>`, or
  :func:`~exacthess.certify.explicit.symmetric_rank` for a matrix);
* **inertia**: their numbers of eigenvalues above the tolerance, below minus it and within it,
  against the exact inertia (:func:`~exacthess.oracle.inertia.inertia`), computed when the
  characteristic polynomial it needs has at most ``inertia_limit`` rows (the certified rank
  ``r``, else ``p``), else skipped with a note.

>>> import exacthess as eh
>>> import numpy as np
>>> c = eh.compare([[2, 1], [1, 2]], np.array([[2.0, 1.0], [1.0, 2.0 + 2**-50]]))
>>> c.ok, c.eps_units, c.rank_agrees, c.their_inertia
(True, 2.0, True, (2, 0, 0))
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, field

import numpy as np
from flint import fmpq

from ..core.errors import InvalidMatrixError, InvalidTypeError, InvalidValueError, describe
from ..core.exact import rational_array
from ..core.validate import check_int, check_option
from ..hessian.matrices import HessianResult
from .inertia import inertia
from .operator import OF, Curvature
from .theirs import their_matrix

__all__ = ["Comparison", "compare", "INERTIA_LIMIT"]

#: the exact inertia is computed when its characteristic polynomial has at most this many rows
#: (measured on 2 cores: 20 s for the 225 x 225 part of rank 225 of a 344-parameter MLP's Hessian, 0.3 s for
#: the 60 x 60 part of a 166-parameter CNN's)
INERTIA_LIMIT = 250
_H = {"hessian": "H_L", "ggn": "H_o", "functional": "H_f"}


@dataclass(frozen=True, kw_only=True)
class Comparison:
    r"""Their matrix against the exact one (see the module doc; built by keyword).

    Attributes:
        of: which matrix (``"hessian"``, ``"ggn"``, ``"functional"``).
        dtype: their precision (``"float32"``, ...); ``eps`` its machine epsilon.
        shape: ``(p, p)``.
        source: what theirs was (``"float32 tensor"``, ``"LinearOperator, 53 products"``, ...).
        max_abs_error: :math:`\max_{ij} |T_{ij} - M_{ij}|`, computed exactly, rounded; ``worst`` its ``(i, j)``.
        max_rel_error: ``max_abs_error / max_exact`` (None when the exact matrix is 0 and theirs is not).
        max_exact: :math:`\max_{ij} |M_{ij}|`.
        eps_units: ``max_abs_error / (eps * max_exact)`` (None as ``max_rel_error``).
        bound: ``p * eps * max_exact``; ``ok``: ``max_abs_error <= bound``.
        their_rank, exact_rank: numpy's ``matrix_rank(hermitian=True)`` of theirs, the exact rank
            (``rank_certified``: certified); ``rank_agrees``: equal.
        their_inertia, exact_inertia: ``(positive, negative, zero)`` eigenvalue counts; the exact one
            None when skipped (``inertia_agrees`` then None too).
        notes: what else to know, one line each.
    """

    of: str
    dtype: str
    shape: tuple
    source: str
    max_abs_error: float
    max_rel_error: float | None
    worst: tuple
    max_exact: float
    eps: float
    eps_units: float | None
    bound: float
    ok: bool
    their_rank: int
    exact_rank: int
    rank_certified: bool
    rank_agrees: bool
    their_inertia: tuple
    exact_inertia: tuple | None
    inertia_agrees: bool | None
    notes: tuple = field(default=())

    @property
    def agrees(self) -> bool:
        """Within the bound, the same rank, and no inertia disagreement."""
        return self.ok and self.rank_agrees and self.inertia_agrees is not False

    @property
    def exit_code(self) -> int:
        """0 when :attr:`agrees`, else 1 (as ``exacthess compare``)."""
        return 0 if self.agrees else 1

    def to_dict(self) -> dict:
        """JSON-serialisable (tuples as lists)."""
        out = asdict(self)
        for k, v in out.items():
            if isinstance(v, tuple):
                out[k] = list(v)
        out["agrees"] = self.agrees
        return out

    def table(self):
        """A rich table of the comparison (the command line prints it with colours on a terminal)."""
        from rich.table import Table
        p = self.shape[0]
        yes = {True: "[green]yes[/]", False: "[bold red]NO[/]", None: "[dim]-[/]"}
        t = Table(title=f"{self.source} vs the exact {self.of} ({p} x {p})", title_justify="left")
        for col in ("", f"theirs ({self.dtype})", "exact", "agrees"):
            t.add_column(col)
        units = "-" if self.eps_units is None else f"{self.eps_units:.3g}"
        t.add_row("max |error|", f"{self.max_abs_error:.3g}", f"bound {self.bound:.3g}", yes[self.ok])
        t.add_row("max relative error", "-" if self.max_rel_error is None else f"{self.max_rel_error:.3g}",
                  f"max |entry| {self.max_exact:.3g}", "")
        t.add_row("error / (eps max|entry|)", units, f"bound p = {p}", "")
        t.add_row("rank", str(self.their_rank), f"{self.exact_rank}" + (" certified" if self.rank_certified else
                                                                          " (not certified)"), yes[self.rank_agrees])
        ei = "skipped" if self.exact_inertia is None else _inertia_text(self.exact_inertia)
        t.add_row("inertia (+, -, 0)", _inertia_text(self.their_inertia), ei, yes[self.inertia_agrees])
        return t

    def render(self, width: int = 80) -> str:
        """The comparison as plain text: the table, then the notes."""
        from rich.console import Console
        buf = io.StringIO()
        con = Console(file=buf, width=width, force_terminal=False, color_system=None)
        self.print(con)
        return "\n".join(line.rstrip() for line in buf.getvalue().splitlines()) + "\n"

    def print(self, console) -> None:
        """Print the table and the notes on a rich ``console``."""
        console.print(self.table())
        for note in self.notes:
            console.print(f"note: {note}", markup=False, highlight=False)

    def __str__(self) -> str:
        return self.render()


def _inertia_text(x) -> str:
    return ", ".join(str(v) for v in x)


def _exact(exact, of: str):
    """``(M, rank or None, name)``: the exact matrix and, for a Curvature, its certified rank."""
    if isinstance(exact, Curvature):
        return exact.matrix(of), exact.rank(of), _H[of]
    if isinstance(exact, HessianResult):
        if exact.domain.name != "QQ":
            raise InvalidValueError(f"exact is a HessianResult over {exact.domain.name}; expected one over QQ "
                                    "(eh.hessian(..., domain='QQ'), the default)")
        return getattr(exact, _H[of]), None, _H[of]
    if isinstance(exact, (str, bytes, dict, set)) or exact is None or np.isscalar(exact):
        raise InvalidTypeError(f"exact = {describe(exact)} has type {type(exact).__name__}; expected a Curvature "
                               "(eh.curvature), a HessianResult or a square matrix of exact rationals")
    M = rational_array(exact, "exact", ndim=2)
    if M.shape[0] != M.shape[1]:
        raise InvalidMatrixError(f"exact has shape {M.shape}; expected a square matrix")
    if not (M == M.T).all():
        i, j = (int(k) for k in np.argwhere(M != M.T)[0])
        raise InvalidMatrixError(f"exact is not symmetric (exact[{i}, {j}] = {M[i, j]} but exact[{j}, {i}] = "
                                 f"{M[j, i]}); expected a symmetric curvature matrix")
    return M, None, "exact"


def _errors(M: np.ndarray, T: np.ndarray):
    """``(max |T - M|, its (i, j), max |M|)``, exactly: each float of ``T`` read as its rational."""
    worst, at, biggest = fmpq(0), (0, 0), fmpq(0)
    p = M.shape[0]
    for k, (t, m) in enumerate(zip(T.astype(np.float64).ravel().tolist(), M.ravel())):
        d = abs(fmpq(*t.as_integer_ratio()) - m)
        if d > worst:
            worst, at = d, divmod(k, p)
        a = abs(m)
        if a > biggest:
            biggest = a
    return worst, at, biggest


def _their_spectrum(T: np.ndarray, eps: float):
    """numpy's rank rule on ``eigvalsh(T)``: ``(rank, (positive, negative, zero))``."""
    p = T.shape[0]
    if not p:
        return 0, (0, 0, 0)
    w = np.linalg.eigvalsh(T)
    tol = float(np.abs(w).max()) * p * eps
    pos, neg = int((w > tol).sum()), int((w < -tol).sum())
    return pos + neg, (pos, neg, p - pos - neg)


def compare(exact, theirs, *, of: str = "hessian", n: int | None = None, dtype=None,
            inertia_limit: int = INERTIA_LIMIT) -> Comparison:
    """Compare another library's curvature matrix with the exact one (see the module doc).

    Args:
        exact: a :class:`~exacthess.oracle.operator.Curvature` (``of`` picks the matrix), a
            :class:`~exacthess.hessian.matrices.HessianResult` over QQ, or an exact symmetric
            matrix (``fmpq``, ints, ``Fraction``; e.g. ``eh.hessian(...).H_L``).
        theirs: their matrix: a numpy array or torch tensor of floats, an operator with ``.shape``
            and ``@`` (scipy ``LinearOperator``, curvlinops), or a callable ``v -> M v``; an
            operator or a callable is materialised column by column, ``p`` products with the
            unit vectors (:mod:`exacthess.oracle.theirs`).
        of: ``"hessian"``, ``"ggn"`` or ``"functional"``.
        n: the size ``p`` (optional: the exact matrix's; given, it must agree).
        dtype: the dtype of the unit vectors given to a callable (numpy or torch; float64 numpy
            by default).
        inertia_limit: the largest characteristic polynomial computed for the exact inertia.

    Returns:
        a :class:`Comparison`; ``print(c)`` shows its table.

    Raises:
        InvalidTypeError: a wrong type, a complex or integer dtype (naming the argument).
        InvalidValueError: a shape mismatch (naming both shapes), NaN or inf in theirs (their
            number), a matrix that is not square and symmetric.
    """
    of = check_option(of, "of", OF)
    inertia_limit = check_int(inertia_limit, "inertia_limit", 0)
    M, rank, name = _exact(exact, of)
    p = M.shape[0]
    if n is not None and check_int(n, "n", 0) != p:
        raise InvalidValueError(f"n = {n} is not the size of the exact matrix, {p} x {p}; expected n = {p}")
    T = their_matrix(theirs, p, dtype=dtype)
    worst, at, biggest = _errors(M, T.values)
    notes = []
    if rank is None:
        from ..certify.explicit import symmetric_rank
        rank = symmetric_rank(M, name=name)
    if not rank.certified:
        notes.append(f"the exact rank is not certified: {rank.lower} <= rank <= {rank.upper} ({rank.why})")
    their_rank, their_inertia = _their_spectrum(T.values, T.eps)
    size = rank.value if rank.certified else p
    exact_inertia = None
    if size <= inertia_limit:
        exact_inertia = tuple(inertia(M, rank=rank.value if rank.certified else None, name=name))
    else:
        notes.append(f"exact inertia skipped: it needs a {size} x {size} characteristic polynomial (limit "
                     f"{inertia_limit}; inertia_limit= raises it)")
    bound = p * fmpq(*T.eps.as_integer_ratio()) * biggest
    zero = biggest == 0
    if zero:
        notes.append("the exact matrix is 0: relative errors are undefined, the bound is 0")
    rel = (0.0 if worst == 0 else None) if zero else float(worst / biggest)
    return Comparison(
        of=of, dtype=T.dtype, shape=(p, p), source=T.source, max_abs_error=float(worst), max_rel_error=rel,
        worst=tuple(int(v) for v in at), max_exact=float(biggest), eps=T.eps,
        eps_units=None if rel is None else rel / T.eps, bound=float(bound), ok=bool(worst <= bound),
        their_rank=their_rank, exact_rank=int(rank.value), rank_certified=bool(rank.certified),
        rank_agrees=their_rank == rank.value, their_inertia=their_inertia, exact_inertia=exact_inertia,
        inertia_agrees=None if exact_inertia is None else their_inertia == exact_inertia, notes=tuple(notes))
