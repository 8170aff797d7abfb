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

All vectors are computed exactly over :math:`\mathbb Q` (null spaces of the small matrices
:math:`S_o` by exact elimination) and handed to the pipeline as a
:class:`~exacthess.certify.certificate.NullVectors` proposal, with ``k`` pivot coordinates where
they are independent modulo a prime. They are *proposals*: the checker verifies ``H v = 0``
(or ``J v = 0``) against the matrix before they bound anything (``rank H <= p - k``; with the
pivots ``P``, ``rank H = rank H[I, I]`` on the complement ``I``).
"""

from __future__ import annotations

import numpy as np
from flint import fmpq, fmpq_mat

from ..certify.certificate import NullBlock, NullVectors
from ..core.domains import QQ
from ..core.modular import pivot_cols, pivot_rows
from .composite import reachable
from .taps import gather_sources

__all__ = ["locally_constant", "rescalings", "channel_rows", "exact_nullspace"]

_ONE, _ZERO = fmpq(1), fmpq(0)
#: a block of exact null vectors whose entries take more bits than this is not proposed (checking it
#: would cost more than it saves; the bound is then weaker, never wrong)
MAX_BLOCK_BITS = 1 << 20


def _bits(K: np.ndarray) -> int:
    return sum(int(v.p).bit_length() + int(v.q).bit_length() for v in K.flat)


def exact_nullspace(S: np.ndarray) -> tuple:
    """``(K, free)``: a basis of ``{w : S w = 0}`` over Q (columns of the object array ``K``) with
    ``K[free] = I`` (the free columns of the reduced row echelon form of ``S``)."""
    m, T = S.shape
    if m == 0:
        K = np.empty((T, T), dtype=object)
        K.fill(_ZERO)
        for i in range(T):
            K[i, i] = _ONE
        return K, list(range(T))
    R, r = fmpq_mat(m, T, list(S.flat)).rref()
    piv, j = [], 0
    for i in range(r):
        while R[i, j] == 0:
            j += 1
        piv.append(j)
        j += 1
    free = [c for c in range(T) if c not in set(piv)]
    K = np.empty((T, len(free)), dtype=object)
    K.fill(_ZERO)
    for c, f in enumerate(free):
        K[f, c] = _ONE
        for i, pj in enumerate(piv):
            K[pj, c] = -R[i, f]
    return K, free


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


def locally_constant(problem, p: int, second_order: bool = True, with_rescalings: bool = False) -> NullVectors | None:
    """Locally constant directions (see the module docstring), exact: proposed null vectors of ``H_L``,
    ``H_o`` and ``H_f`` (``second_order``), or of ``J`` only; with ``with_rescalings`` the rescaling
    directions of a positively homogeneous activation join them. None when there are none."""
    arch = problem.arch
    fw = problem.forward
    blocks, free = [], []
    offset = 0
    for l, layer in enumerate(arch.layers, start=1):
        if second_order and l >= 2:
            for rows, taps in _flat_taps(fw, arch, l, offset):
                K = np.empty((len(rows), len(taps)), dtype=object)
                K.fill(_ZERO)
                for c, t in enumerate(taps):
                    K[t, c] = _ONE
                blocks.append(NullBlock(rows=tuple(int(i) for i in rows), vectors=K))
                free += [int(rows[t]) for t in taps]
            offset += layer.n_params
            continue
        patches = gather_sources(QQ, fw.post[l - 1], layer)  # (T, N, n) exact
        for o in range(layer.c_out):
            keep = _relevant(fw, arch, l, o)
            S = np.ascontiguousarray(patches.transpose(2, 1, 0)[keep])  # (#relevant, T)
            K, fr = exact_nullspace(S)
            if K.shape[1] and _bits(K) <= MAX_BLOCK_BITS:
                rows = offset + channel_rows(layer, o)
                blocks.append(NullBlock(rows=tuple(int(i) for i in rows), vectors=K))
                free += [int(rows[t]) for t in fr]
        offset += layer.n_params
    how = "loss locally constant along in-weights orthogonal to the active patches"
    if second_order:
        how = "taps reading only identically-zero units, and in-weights of layer 1 orthogonal to the active patches"
    if with_rescalings and arch.activation.piecewise:
        extra = _rescaling_block(problem, blocks, free, p)
        if extra is not None:
            block, piv = extra
            blocks.append(block)
            free += piv
            how += "; rescalings"
    if not blocks:
        return None
    return NullVectors(prime=p, blocks=tuple(blocks), pivots=tuple(free), how=how)


def _rescaling_block(problem, blocks, free, p):
    """The rescaling directions independent of the given blocks (whose vectors are the identity at
    ``free``), and pivot coordinates completing ``free``: ``(NullBlock, pivots)`` or None."""
    R = rescalings(problem)  # (n, r) exact
    if not R.shape[1]:
        return None
    from ..core.modular import reduce_mod
    Rp = reduce_mod(R, p)
    for b in blocks:  # subtract each block's part: R -= K R[free of the block]
        rows = np.asarray(b.rows)
        Kp = reduce_mod(b.vectors, p)
        fr = [i for i, r in enumerate(b.rows) if r in set(free)]
        if fr:
            coef = Rp[rows[fr]]
            Rp[rows] = (Rp[rows] - (Kp @ coef) % p) % p  # small exact products (entries < 2**42 * width)
    other = np.array([i for i in range(R.shape[0]) if i not in set(free)], dtype=np.int64)
    Rr = np.ascontiguousarray(Rp[other])
    sel = pivot_cols(Rr, p)
    if not sel:
        return None
    piv = [int(other[i]) for i in pivot_rows(np.ascontiguousarray(Rr[:, sel]), p)]
    support = np.flatnonzero(np.array([any(v != 0 for v in row) for row in R[:, sel]]))
    return NullBlock(rows=tuple(int(i) for i in support), vectors=np.ascontiguousarray(R[np.ix_(support, sel)])), piv


def _flat_taps(fw, arch, l: int, offset: int) -> list:
    """Per channel of layer ``l``, ``(rows, taps)``: the taps whose every relevant read is
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
            out.append((offset + channel_rows(layer, o), [int(t) for t in taps]))
    return out


