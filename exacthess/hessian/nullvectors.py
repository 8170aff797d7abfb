r"""Exact null vectors of the Hessians of networks with nonlinear activations, from their structure.

**Locally constant directions.** Let
channel ``o`` of layer ``l`` read the patches :math:`\tilde h_{l-1}[\mathrm{src}(\tau, x)]`
(its kernel taps :math:`\tau`, bias tap included) at output positions ``x``. Call a pair
(sample ``i``, position ``x``) *relevant* when position ``x`` reaches the network output and,
for a ReLU-type activation, the unit :math:`(o, x)` is active on sample ``i``
(:math:`z > 0`; inactive units sit strictly inside the flat part, as the point has no kink). Let
:math:`S_o` be the matrix of relevant patches (one row per relevant pair). For a direction
:math:`w \in \ker S_o` in channel ``o``'s in-weights, :math:`z_{o,x}` is unchanged at every
relevant pair and moves only where :math:`\sigma` is locally constant or where nothing reaches
the output, so :math:`F(x_i;\theta + t w) = F(x_i;\theta)` for all small ``t`` and all
samples: every *first* derivative in direction ``w`` vanishes, so :math:`J w = 0` and
:math:`H_o w = 0` (``second_order=False``). Distinct channels have disjoint in-weights, so these
spaces add up directly: :math:`\dim = \sum_{l, o} (T_l - \mathrm{rank}_{\mathbb Q} S_o)` with
*certified* ranks of the small matrices :math:`S_o`. The output layer (no activation) uses every
sample and position.

For :math:`H_L` and :math:`H_f` (``second_order=True``) the direction must keep ``F`` constant
in a whole *neighbourhood* of the point, so that mixed derivatives vanish too. That holds for
the first layer (its patches are the fixed data) and, in later layers, only for the taps whose
every relevant read is *identically zero nearby* (padding, inactive ReLU units, units fed only
by such entries: :attr:`ExactForward.flat`). Directions orthogonal to nonzero patches of a
later layer are *not* null vectors of :math:`H_L`: those patches move with the earlier weights.

**Rescalings** (null vectors of :math:`J`, hence of :math:`H_o`, for positively homogeneous
activations: ReLU, leaky ReLU). Scaling channel ``o`` of hidden layer ``l`` (kernel and bias)
by :math:`\alpha > 0` and every weight of layer ``l + 1`` that reads channel ``o`` by
:math:`1/\alpha` leaves ``F`` unchanged near the point; the derivative at :math:`\alpha = 1`,
:math:`v_o = (\theta^{\mathrm{in}}_o, -\theta^{\mathrm{out}}_o)`, satisfies :math:`J v_o = 0`.

Given null vectors whose reductions mod p have full rank ``k`` (a proven lower bound on the
dimension of their span over :math:`\mathbb Q`), ``rank H <= p - k``; and with rows ``P``
where the null vectors' block is invertible, ``rank H = rank H[I, I]`` on the complement ``I``
(so a full-rank core certifies ``rank H = p - k``). The null vectors mod p are reductions of
rational ones because the ranks of the :math:`S_o` mod p equal their certified ranks over
:math:`\mathbb Q`.
"""

from __future__ import annotations

import numpy as np

from ..certify.small import SmallRanks
from ..core.modular import inverse_mod_p, nullspace_mod_p, pivot_rows, rank_mod_p
from .composite import reachable
from .taps import gather_sources

__all__ = ["NullVectors", "locally_constant", "rescalings", "channel_rows"]


class NullVectors:
    """Exact null vectors reduced modulo ``p``, block by block.

    Attributes:
        blocks: ``(rows, K)`` pairs with disjoint ``rows`` (global parameter indices); the columns
            of ``K`` (``len(rows) x k``) are independent mod p and supported on ``rows``.
        dimension: ``sum k``, a proven lower bound on the dimension of their span over Q.
        how: one line saying where they come from.
    """

    def __init__(self, blocks: list, n: int, how: str):
        self.blocks, self.n, self.how = blocks, n, how
        self.dimension = sum(K.shape[1] for _, K in blocks)

    @property
    def vectors(self) -> np.ndarray:
        """All null vectors as one dense ``(n, dimension)`` array."""
        V = np.zeros((self.n, self.dimension), dtype=np.int64)
        c = 0
        for rows, K in self.blocks:
            V[rows, c:c + K.shape[1]] = K
            c += K.shape[1]
        return V

    def rank_with(self, R: np.ndarray, p: int) -> int:
        """``rank [N | R]`` mod p: ``dimension`` plus the rank of ``R`` reduced against every block
        (``R[rows] -= K K[P]^{-1} R[P]`` with ``P`` the block's pivot rows), on the other rows."""
        R = R.copy() % p
        keep = np.ones(self.n, dtype=bool)
        for rows, K in self.blocks:
            if not K.shape[1]:
                continue
            P = pivot_rows(K, p)
            Kinv = inverse_mod_p(K[P], p)
            rows = np.asarray(rows)
            coef = (Kinv @ R[rows[P]] % p) if R.size else R[rows[P]]  # small exact products (< 2**62)
            R[rows] = (R[rows] - _mulmod(K, coef, p)) % p
            keep[rows[P]] = False
        return self.dimension + (rank_mod_p(np.ascontiguousarray(R[keep]), p) if R.size else 0)

    def __repr__(self) -> str:
        return f"NullVectors(dimension={self.dimension}, how={self.how!r})"


