r"""Cheap rank certificates from the structure of linear-network Hessians.

Generic certification (:func:`exacthess.rank`) costs about ``k * bits / 61`` modular ranks of
the whole ``p x p`` matrix. The Hessians of linear networks have structure that gives the
upper bound almost for free:

**Chains of tensor subspaces.** Write every quantity in operator coordinates (a layer-l
parameter direction is a matrix ``Z`` in ``R^{n_l x n_{l-1}}``, read through the layer's
Toeplitz position map). Differentiating ``grad_{T_l} = T_{>l}^T Omega T_{<l}^T`` shows that
the image of block row ``l`` of ``H_f`` is contained in

.. math:: \sum_{m>l} \mathrm{row}(M_{lm}) \otimes \mathrm{col}(P_{lm})
          + \sum_{m<l} \mathrm{row}(P_{ml}) \otimes \mathrm{col}(M_{ml}),

with :math:`P_{lm} = T_{<l}\tilde\Omega^\top T_{>m}` and :math:`M_{lm} = T_{m-1}\cdots T_{l+1}`
(and ``H_o`` adds :math:`\mathrm{row}(T_{>l}) \otimes \mathrm{col}(T_{<l}\tilde\Sigma)`).
Ordered ``m = l+1, ..., L+1, [H_o], 1, ..., l-1`` the left factors *decrease* and the right
factors *increase* (each is a product of the next), so the sum is the direct sum
:math:`\bigoplus_i X_i \otimes (Y_i \ominus Y_{i-1})` and its dimension is
:math:`\sum_i \dim X_i(\dim Y_i - \dim Y_{i-1})` -- computed from *certified ranks of small
matrices*. Likewise the rows of the stacked Jacobian ``J`` lie in
:math:`\sum_l \mathrm{col}(T_{>l}) \otimes \mathrm{row}(T_{<l}R)`, a chain over layers, which
bounds ``rank H_o = rank J``.

**Restriction to a core.** If the column space of the symmetric ``H`` lies in
:math:`\bigoplus_l \mathrm{col}(E_l)` and the rows ``I_l`` of ``E_l`` have
:math:`\mathrm{rank}_p E_l[I_l] = |I_l| = ` the certified dimension bound, then restricting to
the coordinates ``I = \cup I_l`` is injective on that space and
:math:`\mathrm{rank}\, H = \mathrm{rank}\, H[I, I]` exactly. When the core ``H[I, I]`` has full
rank modulo ``p``, the rank is certified with one modular rank of a matrix of the size of the
answer. A layer whose bound cannot be certified keeps all its coordinates (always valid).

**Weight sharing.** For convolutions the chain is loose (it lets the other layers' directions
be arbitrary matrices). :mod:`exacthess.composite` gives a second bound per block row from
the channel x spatial structure of products of convolutions; the smaller certified bound is
used.
"""

from __future__ import annotations

import time

import numpy as np

from .composite import block_row_space as composite_row_space
from .engine import Engine
from ..certify.rank import RankResult, rank
from ..core.modular import pivot_cols, pivot_rows, random_small_prime, rank_mod_p
from ..core.domains import GF, QQ

__all__ = ["structured_ranks"]


