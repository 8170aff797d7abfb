r"""Proven bounds on the generic rank of a Hessian: one modular evaluation below, null vectors above.

Let ``H(theta, X, Y)`` be one of :math:`H_o, H_f, H_L` (or a block column) as a matrix of
polynomials in the parameters, inputs and targets, and let its *generic rank* be its rank over the
field of fractions :math:`\mathbb Q(\theta, X, Y)`, equivalently the largest rank at any point
(it is attained on a dense open set: the complement of the zeros of one nonzero minor).

**Lower bound.** A nonzero ``r x r`` minor at one point is a polynomial that is not identically
zero, so the generic rank is at least the rank at any point; and a rank modulo p is at most the
rank over :math:`\mathbb Q` at the same integer point (every minor mod p is the image of a minor).
So :func:`exacthess.hessian` over ``GF(p)`` at an integer point with random residues proves a
lower bound; the maximum over a few points is kept.

**Upper bound.** If ``v_1, ..., v_k`` are polynomial vectors with :math:`H v_i \equiv 0` in the
polynomial ring, they lie in the kernel of ``H`` over the fraction field, so
:math:`\mathrm{rank}\, H \le \#\mathrm{cols} - \mathrm{rank}[v_1 \cdots v_k]`. The rank of the
``v_i`` over the fraction field is at least their rank at any point, which is at least their rank
modulo p there. Hence ``cols - rank_p[v_i(point)]`` is a proven upper bound. The vectors come from
:mod:`exacthess.generic.nullvectors`; each is proven in the polynomial ring (expanded by
:class:`~exacthess.generic.network.SymbolicNetwork`, or factored by
:mod:`~exacthess.generic.lemma`). Their values at the point are computed as minors of the evaluated
products, which *are* the evaluated polynomial vectors (evaluation is a ring homomorphism), so
the rank at the point is the rank of the proven vectors there.

When the two bounds meet, the generic rank is proven. Otherwise the interval is reported: the
missing null vectors are not in the families exacthess knows for that architecture.
"""

from __future__ import annotations

import time

import numpy as np

from ..core.domains import GF
from ..core.modular import rank_mod_p
from ..core.progress import Update
from ..hessian.matrices import hessian
from ..models.quantities import block_column, parse_quantity
from .network import SymbolicNetwork
from .nullvectors import Catalogue, select

__all__ = ["GenericProver", "quantity_columns"]


def quantity_columns(arch, quantity: str) -> tuple[int, int, int | None]:
    """``(first column, number of columns, layer)`` of a quantity (layer None: full matrix)."""
    q = parse_quantity(quantity)
    return (*q.columns(arch), q.layer)


