r"""Bounds exacthess derives and proves itself (``[exacthess-derived]`` in ``docs/references.md``;
proofs in ``docs/statements.md``). Both bound ``rank H_o`` at every point *and* the generic rank
(they depend only on the architecture and the data), so they can prove a generic equality false.

**Rescaling symmetry** (``symmetry.H_o``). Scaling the output channel ``c`` of hidden layer ``l``
(its weights and bias) by ``t`` and the weights of layer ``l + 1`` that read channel ``c`` by
``1/t`` leaves the network function unchanged. Differentiating at ``t = 1`` gives a vector
``v_{l,c}`` with ``J v_{l,c} = 0``, hence :math:`H_o v_{l,c} = 0`. Where every column
``W_{l+1}[:, c]`` is nonzero these ``m_1 + ... + m_L`` vectors are independent (peel them off
from the output layer down), so at generic points, and therefore at every point (no point has a
rank above the generic rank),

.. math:: \operatorname{rank} H_o \le p - \sum_{l=1}^{L} m_l.

**Image dimension with biases** (``image.H_o``). With biases ``F(x) = A x + c`` where
``[A | c]`` is the top of a product of augmented operators of ranks at most ``m'_l + 1``
(``m'_l``: coordinates of hidden layer ``l``), so the outputs ``[A | c] X~^T`` form a ``K x n``
matrix of rank at most :math:`\tilde q = \min(\tilde r, K, m'_1 + 1, \dots, m'_L + 1)` whose rows
lie in the row space of ``X~^T`` (dimension :math:`\tilde r = \operatorname{rank}\tilde\Sigma`).
Those matrices form an irreducible variety of dimension
:math:`\tilde q(\tilde r + K - \tilde q)`; ``rank H_o`` is the rank of the differential of
:math:`\theta \mapsto [A|c]\tilde X^\top`, which is at most that dimension. Without biases the
same argument is ``singh2021.H_o`` (FCN) and ``singh2023.thm1.data`` (CNN).

**One hidden layer** (``onehidden.H_f``). For ``F(x) = W_2 (W_1 x + b_1) + b_2`` the only
nonzero second derivatives are :math:`\partial^2 F_c / \partial W_1[j,k]\,\partial W_2[c,j] =
\tilde x_k`, so ``H_f = [[0, B], [B^T, 0]]`` with ``B`` a row and column permutation of
:math:`I_{m_1} \otimes \tilde\Omega^\top` (zero columns for ``b_2``), and
:math:`\operatorname{rank} H_f = 2 m_1 \operatorname{rank}\tilde\Omega \le 2 m_1 \min(\tilde r, K)`
at every point, with or without biases.
"""

from __future__ import annotations

from .registry import ALL, Context, Kind, Relation, Statement, register

__all__ = ["hidden_channels", "biased_image_bound", "one_hidden_bound"]

REFS = "see docs/references.md"
CITE = f"[exacthess-derived] proven in docs/statements.md ({REFS})"


def hidden_channels(ctx: Context) -> int:
    """``m_1 + ... + m_L``: the output channels of the hidden layers."""
    return sum(layer.c_out for layer in ctx.arch.layers[:-1])


def biased_image_bound(ctx: Context) -> int:
    """``min(p, q~ (r~ + K - q~))`` with ``q~ = min(r~, K, m'_l + 1)``."""
    r = ctx.extra["r_aug"]
    q = min((r, ctx.K) + tuple(w + 1 for w in ctx.extra["live_widths"]))
    return min(ctx.p, q * (r + ctx.K - q))


def _biased(ctx: Context):
    if ctx.bias:
        return None
    return "no biases: the same bound is singh2021.H_o (FCN) and singh2023.thm1.data (CNN)"


register(Statement(
    id="symmetry.H_o", quantity="H_o", kind=Kind.DERIVED, relation=Relation.LE, generic_bound=True,
    formula="p - sum_l m_l (one rescaling symmetry per hidden channel)", condition="always",
    citation=CITE + ", rescaling symmetry", predict=lambda ctx: ctx.p - hidden_channels(ctx), family=("fcn", "cnn"), losses=(ALL,)))

register(Statement(
    id="image.H_o", quantity="H_o", kind=Kind.DERIVED, relation=Relation.LE, generic_bound=True,
    formula="min(p, q~ (r~ + K - q~)), r~ = rank(Sigma~) (data with a column of ones), "
            "q~ = min(r~, K, m'_l + 1), m'_l the live coordinates of hidden layer l",
    condition="biases", citation=CITE + ", image dimension", predict=biased_image_bound, applies=_biased,
    family=("fcn", "cnn"), losses=(ALL,)))


def one_hidden_bound(ctx: Context) -> int:
    """``2 m_1 min(r~, K)``."""
    return 2 * ctx.widths[0] * min(ctx.extra["r_aug"], ctx.K)


def _one_hidden(ctx: Context):
    return None if ctx.L == 1 else f"L = {ctx.L} hidden layers; the bound is for one"


register(Statement(
    id="onehidden.H_f", quantity="H_f", kind=Kind.DERIVED, relation=Relation.LE, generic_bound=True,
    formula="2 m_1 min(r~, K), r~ = rank(Sigma~) (= r without biases); rank H_f = 2 m_1 rank(Omega~) exactly",
    condition="one hidden layer (biases or not)", citation=CITE + ", one hidden layer", predict=one_hidden_bound,
    applies=_one_hidden, losses=(ALL,)))