class _Certifier:
    def __init__(self, qq: Engine, gf: Engine, seed: int, budget: float):
        self.qq, self.gf, self.p = qq, gf, gf.ring.p
        self.seed, self.budget = seed, budget
        self.cache: dict = {}
        self.ok = True

    def qrank(self, key, mat) -> int:
        """Certified rank over Q of a small matrix; marks failure when not certified."""
        if key not in self.cache:
            r = rank(mat, seed=self.seed, budget_seconds=self.budget)
            if not r.certified:
                self.ok = False
            self.cache[key] = r.value
        return self.cache[key]

    # P_{lm} = T_{<l} Omega^T T_{>m};  M_{lm} = T_{m-1} ... T_{l+1}
    def P(self, e: Engine, l: int, m: int):
        return e.ring.matmul(e.forward_omega[l - 1], e.backward[m])

    def chain(self, l: int, with_o: bool):
        """The chain ``[(X-rows, Y-cols) ...]`` for block row l, over QQ and GF(p)."""
        qq, gf = self.qq, self.gf
        n_l = qq.layers[l - 1].n_out
        out = []
        for m in range(l + 1, qq.L1 + 1):
            out.append(((f"M{l},{m}[:,:n{l}]", lambda e, m=m: e.between(l, m)[:, :n_l]),
                        (f"P{l},{m}", lambda e, m=m: self.P(e, l, m))))
        if with_o:
            out.append(((f"B{l}", lambda e: e.backward[l][:, :n_l]),
                        (f"S{l}", lambda e: e.forward_sigma[l - 1])))
        for m in range(1, l):
            out.append(((f"P{m},{l}[:,:n{l}]", lambda e, m=m: self.P(e, m, l)[:, :n_l]),
                        (f"M{m},{l}", lambda e, m=m: e.between(m, l))))
        return out

    def block_row_space(self, l: int, with_o: bool, p_l: int):
        """(certified dim bound, E_l mod p) for block row l of H_f (or H_L).

        ``E_l`` is None when the bound cannot reduce the layer (``>= p_l`` or uncertified)."""
        qq, gf, p = self.qq, self.gf, self.p
        chain = self.chain(l, with_o)
        dim, prev_y = 0, 0
        for (xk, xf), (yk, yf) in chain:
            dx, dy = self.qrank(xk, xf(qq)), self.qrank(yk, yf(qq))
            if dy < prev_y:
                self.ok = False  # cannot happen for a chain; refuse to certify
            dim += dx * max(dy - prev_y, 0)
            prev_y = max(prev_y, dy)
            if dim >= p_l or not self.ok:
                return dim, None
        cols = []
        ybasis = np.zeros((gf.dim(l - 1), 0), dtype=np.int64)
        for (xk, xf), (yk, yf) in chain:
            Xp, Yp = xf(gf), yf(gf)
            xr = Xp[pivot_rows(Xp, p)]
            both = np.concatenate([ybasis, Yp], axis=1)
            piv = pivot_cols(both, p)
            new = [c for c in piv if c >= ybasis.shape[1]]
            ybasis = both[:, piv]
            if xr.shape[0] and new:
                yr = both[:, new]
                cols.append(np.ascontiguousarray(gf.contract(l, xr, yr).T))
        E = np.concatenate(cols, axis=1) if cols else np.zeros((p_l, 0), dtype=np.int64)
        return dim, E

    def jacobian_bound(self) -> int:
        """Certified bound on rank J from the chain over layers."""
        qq = self.qq
        dim, prev = 0, 0
        for l in range(1, qq.L1 + 1):
            n_l = qq.layers[l - 1].n_out
            dx = self.qrank(f"R{l}", qq.forward_R[l - 1])
            dy = self.qrank(f"B{l}", qq.backward[l][:, :n_l])
            if dy < prev:
                self.ok = False
            dim += dx * max(dy - prev, 0)
            prev = max(prev, dy)
        return dim