def _mulmod(a: np.ndarray, b: np.ndarray, p: int) -> np.ndarray:
    from ..core.domains import GF
    return GF(p).matmul(a % p, b % p)


def _relevant(fw, arch, l: int, o: int) -> np.ndarray:
    """``(n, N)`` booleans: sample i and position x matter for channel o of layer l."""
    layer = arch.layers[l - 1]
    N = layer.sources.shape[1]
    keep = np.zeros((fw.post[0].shape[1], N), dtype=bool)
    keep[:, reachable(arch.layers, l)] = True
    if l < len(arch.layers) and arch.activation.piecewise and arch.activation.slope == 0:
        d1 = fw.d1[l][o * N:(o + 1) * N]  # (N, n) exact masks
        keep &= np.array([[v != 0 for v in row] for row in d1], dtype=bool).T
    return keep


def locally_constant(engine, small: SmallRanks, second_order: bool = True) -> NullVectors | None:
    """Locally constant directions (see the module docstring) over the GF(p) engine ``engine``:
    null vectors of ``H_L``, ``H_o`` and ``H_f`` (``second_order``), or of ``J`` only.

    Returns None when the rank of some ``S_o`` cannot be certified (then no bound is claimed)."""
    ps, arch, p = engine.per_sample, engine.arch, engine.ring.p
    fw = engine.problem.forward
    blocks = []
    offset = 0
    for l, layer in enumerate(arch.layers, start=1):
        T = layer.n_taps
        patches_p = gather_sources(engine.ring, ps.post[l - 1], layer)  # (T, N, n)
        if second_order and l >= 2:
            blocks += _flat_taps(fw, arch, l, offset)
            offset += layer.n_params
            continue
        for o in range(layer.c_out):
            keep = _relevant(fw, arch, l, o)
            S = np.ascontiguousarray(patches_p.transpose(2, 1, 0)[keep])  # (#relevant, T) mod p
            r_p = rank_mod_p(S, p) if S.size else 0
            if r_p < T:
                def exact(l=l, layer=layer, keep=keep):
                    from ..core.domains import QQ
                    return np.ascontiguousarray(gather_sources(QQ, fw.post[l - 1], layer).transpose(2, 1, 0)[keep])
                r_q = small.get(("S", l, o), exact) if S.size else 0
                if r_q is None or r_q != r_p:
                    return None
                K = nullspace_mod_p(S, p)  # (T, T - r) in tap order
                blocks.append((offset + channel_rows(layer, o), K))
        offset += layer.n_params
    return NullVectors(blocks, arch.n_params, "loss locally constant along in-weights orthogonal to the active patches")


def _flat_taps(fw, arch, l: int, offset: int) -> list:
    """Per channel of layer ``l``, the unit vectors of the taps whose every relevant read is
    identically zero near the point (null vectors of the Hessians, not only of ``J``)."""
    layer = arch.layers[l - 1]
    prev = fw.flat[l - 1]  # (dim(l-1), n)
    n = prev.shape[1]
    ext = np.concatenate([prev[: layer.n_in], np.zeros((1, n), dtype=bool), np.ones((1, n), dtype=bool)], axis=0)
    reads = ext[layer.sources].transpose(2, 1, 0)  # (n, N, T): the read is identically zero
    out = []
    for o in range(layer.c_out):
        keep = _relevant(fw, arch, l, o)
        taps = np.flatnonzero(reads[keep].all(axis=0)) if keep.any() else np.arange(layer.n_taps)
        if len(taps):
            K = np.zeros((layer.n_taps, len(taps)), dtype=np.int64)
            K[taps, np.arange(len(taps))] = 1
            out.append((offset + channel_rows(layer, o), K))
    return out


def channel_rows(layer, o: int) -> np.ndarray:
    """Documented indices (within the layer) of channel o's parameters, in tap order (kernel taps, then bias)."""
    inv = np.empty(layer.n_params, dtype=np.int64)
    inv[layer.tap_to_documented] = np.arange(layer.n_params)
    return inv[o * layer.n_taps:(o + 1) * layer.n_taps]


def rescalings(engine) -> np.ndarray:
    """The rescaling null vectors of ``J`` for a positively homogeneous activation, as the columns
    of an ``(n_params, sum of hidden channels)`` array mod p."""
    arch, p = engine.arch, engine.ring.p
    w = engine.weights  # per layer (c_out, n_taps) in tap order, mod p
    offsets = arch.layer_offsets
    vecs = []
    for l in range(1, len(arch.layers)):
        layer, nxt = arch.layers[l - 1], arch.layers[l]
        k_sp = nxt.kernel[0] * nxt.kernel[1]
        for o in range(layer.c_out):
            v = np.zeros(arch.n_params, dtype=np.int64)
            v[offsets[l - 1] + channel_rows(layer, o)] = w[l - 1][o]
            # taps of layer l + 1 reading input channel o: tap index o * k_sp + a (spatial a), every output channel
            for c in range(nxt.c_out):
                rows = offsets[l] + channel_rows(nxt, c)[o * k_sp:(o + 1) * k_sp]
                v[rows] = (-w[l][c, o * k_sp:(o + 1) * k_sp]) % p
            vecs.append(v)
    return np.stack(vecs, axis=1) if vecs else np.zeros((arch.n_params, 0), dtype=np.int64)
