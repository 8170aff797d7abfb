r"""Subspaces with explicit polynomial bases: kernels of products of polynomial matrices.

A :class:`KernelSpace` is the right kernel of a product :math:`M = F_t \cdots F_1` of polynomial
matrices (a left kernel is the right kernel of the transposed product). Its basis is built at
the *shortest* partial product :math:`P_j = F_j \cdots F_1` whose kernel at the evaluation point
already has the dimension of :math:`\ker M` there: :math:`\ker P_j \subseteq \ker M` always,
and ``P_j`` has smaller minors. The basis vectors are the cofactor vectors of ``P_j``
(:func:`~exacthess.generic.polymat.cofactor_vector`); when ``P_j`` has full row rank the
identity :math:`P_j v \equiv 0` holds by Laplace expansion alone.

Typical use: the kernel of :math:`W_{L+1}\cdots W_{l+1}` for a network with a bottleneck of
width ``q`` after layer ``l`` is the kernel of the product up to the bottleneck, a ``q``-row
matrix whose ``q x q`` minors give the basis.

Nothing here is trusted: the vectors built from these spaces are checked in the polynomial
ring by :class:`~exacthess.generic.network.SymbolicNetwork` before they count.

>>> from flint import fmpz_mpoly_ctx
>>> ctx = fmpz_mpoly_ctx.get(("w", 3))
>>> F = obj_array(ctx.gens(), (1, 3))            # one row: its kernel is 2-dimensional
>>> s = KernelSpace("ker W", ["W"], lambda key: (F, np.array([[2, 3, 5]])), 3, p=7)
>>> s.count, [str(e) for e in s.symbolic(0)], s.annihilated()
(2, ['w1', '-w0', '0'], (True, 'Laplace'))
"""

from __future__ import annotations

import numpy as np

from ..core.domains import GF
from ..core.modular import rank_mod_p
from .polymat import cofactor_vector, cofactor_vector_mod_p, kernel_pivots, obj_array, poly_matmul  # noqa: F401

__all__ = ["Space", "AllSpace", "KernelSpace", "MAX_EXPAND_RANK"]

#: largest minor size for which cofactor vectors are expanded when Laplace alone does not apply
MAX_EXPAND_RANK = 5


class Space:
    """A subspace of ``R^dim`` with ``count`` basis vectors, numeric (mod p) and symbolic."""

    label = ""
    dim = 0
    count = 0
    degree = 0  # polynomial degree of the basis vectors (a cost measure)
    prefix: tuple = ()  # factors whose product kills every basis vector (empty: none)

    def annihilated(self) -> tuple[bool, str]:
        return (True, "") if not self.prefix else (False, "")

    def numeric(self, i: int) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def symbolic(self, i: int) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError


class AllSpace(Space):
    """The whole space, standard basis."""

    def __init__(self, label: str, dim: int, one, p: int):
        self.label, self.dim, self.count, self.one, self.p = label, dim, dim, one, p

    def numeric(self, i):
        v = np.zeros(self.dim, dtype=np.int64)
        v[i] = 1
        return v

    def symbolic(self, i):
        v = np.empty(self.dim, dtype=object)
        v.fill(self.one * 0)
        v[i] = self.one
        return v


class KernelSpace(Space):
    r"""Right kernel of :math:`F_t\cdots F_1`. ``keys`` name the factors in the order they act
    (``F_1`` first); ``resolve(key)`` returns ``(symbolic, numeric mod p)``.

    Attributes:
        j: length of the partial product used for the basis; ``prefix = keys[:j]``.
        count: dimension of the kernel at the point (a lower bound on the generic one).
    """

    def __init__(self, label: str, keys: list, resolve, dim: int, p: int, one=None):
        self.label, self.keys, self.resolve, self.dim, self.p = label, list(keys), resolve, dim, p
        self.one = one if one is not None else resolve(keys[0])[0].flat[0] ** 0
        nums = [np.eye(dim, dtype=np.int64)]
        gf = GF(p)
        for key in self.keys:
            nums.append(gf.matmul(resolve(key)[1], nums[-1]))
        target = dim - rank_mod_p(nums[-1], p)
        self.count = max(target, 0)
        self.j = 0
        self.R, self.C0, self.ks = [], [], []
        self._cache: dict = {}
        self._sym_rows = None
        self._laplace = None
        if self.count == 0:
            return
        self.j = next(j for j in range(1, len(nums)) if dim - rank_mod_p(nums[j], p) == target)
        self.num = nums[self.j]
        self.R, self.C0, rho = kernel_pivots(self.num, p)
        self.ks = [k for k in range(dim) if k not in set(self.C0)]
        self.degree = rho * self.j

    @property
    def prefix(self) -> tuple:
        return tuple(self.keys[: self.j])

    def _product(self, rows=None) -> np.ndarray:
        """The partial product ``P_j`` (only ``rows`` if given), multiplied from the left."""
        syms = [self.resolve(k)[0] for k in self.keys[: self.j]]
        cur = syms[-1] if rows is None else syms[-1][rows]
        for f in reversed(syms[:-1]):
            cur = poly_matmul(cur, f, self.one * 0)
        return cur

    def numeric(self, i):
        return cofactor_vector_mod_p(self.num[self.R], list(range(len(self.R))), self.C0, self.ks[i], self.p)

    def symbolic(self, i):
        if i not in self._cache and not self.R:  # P_j vanishes at the point: standard basis
            v = np.empty(self.dim, dtype=object)
            v.fill(self.one * 0)
            v[self.ks[i]] = self.one
            self._cache[i] = v
        if i not in self._cache:
            if self._sym_rows is None:
                self._sym_rows = self._product(self.R)
            self._cache[i] = cofactor_vector(self._sym_rows, list(range(len(self.R))), self.C0, self.ks[i])
        return self._cache[i]

    def annihilated(self) -> tuple[bool, str]:
        r"""Whether :math:`P_j v \equiv 0` is proven for every basis vector, and how.

        With ``R`` = every row of ``P_j`` this is Laplace's expansion along a repeated row (a
        determinant with two equal rows vanishes); otherwise the remaining rows are expanded and
        checked in the polynomial ring (minors up to :data:`MAX_EXPAND_RANK`; beyond that the
        vectors stay unproven)."""
        if self._laplace is None:
            if len(self.R) == self.num.shape[0]:
                self._laplace = (True, "Laplace")
            elif len(self.R) > MAX_EXPAND_RANK:
                self._laplace = (False, f"not full row rank and minors of size {len(self.R)} too large to expand")
            else:
                full = self._product()
                others = [i for i in range(full.shape[0]) if i not in set(self.R)]
                ok = all(poly_matmul(full[others], self.symbolic(i).reshape(-1, 1), self.one * 0).flat[t].is_zero()
                         for i in range(self.count) for t in range(len(others)))
                self._laplace = (ok, "expanded")
        return self._laplace
