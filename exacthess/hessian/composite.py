r"""Block-row certificates from the channel x spatial structure of convolutions.

The chain certificates of :mod:`exacthess.structure` bound the image of a block row of
``H_f`` by tensor subspaces of *operator* space, treating every other layer's direction as a
free matrix. Under weight sharing that is loose: a direction of layer ``m`` is a convolution,
and products of convolutions have few spatial degrees of freedom. This module gives bounds
that see it.

**Spatial composites.** A bias-free convolution is :math:`A(\theta) = \sum_a W_a \otimes S_a`
with channel matrices :math:`W_a` (linear in :math:`\theta`) and 0/1 *spatial* maps
:math:`S_a` (tap ``a`` with stride and zero padding: a partial map from output to input
positions, independent of the channels). Hence every product
:math:`T_{l-1}\cdots T_1`, and every product with one factor replaced by a direction
:math:`A_m(z)`, lies in :math:`\mathbb R^{c_{l-1}\times c_0}\otimes\mathcal S_{l-1}`, where
:math:`\mathcal S_{l-1}` is spanned by the partial maps
:math:`S^{(l-1)}_{a_{l-1}}\cdots S^{(1)}_{a_1}` (finitely many, computed by composition).

**Block row l of H_f.** With :math:`\varphi(\theta) = \langle\Omega, T_{L+1}\cdots T_1\rangle`
(so :math:`H_f = \nabla^2\varphi`), the columns of block ``(l, m)`` are the functionals
:math:`\theta_l\mapsto\langle\Omega, C\,A_l(\theta_l)\,T_{<l}\rangle` with
:math:`C = T_{>m}A_m(z)T_{m-1}\cdots T_{l+1}` (``m > l``: the *upper* part) and
:math:`\theta_l\mapsto\langle\Omega, T_{>l}\,A_l(\theta_l)\,D\rangle` with
:math:`D = T_{l-1}\cdots A_m(z)\cdots T_1` (``m < l``: the *lower* part).

* Upper part, ``C`` arbitrary: restricted to output channel ``o`` of layer l the functional
  is :math:`\varepsilon\,\mathrm{vec}(C_o)` with the same matrix
  :math:`\varepsilon[\tau, (k, x)] = (T_{<l}\Omega^\top)[\mathrm{src}(\tau, x), k]` for every
  ``o`` (``tau`` a tap of one output channel, ``x`` an output position that reaches the
  network output). So its dimension is at most :math:`c_l\,\mathrm{rank}\,\varepsilon`.
* Lower part, :math:`D = e_{c'}e_{c_0}^\top\otimes S` with ``S`` a spatial composite:
  restricted to input channel ``c'`` the functional is the column ``(c_0, S)`` of
  :math:`\phi[(o, a), (c_0, S)] = \sum_x X_{o,c_0}[x, S(u_a(x))]`,
  :math:`X = T_{>l}^\top\Omega`, the same for every ``c'``: dimension at most
  :math:`c_{l-1}\,\mathrm{rank}\,\phi`.
* Both parts contain the gradient :math:`g_l = \nabla_{\theta_l}\varphi` (take ``C = T_{>l}``,
  ``D = T_{<l}``); when :math:`g_l \ne 0` the sum has dimension at most
  :math:`c_l\,\mathrm{rank}\,\varepsilon + c_{l-1}\,\mathrm{rank}\,\phi - 1`.

For ``H_L`` the rows of ``H_o`` add :math:`\theta_l\mapsto\langle V, T_{>l}A_l(\theta_l)T_{<l}R\rangle`,
an upper-type functional with :math:`T_{<l}R` in place of :math:`T_{<l}\Omega^\top`; the upper
part then uses both.

When the two parts share more than :math:`g_l` (strided layers whose taps do not overlap
have extra symmetries), the bound is replaced by the rank over :math:`\mathbb Q` of the
spanning matrix itself, if Hadamard's bound certifies it within the budget.

The ranks of :math:`\varepsilon` and :math:`\phi` (small matrices) are certified over
:math:`\mathbb Q` by :func:`exacthess.rank`; the spanning vectors themselves (reduced mod p)
give the matrix ``E_l`` the core argument of :mod:`exacthess.structure` needs.
**Biases.** With augmented operators the bias tap reads the constant coordinate (a row of
:math:`\tilde T_{<l}\tilde\Omega^\top`, so the upper part is unchanged), the lower part never
reaches a bias (a derivative of :math:`\tilde T_{<l}` has a zero constant row), and the
offsets :math:`t_{l-1}` add lower-part columns built from the 0/1 supports of
:func:`offset_supports`. The gradient is then not shared (its bias part is not in the lower
part); the bias-free *data gradient* :func:`data_gradient` is in the lower part by
construction, and when its channel slices lie in ``col(eps)`` (a certified rank check) the
``- 1`` holds again.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..models.geometry import ConvLayer
from ..certify.bounds import UPPER, Bound
from ..certify.certificate import Theorem
from ..certify.core import BlockRowSpace
from ..core.exact import rational_array
from ..core.modular import pivot_cols, rank_mod_p

__all__ = ["spatial_taps", "chain_maps", "lower_composites", "offset_supports", "reachable", "data_gradient", "pieces", "assemble", "gradient", "block_row_space",
           "data_gradient_shared"]


def spatial_taps(layer: ConvLayer) -> np.ndarray:
    """``u[a, x]``: input position read by spatial tap ``a`` at output position ``x`` (-1: padding)."""
    S_in = layer.in_shape[0] * layer.in_shape[1]
    k = layer.kernel[0] * layer.kernel[1]
    src = layer.sources[:k]  # the taps of input channel 0, in spatial order
    return np.where(src < S_in, src, -1)


def _compose(maps: np.ndarray, u: np.ndarray) -> np.ndarray:
    """All ``f o u_a`` for the partial maps ``f`` (rows of ``maps``) and taps ``a`` of ``u``."""
    g = maps[:, np.maximum(u, 0)]  # (n, k, S)
    g = np.where(u[None] >= 0, g, -1).reshape(-1, u.shape[1])
    g = np.unique(g, axis=0)
    return g[(g >= 0).any(axis=1)]


@lru_cache(maxsize=128)
def _chain_cached(layers: tuple, first: int, last: int) -> np.ndarray:
    maps = spatial_taps(layers[first - 1])
    maps = np.unique(maps, axis=0)
    maps = maps[(maps >= 0).any(axis=1)]
    for m in range(first + 1, last + 1):
        maps = _compose(maps, spatial_taps(layers[m - 1]))
    return maps


def chain_maps(layers, first: int, last: int) -> np.ndarray:
    r"""Distinct nonzero partial maps :math:`S^{(last)}_{a}\cdots S^{(first)}_{a'}`: rows map an
    output position of layer ``last`` to an input position of layer ``first`` (-1: none)."""
    return _chain_cached(tuple(layers), first, last)


def lower_composites(layers, l: int) -> np.ndarray:
    r"""The distinct nonzero spatial partial maps :math:`S^{(l-1)}_{a_{l-1}}\cdots S^{(1)}_{a_1}`.

    Returns an int array ``(n_maps, S_{l-1})`` whose row ``f`` maps a position of layer
    ``l - 1``'s output to an input position (-1: no input). ``l >= 2``."""
    return chain_maps(layers, 1, l - 1)


