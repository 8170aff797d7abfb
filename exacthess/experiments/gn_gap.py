r"""The Gauss--Newton error, exactly: ``H_L = G + C`` and the two parts of ``C``.

For the loss :math:`\ell(\theta) = \sum_i l(F(x_i;\theta), y_i)`,

.. math:: H_L = \underbrace{\sum_i J_i^\top \nabla^2 l_i\, J_i}_{G\ (\text{Gauss--Newton}, = H_o)}
          + \underbrace{\sum_i \sum_c (\nabla l_i)_c\, \nabla^2_\theta F_c(x_i)}_{C\ (\text{curvature term}, = H_f)},

and :math:`C = C_{\mathrm{cross}} + C_{\mathrm{act}}` (:mod:`exacthess.hessian.persample`):

* :math:`C_{\mathrm{act}}` -- the part from the activations' second derivatives
  :math:`\sigma''`; zero for linear and ReLU-type activations;
* :math:`C_{\mathrm{cross}}` -- the rest: the second derivative of each bilinear map
  :math:`(W_m, \tilde h_{m-1}) \mapsto W_m \tilde h_{m-1}` with the activation derivatives frozen.
  It lives in the *cross-layer* blocks ``(l, m)``, ``l != m``, only (a layer's output is linear in
  its own weights), and it is linear in the residuals :math:`\nabla l_i` (for MSE
  :math:`F(x_i) - y_i`): zero at a perfect fit, nonzero otherwise.

Hence for ReLU-type activations (the "no error with variations of ReLU" of ``[skorski2021]``,
docs/references.md) the within-layer blocks of ``C`` vanish exactly, while the cross-layer
blocks do not. Every number here is an exact rational (``fmpq``).

>>> from exacthess import FCN
>>> gap = gauss_newton_gap(FCN(2, (2,), 1, activation="relu"), n_samples=3)
>>> gap.activation_fro2, gap.within_layer_fro2, gap.cross_layer_fro2 > 0
(0, 0, True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from flint import fmpq

from ..certify.rank import rank
from ..core.domains import QQ
from ..certify.rank import CERTIFY_OPTIONS
from ..core.progress import Tracker, Update, check_progress, open_progress, prefixed
from ..core.validate import check_bool, check_option, check_samples, check_seed
from ..hessian.cost import gap_cost, require_fits, sample_count
from ..hessian.problem import check_params
from ..models.architectures import check_architecture
from ..hessian.engine import Engine
from ..models.architectures import Architecture
from ..verification.points import frobenius2, kink_free_problem, scaled_params

__all__ = ["GaussNewtonGap", "BlockGap", "gauss_newton_gap", "gap_of_problem", "split_blocks"]


def _ratio(a: fmpq, b: fmpq):
    return None if b == 0 else a / b


def _decimal(v: fmpq) -> str:
    """An exact rational shown to 6 significant digits (through ``Fraction``: no overflow)."""
    return f"{float(Fraction(int(v.p), int(v.q))):.6g}"


def _rank_text(r) -> str:
    return str(r.value) if r.certified else f"in [{r.lower}, {r.upper}]"


@dataclass
class BlockGap:
    """One layer block ``(l, m)`` of the split (exact squared Frobenius norms and certified ranks).

    ``rank_G``/``rank_C`` are :class:`~exacthess.certify.rank.RankResult` s (``.value``,
    ``.certified``, ``.how``)."""

    l: int
    m: int
    gn_fro2: fmpq
    curvature_fro2: fmpq
    activation_fro2: fmpq
    cross_layer_fro2: fmpq
    rank_G: object = None
    rank_C: object = None

    @property
    def within_layer(self) -> bool:
        return self.l == self.m

    @property
    def curvature_ratio(self):
        """``curvature_fro2 / gn_fro2`` (None when ``G`` vanishes on this block)."""
        return _ratio(self.curvature_fro2, self.gn_fro2)

    def to_dict(self) -> dict:
        return {"block": [self.l, self.m], "gn_fro2": str(self.gn_fro2), "curvature_fro2": str(self.curvature_fro2),
                "activation_fro2": str(self.activation_fro2), "cross_layer_fro2": str(self.cross_layer_fro2),
                "rank_G": None if self.rank_G is None else self.rank_G.value,
                "rank_C": None if self.rank_C is None else self.rank_C.value}


@dataclass
class GaussNewtonGap:
    r"""The exact split ``H_L = G + C``, ``C = cross_layer + activation``.

    Attributes:
        arch, problem: the network and the exact point.
        G, C, activation, cross_layer, H_L: the ``p x p`` matrices over QQ (object arrays of ``fmpq``).
        gn_fro2, curvature_fro2, activation_fro2, cross_layer_fro2: exact squared Frobenius norms.
        within_layer_fro2: squared Frobenius norm of the within-layer (diagonal) blocks of ``C``.
        rank_H_L, rank_G: :class:`~exacthess.certify.rank.RankResult` of the explicit matrices (a rank
            modulo a prime is a proven lower bound; Hadamard's bound certifies the upper bound);
            when one is not certified, :attr:`rank_gap` is an interval and :attr:`undecided` says
            why and how to certify it.
        blocks: ``{(l, m): BlockGap}`` for every pair of layers.
        seed: the seed of the point actually used (ReLU-type points are moved off kinks).
        seeded: whether the point is the seeded one of ``seed`` (no given ``params``, ``data`` or
            ``scale``), so that :func:`exacthess.verify` with that seed reproduces it.
        perfect_fit: whether the targets were replaced by the network's own predictions.
    """

    arch: Architecture
    problem: object = field(repr=False)
    G: np.ndarray = field(repr=False)
    activation: np.ndarray = field(repr=False)
    cross_layer: np.ndarray = field(repr=False)
    gn_fro2: fmpq
    curvature_fro2: fmpq
    activation_fro2: fmpq
    cross_layer_fro2: fmpq
    within_layer_fro2: fmpq
    rank_H_L: object = None
    rank_G: object = None
    blocks: dict = field(default_factory=dict, repr=False)
    seed: int = 0
    seeded: bool = False
    perfect_fit: bool = False

    @property
    def C(self) -> np.ndarray:
        return QQ.add(self.cross_layer, self.activation)

    @property
    def H_L(self) -> np.ndarray:
        return QQ.add(self.G, self.C)

    @property
    def curvature_ratio(self):
        """``curvature_fro2 / gn_fro2`` (exact; None when ``G = 0``)."""
        return _ratio(self.curvature_fro2, self.gn_fro2)

    @property
    def activation_ratio(self):
        """``activation_fro2 / gn_fro2``."""
        return _ratio(self.activation_fro2, self.gn_fro2)

    @property
    def cross_layer_ratio(self):
        """``cross_layer_fro2 / gn_fro2``."""
        return _ratio(self.cross_layer_fro2, self.gn_fro2)

    @property
    def activation_share(self):
        """``activation_fro2 / cross_layer_fro2``: the activations' part against the rest of ``C``."""
        return _ratio(self.activation_fro2, self.cross_layer_fro2)

    @property
    def rank_gap(self):
        """``rank(H_L) - rank(G)``: an int when both are certified, else the proven interval ``(lo, hi)``."""
        if self.rank_H_L is None or self.rank_G is None:
            return None
        lo = self.rank_H_L.lower - self.rank_G.upper
        hi = self.rank_H_L.upper - self.rank_G.lower
        return lo if lo == hi else (lo, hi)

    @property
    def undecided(self) -> str | None:
        """Why :attr:`rank_gap` is an interval, and what would certify it (None when it is an int).

        ``G`` is the outer-product Hessian ``H_o``, so :func:`exacthess.verify` at the same point
        certifies both ranks structurally (no Hadamard primes); ``certify="always"`` certifies the
        explicit matrices with Hadamard's bound instead."""
        if not isinstance(self.rank_gap, tuple):
            return None
        open_ = [f"rank {name} in [{r.lower}, {r.upper}]" + (f" ({r.why})" if r.why else "")
                 for name, r in (("H_L", self.rank_H_L), ("G", self.rank_G)) if not r.certified]
        prob = self.problem
        fit = ", perfect_fit=True" if self.perfect_fit else ""
        call = (f"eh.verify({self.arch!r}, n_samples={prob.n_samples}, seed={self.seed}, loss={prob.loss.name!r}{fit})"
                if self.seeded else f"eh.verify(arch, params=..., data=..., loss={prob.loss.name!r}{fit}) at this point")
        return ("; ".join(open_) + f". To certify: {call} certifies rank H_L and rank G = rank H_o structurally "
                "(its ranks 'H_L' and 'H_o'), or gauss_newton_gap(..., certify='always') with Hadamard's bound")

    @property
    def certified(self) -> bool:
        """Whether every rank reported is certified (the norms are always exact)."""
        rs = [self.rank_H_L, self.rank_G] + [r for b in self.blocks.values() for r in (b.rank_G, b.rank_C)]
        return all(r is None or r.certified for r in rs)

    def __str__(self) -> str:
        """A few lines: the exact norms (shown to 6 digits), the ranks, and, for an interval
        :attr:`rank_gap`, why it is one and what would certify it (:attr:`undecided`)."""
        prob = self.problem
        lines = [f"Gauss-Newton split H_L = G + C of {self.arch!r} ({prob.loss.name}, n = {prob.n_samples}, "
                 f"seed {self.seed}), exact:",
                 "  squared Frobenius norms: " + ", ".join(
                     f"{name} {_decimal(v)}" for name, v in (("G", self.gn_fro2), ("C", self.curvature_fro2),
                                                             ("C_act", self.activation_fro2),
                                                             ("C_cross", self.cross_layer_fro2),
                                                             ("C within layers", self.within_layer_fro2)))]
        gap = self.rank_gap
        if gap is not None:
            ranks = f"  rank H_L {_rank_text(self.rank_H_L)}, rank G {_rank_text(self.rank_G)}"
            if isinstance(gap, tuple):
                lines += [ranks + f", rank gap in [{gap[0]}, {gap[1]}], not certified:", f"  {self.undecided}"]
            else:
                lines.append(ranks + f", rank gap {gap} (certified)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        extra = f", undecided={self.undecided!r}" if self.undecided else ""
        return f"GaussNewtonGap({self.arch!r}, rank_gap={self.rank_gap!r}{extra}; print() it for the norms)"

    def to_dict(self) -> dict:
        def s(v):
            return None if v is None else str(v)
        return {"architecture": repr(self.arch), "loss": self.problem.loss.name, "n_samples": self.problem.n_samples,
                "seed": self.seed, "gn_fro2": s(self.gn_fro2), "curvature_fro2": s(self.curvature_fro2),
                "activation_fro2": s(self.activation_fro2), "cross_layer_fro2": s(self.cross_layer_fro2),
                "within_layer_fro2": s(self.within_layer_fro2), "curvature_ratio": s(self.curvature_ratio),
                "activation_ratio": s(self.activation_ratio), "cross_layer_ratio": s(self.cross_layer_ratio),
                "rank_H_L": None if self.rank_H_L is None else self.rank_H_L.value,
                "rank_G": None if self.rank_G is None else self.rank_G.value,
                "rank_gap": self.rank_gap if not isinstance(self.rank_gap, tuple) else list(self.rank_gap),
                "undecided": self.undecided,
                "certified": self.certified, "blocks": [b.to_dict() for b in self.blocks.values()]}


def split_blocks(engine: Engine) -> dict:
    """``{(l, m): (G_lm, cross_lm, act_lm)}`` over the engine's domain, by the per-sample route."""
    ps, r = engine.per_sample, engine.ring
    counts = engine.arch.layer_param_counts
    curved = engine.arch.activation.has_curvature
    out = {}
    for l in range(1, engine.L1 + 1):
        for m in range(1, engine.L1 + 1):
            G = ps.block_o(l, m)
            if l < m:
                X = ps.block_cross(l, m)
            elif l > m:
                X = np.ascontiguousarray(out[(m, l)][1].T)
            else:
                X = r.zeros((counts[l - 1], counts[m - 1]))
            A = ps.block_act(l, m) if curved else r.zeros((counts[l - 1], counts[m - 1]))
            out[(l, m)] = (G, X, A)
    return out


def _assemble(blocks: dict, L1: int, k: int) -> np.ndarray:
    return np.concatenate([np.concatenate([blocks[(l, m)][k] for m in range(1, L1 + 1)], axis=1)
                           for l in range(1, L1 + 1)], axis=0)


def gauss_newton_gap(arch: Architecture, *, params=None, data=None, loss="mse", n_samples: int | None = None,
                     seed: int = 0, scale=None, ranks: bool = True, block_ranks: bool = True, certify: str = "auto",
                     perfect_fit: bool = False, progress="auto") -> GaussNewtonGap:
    r"""The exact split ``H_L = G + C`` of one network at one point, with norms and certified ranks.

    Args:
        arch: :class:`~exacthess.FCN` or :class:`~exacthess.CNN`, any activation.
        params, data, n_samples, seed, loss: the point, as in :func:`exacthess.hessian` (seeded
            when None). With a ReLU-type activation and seeded values, seeds ``seed, seed + 1, ...``
            are tried until no pre-activation is at a kink (``.seed`` says which was used).
        scale: multiply every parameter by this exact rational (e.g. ``1/8``) first.
        ranks: compute certified ``rank_H_L`` and ``rank_G``; ``block_ranks``: also per block.
        certify: ``"auto"``, ``"always"`` or ``"never"`` (see :func:`exacthess.rank`).
        perfect_fit: replace the targets by the network's own predictions first (then ``C = 0``).
        progress: ``"auto"`` (default): a live display of the stage (the split, each block's
            ranks, the certified ranks of G and H_L with their Hadamard primes) in a terminal or
            a notebook, nothing otherwise; True: always; False or None: never; or a callable
            receiving the messages (:mod:`exacthess.core.progress`).

    Returns:
        :class:`GaussNewtonGap`.
    """
    check_architecture(arch)
    seed, n_samples = check_seed(seed), check_samples(n_samples)
    check_option(certify, "certify", CERTIFY_OPTIONS)
    ranks, block_ranks = check_bool(ranks, "ranks"), check_bool(block_ranks, "block_ranks")
    perfect_fit = check_bool(perfect_fit, "perfect_fit")
    check_progress(progress)
    require_fits(gap_cost(arch, sample_count(arch, n_samples, data), loss=loss))
    if params is not None and scale is not None:
        params = check_params(arch, params)
    if params is None and scale is not None:
        from ..hessian.problem import seeded_params
        params = seeded_params(arch, seed)
    if scale is not None:
        params = scaled_params(arch, params, scale)
    n = n_samples if n_samples is not None or data is not None else 2 * arch.input_dim
    problem, used = kink_free_problem(arch, n_samples=n, seed=seed, loss=loss, params=params, data=data,
                                      fit=perfect_fit)
    with open_progress(progress, f"the Gauss-Newton split of {arch!r}") as channel:
        gap = gap_of_problem(problem, seed=used, ranks=ranks, block_ranks=block_ranks, certify=certify,
                             progress=Tracker(channel) if channel else None)
    gap.seeded = params is None and data is None
    gap.perfect_fit = perfect_fit
    return gap


def gap_of_problem(problem, *, seed: int = 0, ranks: bool = True, block_ranks: bool = True, certify: str = "auto",
                   progress=None) -> GaussNewtonGap:
    """:func:`gauss_newton_gap` at an exact :class:`~exacthess.hessian.problem.Problem`."""
    say = progress or (lambda msg: None)
    arch, used = problem.arch, seed
    say(f"the split H_L = G + C, block by block, exactly ({arch.n_params} parameters)")
    engine = Engine(problem, QQ)
    blocks = split_blocks(engine)
    L1 = engine.L1
    G, X, A = (_assemble(blocks, L1, k) for k in range(3))
    per = {}
    for i, ((l, m), (Gb, Xb, Ab)) in enumerate(blocks.items()):
        Cb = QQ.add(Xb, Ab)
        bg = BlockGap(l, m, frobenius2(Gb), frobenius2(Cb), frobenius2(Ab), frobenius2(Xb))
        if ranks and block_ranks:
            say(Update(f"certified ranks of the blocks of G and C: ({l}, {m})", stage="certified ranks of the blocks",
                       done=i, total=len(blocks)))
            bg.rank_G = rank(Gb, seed=seed, certify=certify, progress=prefixed(say, f"G[{l},{m}]"))
            bg.rank_C = rank(Cb, seed=seed, certify=certify, progress=prefixed(say, f"C[{l},{m}]"))
        per[(l, m)] = bg
    C = QQ.add(X, A)
    gap = GaussNewtonGap(arch, problem, G, A, X, frobenius2(G), frobenius2(C), frobenius2(A), frobenius2(X),
                         sum((b.curvature_fro2 for b in per.values() if b.within_layer), fmpq(0)), blocks=per, seed=used)
    if ranks:
        # the explicit matrices' ranks (modular lower bound, Hadamard upper bound): no structural shortcut
        say("certified ranks of G and H_L")
        gap.rank_G = rank(G, seed=seed, certify=certify, progress=prefixed(say, "G"))
        gap.rank_H_L = rank(QQ.add(G, C), seed=seed, certify=certify, progress=prefixed(say, "H_L"))
    return gap