class GenericProver:
    """Shared state (symbolic network, points, exact Hessians mod p, proofs) for one architecture.

    Args:
        arch: the architecture; n_samples: number of samples; seed: seed of the points.
        n_points: random points for the lower bound (the first also selects null vectors).
        progress: optional callable receiving short messages.
    """

    def __init__(self, arch, n_samples: int, *, seed: int = 0, n_points: int = 2, progress=None,
                 expand: bool = False):
        self.arch = arch
        self.expand = expand
        self.n_samples = n_samples
        self.say = progress or (lambda msg: None)
        self.say(f"the symbolic network and {n_points} random points modulo primes")
        self.net = SymbolicNetwork(arch, n_samples)
        self.points = [self.net.point(seed, i) for i in range(n_points)]
        self.hessians = [hessian(arch, params=pt.params, data=(pt.X, pt.Y), domain=GF(pt.p)) for pt in self.points]
        self.catalogue = Catalogue(self.net, self.points[0])
        self.proofs: dict = {}
        self.lower_cache: dict = {}

    @property
    def primes(self) -> tuple:
        return tuple(pt.p for pt in self.points)

    def matrix(self, quantity: str, i: int = 0) -> np.ndarray:
        q = parse_quantity(quantity)
        M = getattr(self.hessians[i], q.matrix)
        start, width = q.columns(self.arch)
        return M[:, start:start + width] if q.is_block_column else M

    def lower(self, quantity: str) -> int:
        if quantity not in self.lower_cache:
            self.lower_cache[quantity] = max(rank_mod_p(self.matrix(quantity, i), pt.p)
                                             for i, pt in enumerate(self.points))
        return self.lower_cache[quantity]

    def prove(self, cand, checks: tuple) -> bool:
        """Prove ``cand`` a null vector for every part in ``checks`` (``"o"``, ``"f"``).

        Rank-one vectors get the factored proof of :mod:`~exacthess.generic.lemma` (unless
        ``self.expand``); every other vector is expanded and checked in the polynomial ring."""
        key = (cand.key, checks)
        if key in self.proofs:
            return self.proofs[key]
        if cand.proof == "cramer" and not self.expand:
            lemma = self.catalogue.lemma
            ok = checks == ("o",) and lemma.verify(lemma.conditions(self.net.L1, "o")[0])
        elif cand.block is not None and not self.expand:
            ok = checks == ("f",) and self.net.multilinear and cand.block.annihilated()[0]
        elif cand.spaces is not None and not self.expand:
            ok = self._factored(cand, checks)
        else:
            vec = cand.build()
            ok = all((self.net.check_o if c == "o" else self.net.check_f)(vec) for c in checks)
        self.proofs[key] = ok
        return ok

    def _factored(self, cand, checks: tuple) -> bool:
        U, A = cand.spaces
        lemma = self.catalogue.lemma
        used = set()
        for part in checks:
            for cond in lemma.conditions(cand.layer, part):
                if not cond.met_by(U.prefix, A.prefix) or not lemma.verify(cond):
                    return False
                used.add("u" if cond.met_by(U.prefix, ()) else "a")
        return all((U if side == "u" else A).annihilated()[0] for side in used)

    def _upper(self, quantity: str, groups: list, checks: tuple) -> tuple[int, dict, int]:
        """Select, prove and count null vectors; ``groups`` = ``[(candidates, target)]``."""
        p = self.points[0].p
        self.proof_kinds = {}
        H = self.matrix(parse_quantity(quantity).matrix)
        proven, families, failed = [], {}, 0
        for cands, target in groups:
            if target <= 0:
                continue
            kept, _ = select(cands, H, p, target)
            for i, c in enumerate(kept):
                self.say(Update(f"{quantity}: proving null vectors in the polynomial ring",
                                stage=f"{quantity}: proving {len(kept)} null vectors", done=i, total=len(kept)))
                if self.prove(c, checks):
                    proven.append(c)
                    families[c.family] = families.get(c.family, 0) + 1
                    kind = ("expanded" if self.expand else "cramer" if c.proof == "cramer" else
                            "expanded" if (c.spaces is None and c.block is None)
                            else "lemma" if c.spaces is not None else "laplace")
                    self.proof_kinds[kind] = self.proof_kinds.get(kind, 0) + 1
                else:
                    failed += 1
        if not proven:
            return 0, families, failed
        # rank of the proven vectors at the point: evaluation is a ring homomorphism, so the
        # numeric cofactor vectors (minors of the evaluated products) ARE the evaluated vectors
        rows = np.array([c.numeric for c in proven], dtype=np.int64)
        return rank_mod_p(rows, p), families, failed

    def bounds(self, quantity: str) -> dict:
        """Proven ``lower`` and ``upper`` bounds of the generic rank and how they were obtained."""
        t0 = time.perf_counter()
        arch, cat = self.arch, self.catalogue
        start, width, layer = quantity_columns(arch, quantity)
        lo = self.lower(quantity)
        if quantity == "H_o":
            groups, checks = [(cat.candidates("H_o"), width - lo)], ("o",)
        elif quantity == "H_L":
            groups, checks = [(cat.candidates("H_L"), width - lo)], ("o", "f")
        elif layer is not None:
            groups, checks = [(cat.candidates("H_f", layer), width - lo)], ("f",)
        else:
            groups = [(cat.candidates("H_f", l), arch.layer_param_counts[l - 1] - self.lower(block_column(l)))
                      for l in range(1, len(arch.layers) + 1)]
            checks = ("f",)
        k, families, failed = self._upper(quantity, groups, checks)
        return {"lower": lo, "upper": width - k, "null_vectors": k, "families": families,
                "failed": failed, "proof_kinds": dict(self.proof_kinds), "rows": arch.n_params, "cols": width, "seconds": time.perf_counter() - t0}