def structured_ranks(problem, *, seed: int = 0, budget_seconds: float = 60.0, block_columns: bool = True,
                     progress=None):
    """Certified ranks of H_o, H_f, H_L (and block columns of H_f) through structure.

    Returns ``(info, fallback, cores, qq)``: ``info`` maps keys to :class:`RankResult`
    (certified where the structure certificate closes); ``fallback`` lists keys whose rank
    still needs the generic route (``info[key]`` then holds the proven bounds); ``cores`` maps
    ``"H_f"``/``"H_L"`` to ``(I, per_layer_I)``, the coordinates with
    ``rank H = rank H[I, I]``; ``qq`` is the exact engine.
    """
    say = progress or (lambda msg: None)
    rng = np.random.default_rng([seed, 11])
    p = random_small_prime(rng)
    qq, gf = Engine(problem, QQ), Engine(problem, GF(p))
    cert = _Certifier(qq, gf, seed, budget_seconds)
    info: dict[str, RankResult] = {}
    fallback: list[str] = []
    cores: dict = {}
    arch = problem.arch
    offs = arch.layer_offsets
    counts = arch.layer_param_counts

    def result(key, lower, upper, how, shape, t0):
        ok = lower == upper
        return RankResult(lower, lower, upper, ok, how if ok else "probabilistic", shape, (p,),
                          0.0 if ok else 1.0, time.perf_counter() - t0)

    # H_o = J^T (G x I) J, rank H_o = rank J when G is positive definite
    say("H_o")
    t0 = time.perf_counter()
    gram_pd = problem.gram_is_identity or cert.qrank("G", problem.G) == problem.G.shape[0]
    J = gf.jacobian_stack
    lo = rank_mod_p(J, p)
    ub = cert.jacobian_bound()
    if gram_pd and cert.ok and lo == ub:
        info["H_o"] = result("H_o", lo, ub, "certificate: rank H_o = rank J <= layer chain bound", (arch.n_params,) * 2, t0)
    else:
        fallback.append("H_o")
    for name, with_o in (("H_f", False), ("H_L", True)):
        say(name)
        t0 = time.perf_counter()
        cert.ok = True
        idx, bounds, kinds = [], [], []
        for l in range(1, len(arch.layers) + 1):
            kind = "chain"
            cert.ok = True
            dim, E = cert.block_row_space(l, with_o, counts[l - 1])
            piv = pivot_rows(E, p) if E is not None else None  # rank mod p = number of pivots
            met = piv is not None and cert.ok and len(piv) == dim and dim < counts[l - 1]
            if not met and dim > 0:  # the chain is loose here: try the composite bound
                chain_ok, cert.ok = cert.ok, True
                comp = composite_row_space(cert, l, with_o)
                if comp is not None and cert.ok and (not chain_ok or comp[0] < dim):
                    dim, E = comp
                    kind = "composite"
                    piv = pivot_rows(E, p) if dim < counts[l - 1] else None
                    met = piv is not None and len(piv) == dim
                else:
                    cert.ok = chain_ok
            rows = piv if met else list(range(counts[l - 1]))
            ub = min(dim, counts[l - 1]) if cert.ok else counts[l - 1]
            if name == "H_f":  # the diagonal block of H_f is zero: at most p - p_l nonzero columns
                ub = min(ub, arch.n_params - counts[l - 1])
            bounds.append(ub)
            kinds.append(kind)
            cert.ok = True
            idx.append([offs[l - 1] + i for i in rows])
        I = np.array([i for part in idx for i in part], dtype=np.int64)
        cores[name] = (I, idx)
        core = _gf_core(gf, name, I, offs, counts)
        k = rank_mod_p(core, p)
        if k == len(I):
            info[name] = result(name, k, k, f"certificate: core of {len(I)} coordinates has full rank mod p",
                                (arch.n_params,) * 2, t0)
        else:
            upper = min(len(I), sum(bounds)) if name == "H_f" else len(I)  # rank H_f <= sum of block columns
            info[name] = RankResult(k, k, upper, False, "probabilistic", (arch.n_params,) * 2, (p,), 1.0,
                                    time.perf_counter() - t0)
            fallback.append(name)
        if name == "H_f" and block_columns:
            start = 0
            for l in range(1, len(arch.layers) + 1):
                key = f"H_f[:,{l}]"
                n_rows = len(idx[l - 1])
                # rows of a full-rank core are independent: no further modular rank needed
                lb = n_rows if k == len(I) else rank_mod_p(core[start:start + n_rows], p)
                start += n_rows
                ubl = bounds[l - 1]
                if lb == ubl:
                    info[key] = result(key, lb, ubl, f"certificate: block-row {kinds[l - 1]} bound met mod p",
                                       (arch.n_params, counts[l - 1]), t0)
                else:
                    info[key] = RankResult(lb, lb, ubl, False, "probabilistic", (arch.n_params, counts[l - 1]),
                                           (p,), 1.0, 0.0)
                    fallback.append(key)
    return info, fallback, cores, qq


def _gf_core(gf: Engine, name: str, I: np.ndarray, offs, counts) -> np.ndarray:
    """``H[I, I]`` modulo p, block by block."""
    L1 = len(counts)
    sel = [I[(I >= offs[l]) & (I < offs[l] + counts[l])] - offs[l] for l in range(L1)]
    rows = []
    for l in range(L1):
        row = []
        for m in range(L1):
            if len(sel[l]) == 0 or len(sel[m]) == 0:
                row.append(np.zeros((len(sel[l]), len(sel[m])), dtype=np.int64))
                continue
            row.append(gf.block(name, l + 1, m + 1, rows=sel[l], cols=sel[m]))
        rows.append(np.concatenate(row, axis=1))
    return np.concatenate(rows, axis=0)