def offset_supports(layers, l: int) -> np.ndarray:
    r"""0/1 rows spanning the spatial parts of the bias offsets entering layer ``l``.

    The offset :math:`t_{l-1} = \sum_{m<l} T_{l-1}\cdots T_{m+1}(b_m\otimes 1)` and its
    derivatives lie in :math:`\mathbb R^{c_{l-1}}\otimes\mathrm{span}\{P\,1\}` over the
    composites ``P`` from layer ``l - 1`` down to ``m + 1``: ``P 1`` is the indicator of the
    domain of ``P`` (and ``1`` itself for ``m = l - 1``)."""
    S = layers[l - 2].out_shape[0] * layers[l - 2].out_shape[1]
    rows = [np.ones((1, S), dtype=np.int64)]
    for m in range(1, l - 1):
        rows.append((chain_maps(layers, m + 1, l - 1) >= 0).astype(np.int64))
    v = np.unique(np.concatenate(rows, axis=0), axis=0)
    return v[v.any(axis=1)]


def reachable(layers, l: int) -> np.ndarray:
    """Output positions of layer ``l`` that some path reads into the network output."""
    L1 = len(layers)
    last = layers[-1]
    reach = np.arange(last.out_shape[0] * last.out_shape[1])
    for m in range(L1, l, -1):
        u = spatial_taps(layers[m - 1])[:, reach]
        reach = np.unique(u[u >= 0])
    return reach


def _upper_eps(ring, layer: ConvLayer, Y: np.ndarray, reach: np.ndarray) -> np.ndarray:
    """``eps[tau, (j, x)] = Y[src(tau, x), j]`` for one output channel's taps, ``x`` in reach.

    ``Y`` has ``n_in`` rows, or ``n_in + 1`` with the constant coordinate read by the bias tap."""
    src = layer.sources[:, reach]  # (T, |reach|)
    extra = layer.n_in + 2 - Y.shape[0]
    Yp = np.concatenate([Y, ring.zeros((extra, Y.shape[1]))], axis=0)
    G = Yp[src]  # (T, |reach|, cols)
    T = src.shape[0]
    return np.ascontiguousarray(G.transpose(0, 2, 1).reshape(T, -1))