def channel_rows(layer, o: int) -> np.ndarray:
    """Documented indices (within the layer) of channel o's parameters, in tap order (kernel taps, then bias)."""
    inv = np.empty(layer.n_params, dtype=np.int64)
    inv[layer.tap_to_documented] = np.arange(layer.n_params)
    return inv[o * layer.n_taps:(o + 1) * layer.n_taps]


def rescalings(problem) -> np.ndarray:
    """The rescaling null vectors of ``J`` for a positively homogeneous activation, exactly, as the
    columns of an ``(n_params, sum of hidden channels)`` object array."""
    arch = problem.arch
    w = problem.weights  # per layer (c_out, n_taps) in tap order, exact
    offsets = arch.layer_offsets
    vecs = []
    for l in range(1, len(arch.layers)):
        layer, nxt = arch.layers[l - 1], arch.layers[l]
        k_sp = nxt.kernel[0] * nxt.kernel[1]
        for o in range(layer.c_out):
            v = np.empty(arch.n_params, dtype=object)
            v.fill(_ZERO)
            v[offsets[l - 1] + channel_rows(layer, o)] = w[l - 1][o]
            # taps of layer l + 1 reading input channel o: tap index o * k_sp + a (spatial a), every output channel
            for c in range(nxt.c_out):
                rows = offsets[l] + channel_rows(nxt, c)[o * k_sp:(o + 1) * k_sp]
                v[rows] = [-x for x in w[l][c, o * k_sp:(o + 1) * k_sp]]
            vecs.append(v)
    if not vecs:
        return np.empty((arch.n_params, 0), dtype=object)
    return np.stack(vecs, axis=1)
