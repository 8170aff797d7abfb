r"""The layer operators of one network over one domain, and their products.

Layer :math:`l` (``1..L+1``) acts on its input by a Toeplitz-structured operator
:math:`T_l = T_l(\theta_l)`, linear in its own parameters (:mod:`exacthess.models.toeplitz`);
with biases the operators are augmented,
:math:`\tilde T_l = \begin{pmatrix} T_l & b_l \otimes 1 \\ 0 & 1\end{pmatrix}`, so that
:math:`\tilde h_l = \tilde T_l \tilde h_{l-1}` carries a constant coordinate. The products
over ranges of layers,

* :math:`T_{>l} = T_{L+1}\cdots T_{l+1}` restricted to the ``K`` outputs (:attr:`OperatorChain.backward`),
* :math:`T_{<l} = T_{l-1}\cdots T_1` applied to given columns (:meth:`OperatorChain.forward_all`),
* :math:`M = T_{m-1}\cdots T_{l+1}` (:meth:`OperatorChain.between`),

are the factors of every Hessian block of a linear network and the chain of the structural
certificates of any network (the activations do not enter them). :meth:`OperatorChain.contract`
gathers a product of a left and a right factor onto one layer's parameters through its tap
table (:mod:`exacthess.hessian.taps`).

The chain depends on the parameters only, not on the data or the loss: both Hessian routes
(:mod:`exacthess.hessian.samplefree`, :mod:`exacthess.hessian.persample`) read it.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from ..core.domains import Ring
from ..models.architectures import Architecture
from ..models.toeplitz import toeplitz_operator
from .taps import gather_sources

__all__ = ["OperatorChain"]


class OperatorChain:
    """The (augmented) layer operators of ``arch`` at ``weights`` over ``ring``, and their products.

    Args:
        arch: the architecture.
        weights: per layer, the parameters in tap ordering (:class:`~exacthess.hessian.problem.Problem`).
        ring: the domain (:mod:`exacthess.core.domains`): exact rationals, GF(p), floats,
            magnitudes or symbols; the weights are converted into it.

    Layer indices are 1-based (``1..L+1``) as in the papers; ``l = 0`` is the input.
    """

    def __init__(self, arch: Architecture, weights, ring: Ring):
        self.arch = arch
        self.ring = ring
        self.aug = arch.bias
        self.layers = arch.layers
        self.K = arch.output_dim
        self.L1 = len(self.layers)  # L + 1
        self.weights = [ring.convert(w) for w in weights]

    @cached_property
    def ops(self) -> list:
        r"""``ops[l-1]`` = :math:`\tilde T_l`, the augmented operator of layer l (``dim(l) x dim(l-1)``)."""
        return [toeplitz_operator(layer, w, self.ring, self.aug) for layer, w in zip(self.layers, self.weights)]

    def dim(self, l: int) -> int:
        """Size of the (augmented) space after layer l (l = 0 is the input)."""
        n = self.layers[0].n_in if l == 0 else self.layers[l - 1].n_out
        return n + self.aug

    @cached_property
    def backward(self) -> list:
        r"""``backward[l]`` = :math:`T_{>l}` restricted to the K outputs, shape ``K x dim(l)``."""
        r = self.ring
        out = [None] * (self.L1 + 1)
        top = r.zeros((self.K, self.dim(self.L1)))
        top[:, : self.K] = r.eye(self.K)
        out[self.L1] = top
        for l in range(self.L1, 0, -1):
            out[l - 1] = r.matmul(out[l], self.ops[l - 1])
        return out

    @cached_property
    def end_to_end(self) -> np.ndarray:
        r""":math:`\hat F = T_{L+1}\cdots T_1` (``K x dim(0)``); with biases its last column is the offset."""
        return self.backward[0]

    def forward_all(self, cols: np.ndarray) -> list:
        r"""``[cols, T_1 cols, T_2 T_1 cols, ...]``: ``out[l-1]`` = :math:`T_{<l}` ``cols``."""
        out = [cols]
        for l in range(1, self.L1):
            out.append(self.ring.matmul(self.ops[l - 1], out[-1]))
        return out

    def between(self, l: int, m: int) -> np.ndarray:
        r""":math:`M = T_{m-1}\cdots T_{l+1}` (``dim(m-1) x dim(l)``; the identity when m = l + 1)."""
        cur = self.ring.eye(self.dim(l))
        for k in range(l + 1, m):
            cur = self.ring.matmul(self.ops[k - 1], cur)
        return cur

    def contract(self, l: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        r"""``out[(b, a), theta]`` = :math:`\sum_{(r, c) \in \mathrm{pos}(\theta)}` ``left[a, r] right[c, b]``.

        ``left`` has shape ``(A, dim(l))`` and ``right`` ``(dim(l-1), B)``; the result has
        ``B * A`` rows (``b`` major) and the parameters of layer l as columns (documented
        order): the derivative of ``left T_l right`` with respect to :math:`\theta_l`, gathered
        through the layer's tap table."""
        r = self.ring
        layer = self.layers[l - 1]
        T, N = layer.sources.shape
        A, B = left.shape[0], right.shape[1]
        Lr = left[:, : layer.n_out].reshape(A * layer.c_out, N)
        Rg = gather_sources(r, right, layer)  # (T, N, B)
        C = r.matmul(Lr, np.ascontiguousarray(Rg.transpose(1, 0, 2).reshape(N, T * B)))
        C = C.reshape(A, layer.c_out, T, B).transpose(3, 0, 1, 2).reshape(B * A, layer.c_out * T)
        return C[:, layer.tap_to_documented]