def _lower_phi(ring, layer: ConvLayer, X: np.ndarray, maps: np.ndarray, c0: int, offsets=None) -> np.ndarray:
    """``phi[(o, a), (c0, f)] = sum_x X[(o, x), (c0, f(u_a(x)))]``, then, with biases, the
    columns ``sum_x X[(o, x), const] v(u_a(x))`` for the offset supports ``v``."""
    u = spatial_taps(layer)  # (k, S_l) positions of layer l-1's output
    k, S_l = u.shape
    n0 = X.shape[1] - (0 if offsets is None else 1)  # the constant column comes last
    d_sp = n0 // c0
    g = maps[:, np.maximum(u, 0)]  # (n_maps, k, S_l) input positions
    g = np.where(u[None] >= 0, g, -1)
    g = np.where(g >= 0, g, d_sp)  # d_sp: a zero column
    c_l = layer.c_out
    Xr = X[:, :n0].reshape(c_l, S_l, c0, d_sp)
    Xp = np.concatenate([Xr, ring.zeros((c_l, S_l, c0, 1))], axis=3)
    G = g.transpose(1, 0, 2)  # (k, n_maps, S_l)
    xs = np.broadcast_to(np.arange(S_l), G.shape)
    V = Xp[:, xs, :, G]  # advanced indices first: (k, n_maps, S_l, c_l, c0)
    V = ring.sum(V, axis=2)  # (k, n_maps, c_l, c0)
    phi = V.transpose(2, 0, 3, 1).reshape(c_l * k, c0 * maps.shape[0])
    if offsets is not None:
        xa = X[:, n0].reshape(c_l, S_l)
        Vz = np.concatenate([offsets, np.zeros((offsets.shape[0], 1), dtype=np.int64)], axis=1)  # v[-1] = 0
        W = Vz[:, np.where(u >= 0, u, offsets.shape[1])]  # (n_v, k, S_l) 0/1
        cols = []
        for j in range(offsets.shape[0]):
            mask = W[j].T  # (S_l, k)
            cols.append(ring.matmul(xa, ring.convert(rational_array(mask))).reshape(c_l * k, 1))
        phi = np.concatenate([phi] + cols, axis=1)
    return np.ascontiguousarray(phi)


def pieces(e, l: int, with_o: bool):
    """``(eps, phi)`` of block row ``l`` over the engine's ring (None for an absent part).

    ``eps`` (taps of one output channel x ``(column, x)``) spans the upper part for each
    output channel; ``phi`` (``(o, a)`` x ``(c_0, S)``) spans the lower part for each input
    channel. For ``H_L`` (``with_o``) the upper part also has the columns of ``T_{<l} R``."""
    layers = e.arch.layers
    L1 = len(layers)
    layer = layers[l - 1]
    eps = phi = None
    if l < L1 or with_o:
        parts = [e.forward_omega[l - 1]] if l < L1 else []
        if with_o:
            parts.append(e.forward_R[l - 1])
        eps = _upper_eps(e.ring, layer, np.concatenate(parts, axis=1), reachable(layers, l))
    if l >= 2:
        X = e.ring.matmul(np.ascontiguousarray(e.backward[l][:, : layer.n_out].T), e.omega)
        offsets = offset_supports(layers, l) if e.aug else None
        phi = _lower_phi(e.ring, layer, X, lower_composites(layers, l), layers[0].c_in, offsets)
    return eps, phi


def assemble(ring, layer: ConvLayer, eps, phi) -> np.ndarray:
    r"""The spanning matrix ``E`` (``p_l`` rows, documented order): ``eps`` repeated on the
    parameters of every output channel, ``phi`` on the weights of every input channel (the
    lower part does not reach biases: the constant row of a derivative of
    :math:`\tilde T_{<l}` is zero)."""
    T = layer.n_taps
    k_sp = layer.kernel[0] * layer.kernel[1]
    c_out, c_in = layer.c_out, layer.c_in
    blocks = []
    if eps is not None:
        r = eps.shape[1]
        E = ring.zeros((c_out * T, c_out * r))
        for o in range(c_out):
            E[o * T:(o + 1) * T, o * r:(o + 1) * r] = eps
        blocks.append(E)
    if phi is not None:
        r = phi.shape[1]
        E = ring.zeros((c_out * T, c_in * r))
        rows_oa = (np.arange(c_out)[:, None] * T + np.arange(k_sp)[None, :]).ravel()  # (o, a) of c' = 0
        for c in range(c_in):
            E[rows_oa + c * k_sp, c * r:(c + 1) * r] = phi
        blocks.append(E)
    E = np.concatenate(blocks, axis=1) if blocks else ring.zeros((c_out * T, 0))
    return np.ascontiguousarray(E[layer.tap_to_documented])  # tap order -> documented order


