r"""The core argument: the rank of a structured symmetric matrix from a core of its own size.

Let :math:`H` be symmetric, partitioned into block rows :math:`l = 1..B` of sizes
:math:`n_l`. Suppose that for block row ``l`` we know a matrix :math:`E_l` over
:math:`\mathbb Q` (given by its reduction modulo a prime ``p``) whose column space contains the
projection of :math:`\mathrm{col}(H)` onto the coordinates of block ``l``, together with a
*proven* bound :math:`\dim\mathrm{col}(E_l) \le d_l` (a :class:`~exacthess.certify.bounds.Bound`).

If rows :math:`I_l` of :math:`E_l` satisfy :math:`\mathrm{rank}_p E_l[I_l] = |I_l| = d_l`,
then :math:`E_l[I_l]` has full rank over :math:`\mathbb Q` too, so :math:`\mathrm{col}(E_l)`
has dimension exactly :math:`d_l` and restricting to the coordinates :math:`I_l` is injective
on it. Hence restricting to :math:`I = \bigcup_l I_l` is injective on
:math:`\bigoplus_l \mathrm{col}(E_l) \supseteq \mathrm{col}(H)`, and by symmetry

.. math:: \mathrm{rank}\,H = \mathrm{rank}\,H[:, I] = \mathrm{rank}\,H[I, I].

A block row without such rows keeps all its coordinates (always valid). When the core
:math:`H[I, I]` has full rank modulo ``p``, :math:`\mathrm{rank}\,H = |I|` is certified by
one modular rank of a matrix of the size of the answer. In any case
:math:`\mathrm{rank}\,H \le |I|` and, as the rank of a block column equals that of the
corresponding block row, :math:`\mathrm{rank}\,H \le \sum_l \min(d_l, n_l)`.

>>> import numpy as np
>>> E = np.array([[1], [2], [0]])            # block row image inside span{(1, 2, 0)}
>>> space = BlockRowSpace(Bound(1, "upper", "structure", "example"), E, "example")
>>> choose_core([space], (3,), 7)
([[0]], [1], [True])
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.modular import pivot_rows
from .bounds import Bound

__all__ = ["BlockRowSpace", "choose_core"]


@dataclass
class BlockRowSpace:
    """A space containing the image of one block row, with a proven dimension bound.

    Attributes:
        bound: proven upper bound on the dimension (``stage="structure"``).
        spanning: ``E_l`` modulo p (``n_l x c``), the reductions of rational vectors spanning a
            space of dimension at most ``bound.value`` that contains the block row's image;
            None when only the bound is known.
        kind: short name of the argument (for messages), e.g. ``"chain"``.
    """

    bound: Bound
    spanning: np.ndarray | None
    kind: str
    _rows: dict = field(default_factory=dict, repr=False)

    def core_rows(self, n: int, p: int) -> list[int] | None:
        """Rows ``I_l`` of ``E_l`` with ``rank_p E_l[I_l] = |I_l| = bound``, or None when the bound is
        not met (or not below the block size ``n``, where restricting gains nothing)."""
        if p not in self._rows:
            d = min(self.bound.value, n)
            piv = pivot_rows(self.spanning, p) if self.spanning is not None and d < n else None
            self._rows[p] = piv if piv is not None and len(piv) == d else None
        return self._rows[p]


def choose_core(spaces, sizes, p: int):
    """Coordinates of the core, block by block.

    Args:
        spaces: one :class:`BlockRowSpace` or None per block row.
        sizes: block sizes ``n_l``.
        p: the prime of the ``spanning`` matrices.

    Returns:
        ``(rows, bounds, met)``: per block, the chosen local row indices, the proven bound on the
        block column's rank (``min(d_l, n_l)``, or ``n_l`` without a space) and whether the
        bound is met by rows of ``E_l`` (so the restriction is injective there).
    """
    rows, bounds, met = [], [], []
    for space, n in zip(spaces, sizes):
        if space is None:
            rows.append(list(range(n)))
            bounds.append(n)
            met.append(False)
            continue
        piv = space.core_rows(n, p)
        rows.append(piv if piv is not None else list(range(n)))
        bounds.append(min(space.bound.value, n))
        met.append(piv is not None)
    return rows, bounds, met
