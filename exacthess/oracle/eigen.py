r"""Certified enclosures of the eigenvalues of an exact symmetric matrix.

Let :math:`M` be symmetric (exact rationals), :math:`\hat\Lambda = \mathrm{diag}(\hat\lambda_i)`
and :math:`Q` the eigenvalues and eigenvectors LAPACK computes in float64 from :math:`M` rounded,
and :math:`R = MQ - Q\hat\Lambda`. If :math:`Q` is nonsingular,
:math:`Q^{-1} M Q = \hat\Lambda + F` with :math:`F = Q^{-1}R`, so by the Bauer--Fike theorem (for the
diagonal :math:`\hat\Lambda`) every eigenvalue of :math:`M` lies within

.. math:: \varepsilon = \frac{\|R\|_F}{\sigma_{\min}(Q)}, \qquad
          \sigma_{\min}(Q) \ge \sqrt{1 - \|Q^\top Q - I\|_F},

of some :math:`\hat\lambda_i`. Along :math:`\hat\Lambda + tF`, :math:`t \in [0, 1]`, the eigenvalues
move continuously and stay in the same union of intervals, so **each connected component of**
:math:`\bigcup_i [\hat\lambda_i - \varepsilon, \hat\lambda_i + \varepsilon]` **holds exactly as many
eigenvalues of M as centres** :math:`\hat\lambda_i`. :math:`\|R\|_F` and
:math:`\|Q^\top Q - I\|_F` are bounded above from float64 products by a-priori rounding-error
bounds (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., §3.5:
:math:`|fl(AB) - AB| \le \gamma_n |A||B|`, :math:`\gamma_n = nu/(1 - nu)`, :math:`u = 2^{-53}`),
with the entries' own rounding to float64 added and every bound inflated to cover its own
evaluation; no tolerance decides anything. The exact rank (certified) says how many eigenvalues
are exactly 0: they are reported as such, and the others' enclosures as arb balls.

The radius is uniform, about :math:`n u \|M\|`: tight for the large eigenvalues, loose for tiny
nonzero ones (whose sign the inertia of :func:`exacthess.oracle.compare` decides exactly).

>>> import numpy as np
>>> E = enclose(np.array([[2, 1], [1, 2]], dtype=object), rank=2)
>>> [round(float(b.mid()), 12) for b in E.balls], E.zeros, E.radius < 1e-14
([3.0, 1.0], 0, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from flint import arb

from ..core.errors import InvalidValueError
from ..core.resources import require_memory

__all__ = ["Eigenvalues", "enclose"]

_U = 2.0 ** -53


def _gamma(n: int) -> float:
    return n * _U / (1 - n * _U)


def _up(x: float, n: int) -> float:
    """``x`` (a nonnegative float computed with at most ``n`` roundings) made an upper bound."""
    return x * (1 + 4 * _gamma(n + 4)) + 2.0 ** -1000


@dataclass(frozen=True)
class Eigenvalues:
    r"""Certified eigenvalues of a symmetric matrix (see the module doc).

    Attributes:
        zeros: how many eigenvalues are exactly 0 (from the certified rank), or None when the rank
            was not given.
        balls: the nonzero eigenvalues' enclosures, largest first (``flint.arb``: midpoint and
            radius; a ball may contain 0 only when its eigenvalue is tiny: its sign is then not
            decided here).
        components: ``(low, high, count)``: each connected interval of the enclosures and the exact
            number of eigenvalues (zeros included) it holds.
        radius: the uniform radius :math:`\varepsilon`.
        n: the matrix size.
    """

    zeros: int | None
    balls: tuple
    components: tuple
    radius: float
    n: int

    @property
    def top(self):
        """The enclosure of the largest eigenvalue."""
        return self.balls[0] if self.balls else arb(0)

    @property
    def bottom(self):
        """The enclosure of the smallest nonzero eigenvalue in value (the most negative one)."""
        return self.balls[-1] if self.balls else arb(0)

    def __str__(self) -> str:
        head = f"{self.n} eigenvalues: " + ("zeros not separated (no certified rank)" if self.zeros is None
                                            else f"{self.zeros} exactly 0")
        shown = ", ".join(f"{float(b.mid()):.12g}" for b in self.balls[:6]) + (" ..." if len(self.balls) > 6 else "")
        return (f"{head}; {len(self.balls)} nonzero, each within +/- {self.radius:.3g} of: {shown} "
                f"({len(self.components)} disjoint intervals with their exact counts in .components)")

    def contains(self, values) -> bool:
        """Whether every component holds exactly its count of ``values`` (e.g. numpy's eigenvalues)."""
        vals = np.sort(np.asarray(values, dtype=float))
        return len(vals) == self.n and all(int(np.sum((vals >= lo) & (vals <= hi))) == c
                                           for lo, hi, c in self.components)


def enclose(M, rank=None, k: int | None = None) -> Eigenvalues:
    """Certified enclosures of the eigenvalues of the exact symmetric matrix ``M``.

    Args:
        M: a square symmetric array of exact rationals (``fmpq``) or integers.
        rank: its certified rank (an int or a :class:`~exacthess.certify.rank.RankResult`): that many
            eigenvalues are nonzero, the rest exactly 0; None: zeros are not separated.
        k: report only the ``k`` largest and ``k`` smallest nonzero eigenvalues (the components keep
            all of them).

    Raises:
        InvalidValueError: ``M`` is not square and symmetric, or float64 cannot hold it.
    """
    A = np.asarray(M, dtype=object)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or not (A == A.T).all():
        raise InvalidValueError(f"M has shape {A.shape}; expected a square symmetric matrix")
    n = A.shape[0]
    require_memory(6 * 8.0 * n * n, f"the eigenvalue enclosures of a {n} x {n} matrix",
                   "set EXACTHESS_MEMORY_LIMIT_GB to change the limit")
    Mf = np.array([float(v) for v in A.flat], dtype=np.float64).reshape(n, n)
    if not np.isfinite(Mf).all():
        raise InvalidValueError(f"M has entries beyond float64's range (largest {max(abs(v) for v in A.flat)}); "
                                "expected a matrix float64 can hold")
    lam, Q = np.linalg.eigh(Mf)
    absM, absQ = np.abs(Mf), np.abs(Q)
    # R = M Q - Q Lam: S = fl(fl(Mf Q) - Q Lam); |R - S| <= (gamma_n + 2u)|Mf||Q| + 2u|Q||Lam| + u|S|
    S = Mf @ Q - Q * lam
    bound = (_gamma(n) + 2.01 * _U) * (absM @ absQ) + 2.01 * _U * (absQ * np.abs(lam)) + _U * np.abs(S)
    r_norm = _up(float(np.linalg.norm(S)), n * n) + _up(float(np.linalg.norm(bound)), n * n + n)
    G = Q.T @ Q - np.eye(n)
    g_bound = _gamma(n) * (absQ.T @ absQ) + _U * np.abs(G)
    g_norm = _up(float(np.linalg.norm(G)), n * n) + _up(float(np.linalg.norm(g_bound)), n * n + n)
    if g_norm >= 0.5:  # pragma: no cover - LAPACK's eigenvectors are orthonormal to working precision
        raise InvalidValueError("the float64 eigenvectors are far from orthonormal; the enclosure needs them")
    eps = _up(r_norm / math.sqrt(1 - g_norm), 4)
    order = np.argsort(lam)
    comps, lo, hi, count = [], None, None, 0
    for i in order:  # the union of the intervals, left to right
        a, b = float(lam[i]) - eps, float(lam[i]) + eps
        if lo is not None and a <= hi:
            hi, count = max(hi, b), count + 1
            continue
        if lo is not None:
            comps.append((lo, hi, count))
        lo, hi, count = a, b, 1
    comps.append((lo, hi, count))
    certified = rank is not None and getattr(rank, "certified", True)
    zeros = n - int(getattr(rank, "value", rank)) if certified else None  # an uncertified rank proves no zero
    nonzero = _drop_zeros(list(lam[order[::-1]]), zeros, eps)
    balls = tuple(arb(float(v), eps) for v in nonzero)
    if k is not None and len(balls) > 2 * k:
        balls = balls[:k] + balls[-k:]
    return Eigenvalues(zeros=zeros, balls=balls, components=tuple(comps), radius=eps, n=n)


def _drop_zeros(values: list, zeros: int | None, eps: float) -> list:
    """The approximate eigenvalues that stand for the nonzero ones: the ``zeros`` smallest in absolute
    value are the exact zeros (they lie in the component of 0, which holds at least that many)."""
    if not zeros:
        return values
    drop = set(np.argsort(np.abs(values))[:zeros].tolist())
    return [v for j, v in enumerate(values) if j not in drop]