def gradient(e, l: int) -> np.ndarray:
    """``g_l = A_l^*(T_{>l}^T Omega T_{<l}^T)``, the gradient of ``<Omega, F>`` in ``theta_l``."""
    g = e.contract(l, e.backward[l], e.forward_omega[l - 1])  # rows (b, a) over K x K
    K = e.K
    return e.ring.sum(g[[b * K + b for b in range(K)]], axis=0)


def block_row_space(hints, l: int, with_o: bool):
    r"""Composite bound for block row ``l`` of ``H_f`` (or ``H_L`` when ``with_o``).

    Args:
        hints: the :class:`~exacthess.hessian.structure.StructureHints` (the matrix source,
            engines over QQ and GF(p), and certified small ranks).

    Returns:
        a :class:`~exacthess.certify.core.BlockRowSpace` whose bound is
        :math:`c_l\,\mathrm{rank}\,\varepsilon + c_{l-1}\,\mathrm{rank}\,\phi - [g_l \ne 0]`
        (with the ``composite`` theorem's certificate) and whose spanning matrix (mod p) spans over
        Q a space containing the image; or ``None`` when a small rank could not be certified.
    """
    gf, p, small = hints.gf, hints.p, hints.small
    layer = gf.arch.layers[l - 1]
    ep, fp = pieces(gf, l, with_o)
    names = (f"eps{l},{int(with_o)}", f"phi{l}")
    dim, parts, chosen = 0, [], []
    for name, mp, copies in ((names[0], ep, layer.c_out), (names[1], fp, layer.c_in)):
        if mp is None:
            chosen.append(None)
            continue
        cert = small.get(name)
        piv = pivot_cols(mp, p)
        if cert is None or len(piv) != cert.value:
            return None  # the chosen columns must span over Q: rank mod p = certified rank
        dim += copies * cert.value
        parts.append(cert)
        chosen.append(np.ascontiguousarray(mp[:, piv]))
    minus = 0
    if ep is not None and fp is not None:
        if not gf.aug:
            g = small.get(f"grad{l}")
            if g is not None and g.value >= 1:  # g_l lies in both parts
                minus, parts = 1, parts + [g]
        else:
            shared = data_gradient_shared(hints, l, with_o)
            if shared:
                minus, parts = 1, parts + list(shared)
    dim -= minus
    E = assemble(gf.ring, layer, *chosen)
    known = rank_mod_p(E, p) if ep is not None and fp is not None else None  # a lower bound on rank E over Q
    if known is not None and known >= E.shape[0]:  # E spans the whole block: no bound below its size
        return None
    if known is not None and known < dim:
        # the parts share more than the gradient (e.g. strided, non-overlapping taps): the
        # dimension of their sum is the rank over Q of the whole spanning matrix, if certifiable
        full = small.get(f"Efull{l},{int(with_o)}")
        if full is not None and full.value < dim:
            dim, parts = full.value, parts + [full]
    node = Theorem(name="composite", args={"layer": l, "with_o": with_o, "minus": minus}, parts=tuple(parts),
                   how="channel x spatial composite")
    return BlockRowSpace(Bound(dim, UPPER, "structure", "channel x spatial composite", certificate=node), E,
                         "composite")


def data_gradient(e, l: int) -> np.ndarray:
    r"""``g_l^0``: the gradient of :math:`\langle\Omega, T_{L+1}\cdots T_1\rangle` in layer l's
    parameters with every bias and the constant input column dropped (zero on biases)."""
    n0 = e.dim(0) - e.aug
    cols = e.forward_all(np.ascontiguousarray(e.ring.eye(e.dim(0))[:, :n0]))[l - 1]  # T~_{<l} on data
    Y = e.ring.matmul(cols, np.ascontiguousarray(e.omega[:, :n0].T))
    g = e.contract(l, e.backward[l], Y)
    K = e.K
    return e.ring.sum(g[[b * K + b for b in range(K)]], axis=0)


def data_gradient_shared(hints, l: int, with_o: bool):
    r"""With biases: does ``g_l^0`` (:func:`data_gradient`) lie in both parts?

    Lower part: always (take :math:`\tilde D = [T_{<l} \mid 0]`, a bias-free composite).
    Upper part: iff every output channel's slice lies in ``col(eps)``, checked as
    ``rank [eps | W] = rank eps`` over Q with both ranks certified (``W`` holds the slices).
    Then the parts share a nonzero vector when ``g_l^0 != 0`` (a nonzero entry modulo p).

    Returns:
        the certificates proving it (``[eps | W]`` and ``g_l^0``), or None."""
    small = hints.small
    eps, both, g = small.get(f"eps{l},{int(with_o)}"), small.get(f"epsW{l},{int(with_o)}"), small.get(f"datagrad{l}")
    if eps is None or both is None or g is None or g.value < 1 or both.value != eps.value:
        return None
    return [both, g]
