r"""The exact loss Hessian of one problem over one domain: one façade, two routes.

For a problem (:class:`~exacthess.hessian.problem.Problem`: a network, its exact parameters,
data and loss) and a domain (:mod:`exacthess.core.domains`: exact rationals, GF(p), floats,
magnitudes or sympy symbols), :class:`Engine` gives the blocks of

.. math:: H_L = \nabla^2_\theta \ell = H_o + H_f,\qquad H_o = \sum_i J_i^\top A_i J_i,

(:mod:`exacthess.hessian.route`) in the documented parameter order of the architecture. It
chooses the route once, from the problem:

* linear networks under the MSE loss: :class:`~exacthess.hessian.samplefree.SampleFree`, from the
  data moments :math:`\tilde\Sigma = R G R^\top` and :math:`\hat Y` (cost independent of the number of
  samples);
* every other network and loss: :class:`~exacthess.hessian.persample.PerSample`, sample by sample.

The chosen route is :attr:`Engine.rep`; the layer operators and their products
(:class:`~exacthess.hessian.chain.OperatorChain`) and the data moments
(:class:`~exacthess.hessian.samplefree.Moments`) are shared parts, read by the routes and
exposed here for the structural certificates. :attr:`Engine.per_sample` is the per-sample
route whichever is chosen (the per-sample quantities: output gradients, Jacobians ``J_i``).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from ..core.domains import QQ, Ring
from .chain import OperatorChain
from .persample import PerSample
from .problem import Problem
from .route import Route
from .samplefree import Moments, SampleFree

__all__ = ["Engine"]


class Engine:
    """All Hessian pieces of one :class:`~exacthess.hessian.problem.Problem` over one domain.

    Args:
        problem: the exact problem.
        ring: the domain (default :data:`~exacthess.core.domains.QQ`).

    Attributes:
        problem, arch, ring: as given (``arch = problem.arch``).
        chain: the layer operators over ``ring`` (:class:`~exacthess.hessian.chain.OperatorChain`).
        moments: the data moments over ``ring`` (:class:`~exacthess.hessian.samplefree.Moments`).
        rep: the route computing the blocks (:class:`~exacthess.hessian.route.Route`).
        sample_free: ``rep`` is the sample-free route.

    Layer indices are 1-based (``1..L+1``) as in the papers.
    """

    def __init__(self, problem: Problem, ring: Ring = QQ):
        self.problem = problem
        self.arch = problem.arch
        self.ring = ring
        self.chain = OperatorChain(problem.arch, problem.weights, ring)
        self.moments = Moments(problem, self.chain)
        self.sample_free = problem.sample_free
        self.rep: Route = SampleFree(self.chain, self.moments) if self.sample_free else PerSample(problem, self.chain)

    @cached_property
    def per_sample(self) -> PerSample:
        """The per-sample route (:mod:`exacthess.hessian.persample`): :attr:`rep` when it is the
        chosen one, otherwise built on the same operators."""
        return self.rep if isinstance(self.rep, PerSample) else PerSample(self.problem, self.chain)

    # ----- the layer operators (OperatorChain) ----------------------------------------------
    @property
    def aug(self) -> bool:
        return self.chain.aug

    @property
    def layers(self) -> list:
        return self.chain.layers

    @property
    def K(self) -> int:
        return self.chain.K

    @property
    def L1(self) -> int:
        """``L + 1``, the number of layers."""
        return self.chain.L1

    @property
    def weights(self) -> list:
        return self.chain.weights

    @property
    def ops(self) -> list:
        """``ops[l-1]`` = augmented operator of layer l."""
        return self.chain.ops

    def dim(self, l: int) -> int:
        """Size of the (augmented) space after layer l (l = 0 is the input)."""
        return self.chain.dim(l)

    @property
    def backward(self) -> list:
        """``backward[l]`` = ``T_{>l}`` restricted to the K outputs, shape ``K x dim(l)``."""
        return self.chain.backward

    @property
    def end_to_end(self) -> np.ndarray:
        """``F^ = T_{L+1} ... T_1`` (K x dim(0)); with biases its last column is the offset."""
        return self.chain.end_to_end

    def forward_all(self, cols: np.ndarray) -> list:
        """``[cols, T_1 cols, T_2 T_1 cols, ...]``: ``out[l-1] = T_{<l} cols``."""
        return self.chain.forward_all(cols)

    def between(self, l: int, m: int) -> np.ndarray:
        """``M = T_{m-1} ... T_{l+1}`` (``dim(m-1) x dim(l)``; identity when m = l + 1)."""
        return self.chain.between(l, m)

    def contract(self, l: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """The derivative of ``left T_l right`` with respect to layer l's parameters
        (:meth:`~exacthess.hessian.chain.OperatorChain.contract`)."""
        return self.chain.contract(l, left, right)

    # ----- the data moments (Moments) ---------------------------------------------------------
    @property
    def sigma(self) -> np.ndarray:
        return self.moments.sigma

    @property
    def yhat(self) -> np.ndarray:
        return self.moments.yhat

    @property
    def R(self) -> np.ndarray:
        return self.moments.R

    @property
    def G(self) -> np.ndarray:
        return self.moments.G

    @property
    def forward_R(self) -> list:
        """``forward_R[l-1] = T_{<l} R``."""
        return self.moments.forward_R

    @property
    def forward_sigma(self) -> list:
        """``forward_sigma[l-1] = T_{<l} Sigma~``."""
        return self.moments.forward_sigma

    def jacobian(self, l: int) -> np.ndarray:
        """``J_l`` over the columns of R (:meth:`~exacthess.hessian.samplefree.Moments.jacobian`)."""
        return self.moments.jacobian(l)

    # ----- the Hessian route (rep) ------------------------------------------------------------
    @property
    def omega(self) -> np.ndarray:
        """Residual moment ``Omega~ = sum_i g_i x~_i^T`` (K x dim(0)); ``F^ Sigma~ - Yhat~`` on the
        sample-free route."""
        return self.rep.omega

    @property
    def forward_omega(self) -> list:
        """``forward_omega[l-1] = T_{<l} Omega~^T``."""
        return self.rep.forward_omega


    @property
    def jacobians(self) -> list:
        return self.rep.jacobians

    @property
    def jacobian_stack(self) -> np.ndarray:
        """``script J`` (rows x p); on the sample-free route ``H_o = J^T (G (x) I_K) J``."""
        return self.rep.jacobian_stack

    def block_o(self, l: int, m: int, rows=None, cols=None) -> np.ndarray:
        """Block ``(l, m)`` of ``H_o`` (optionally only the given rows and columns)."""
        return self.rep.block_o(l, m, rows, cols)

    def block_f(self, l: int, m: int, rows=None, cols=None) -> np.ndarray:
        """Block ``(l, m)`` of ``H_f`` (optionally only the given rows and columns)."""
        return self.rep.block_f(l, m, rows, cols)

    def block(self, name: str, l: int, m: int, rows=None, cols=None) -> np.ndarray:
        """Block ``(l, m)`` of ``name``; ``rows``/``cols`` select parameters of layers l and m."""
        return self.rep.block(name, l, m, rows, cols)

    def full(self, name: str) -> np.ndarray:
        """The whole ``p x p`` matrix ``name`` (``"H_o"``, ``"H_f"`` or ``"H_L"``)."""
        return self.rep.full(name)

    def block_column(self, name: str, m: int) -> np.ndarray:
        """Block column ``H^{.m}``: all rows, the columns of layer m."""
        return self.rep.block_column(name, m)
