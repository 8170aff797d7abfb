r"""The generic rank of ``H_o`` of a polynomial graph network (self-attention), proven by two bounds.

For a graph whose operations are polynomial in the parameters and the data (linear maps,
``matmul``, ``transpose``, fixed affine maps, sums, reshaping, linear masks; no nonlinear
activation, no softmax, no max pooling), ``J(theta, X)`` is a matrix of polynomials and
:math:`H_o = \sum_i J_i^\top J_i` (MSE) has the generic rank of the stacked ``J`` over
:math:`\mathbb Q(\theta, X)`.

* **Lower bound**: the rank modulo a prime of the stacked Jacobian at a random integer point
  ``(theta_0, X_0)`` (exact over Q by the graph engine, then reduced): every minor modulo ``p`` is
  the image of a minor over Q, and a minor nonzero at a point is a nonzero polynomial.
* **Upper bound**: ``p - rank_p V(theta_0)``, ``V`` the tangent vectors of self-attention's symmetries
  (:mod:`exacthess.hessian.attention_symmetry`). Each is the derivative at the identity of a group
  action that leaves ``F`` unchanged for every ``theta`` (the proof in docs/statements.md, for
  every size; ``proofs/attention_symmetry.py`` expands it in polynomial rings for listed sizes),
  so ``J v = 0`` in :math:`\mathbb Q[\theta, X]` and the generic rank is at most
  ``p - rank V`` over :math:`\mathbb Q(\theta)`, which is at most ``p`` minus the rank at a point.
  ``J(theta_0, X_0) V(theta_0) = 0`` is also checked exactly at the point (a consistency check).

Only ``H_o``: the symmetries are null vectors of ``H_f`` and ``H_L`` at critical points only, which
generic points are not, and no null vectors of a graph's ``H_f`` are proven in a polynomial ring.
"""

from __future__ import annotations

import time

import numpy as np

from ..core.domains import QQ
from ..core.errors import InternalError, InvalidArchitectureError, InvalidOptionError
from ..core.modular import random_small_prime, rank_mod_p, reduce_mod
from ..hessian.attention_symmetry import symmetry_vectors
from ..hessian.graph_forward import make_graph_problem
from ..hessian.graph_route import GraphHessians

__all__ = ["graph_generic_bounds", "POLYNOMIAL_OPS"]

#: graph operations that keep F polynomial in the parameters and the data
POLYNOMIAL_OPS = ("input", "linear", "conv", "add", "avgpool", "reshape", "affine", "identity", "matmul", "transpose",
                  "mask", "concat")


def graph_generic_bounds(graph, quantity: str, n_samples: int, seed: int = 0) -> dict:
    """``{"lower", "upper", "rows", "cols", "null_vectors", "families", "primes", "how", "seconds"}`` for
    ``H_o`` of ``graph`` with ``n_samples`` generic samples (see the module doc).

    Raises:
        InvalidOptionError: ``quantity`` other than ``"H_o"`` (saying why).
        InvalidArchitectureError: an operation that is not polynomial (naming the node).
    """
    t0 = time.perf_counter()
    if quantity != "H_o":
        raise InvalidOptionError(
            f"quantity = {quantity!r} is not available for graphs; expected 'H_o' (the attention symmetries are null "
            "vectors of H_f and H_L at critical points only, and no null vectors of a graph's H_f are proven in a "
            "polynomial ring; exacthess.verify gives certified exact ranks at one point)")
    bad = [n for n in graph.nodes if not (n.op in POLYNOMIAL_OPS or (n.op == "act" and n.attrs["activation"].is_linear))]
    if bad:
        raise InvalidArchitectureError(
            f"{bad[0].label()} is not polynomial in the parameters and data; expected only "
            f"{', '.join(POLYNOMIAL_OPS[1:])} and linear activations (softmax values are irrational: the generic "
            "rank over Q(theta, X) is not defined by a polynomial matrix)")
    rng = np.random.default_rng([seed, graph.n_params, n_samples])
    prime = random_small_prime(rng)
    prob = make_graph_problem(graph, n_samples=n_samples, seed=seed, point="integers")
    J = GraphHessians(prob, QQ).jacobian_stack
    V, _, families = symmetry_vectors(prob)
    if V.shape[1] and any(v != 0 for v in QQ.matmul(J, V).flat):
        raise InternalError("a symmetry tangent vector is not a null vector of J at an integer point")
    lower = rank_mod_p(reduce_mod(J, prime), prime)
    d_sym = rank_mod_p(reduce_mod(V, prime), prime) if V.shape[1] else 0
    upper = graph.n_params - d_sym
    fams = ", ".join(f"{n} {name}" for name, n in families.items()) or "none"
    how = (f"lower: rank mod p of the stacked Jacobian at a random integer point; upper: {graph.n_params} - {d_sym} "
           f"symmetry tangent vectors (J v = 0 for every theta: docs/statements.md, proofs/attention_symmetry.py), "
           f"independent mod p; families: {fams}")
    if lower != upper:
        how += f"; OPEN: {upper - lower} null vectors are not from the attention symmetries (or the data are too few)"
    return {"lower": lower, "upper": upper, "rows": graph.n_params, "cols": graph.n_params, "null_vectors": d_sym,
            "families": families, "primes": (prime,), "how": how, "seconds": time.perf_counter() - t0}
